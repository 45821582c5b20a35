"""Metering labels and rules through the API in-process: create/list/show/delete,
filters, upstream's answers to overlapping and bad rules, the admin-only defaults and
who sees which label, and what the L3 agent is handed. The data plane is
tests/network_dataplane/test_metering.py."""

from __future__ import annotations

from typing import Any

from tests.network.conftest import PROJECT_A, PROJECT_B, Api, error_type
from tinystack.network.services.agent_sync import AgentSync

LABELS = "/v2.0/metering/metering-labels"
RULES = "/v2.0/metering/metering-label-rules"


def _label(api: Api, **body: Any) -> dict[str, Any]:
    return api.create("metering_label", api.admin(), path="metering/metering-labels", **body)


def _rule(api: Api, label_id: str, **body: Any) -> Any:
    body = {"metering_label_id": label_id, "direction": "ingress", **body}
    return api.post(RULES, {"metering_label_rule": body}, api.admin())


def test_labels_and_rules_lifecycle(api: Api) -> None:
    label = _label(api, name="web", description="d", project_id=PROJECT_A)
    assert label["project_id"] == label["tenant_id"] == PROJECT_A
    assert (label["name"], label["description"], label["shared"]) == ("web", "d", False)
    resp = _rule(api, label["id"], remote_ip_prefix="10.0.0.0/24", direction="egress")
    assert resp.status_code == 201, resp.text
    rule = resp.json()["metering_label_rule"]
    assert rule["excluded"] is False and rule["source_ip_prefix"] is None
    assert rule["project_id"] == PROJECT_A and rule["metering_label_id"] == label["id"]
    shown = api.get(f"{RULES}/{rule['id']}", api.admin()).json()["metering_label_rule"]
    assert shown == rule
    found = api.get(LABELS, api.admin(), name="web").json()["metering_labels"]
    assert [x["id"] for x in found] == [label["id"]]
    assert api.get(LABELS, api.admin(), id="33").json()["metering_labels"] == []
    only = api.get(f"{LABELS}/{label['id']}", api.admin(), fields="name").json()
    assert only == {"metering_label": {"name": "web"}}
    listed = api.get(RULES, api.admin(), metering_label_id=label["id"], direction="egress")
    assert [x["id"] for x in listed.json()["metering_label_rules"]] == [rule["id"]]
    assert api.delete(f"{RULES}/{rule['id']}", api.admin()).status_code == 204
    assert api.get(f"{RULES}/{rule['id']}", api.admin()).status_code == 404
    again = _rule(api, label["id"], remote_ip_prefix="10.0.0.0/24").json()["metering_label_rule"]
    assert api.delete(f"{LABELS}/{label['id']}", api.admin()).status_code == 204
    gone = api.get(f"{LABELS}/{label['id']}", api.admin())
    assert gone.status_code == 404 and error_type(gone) == "MeteringLabelNotFound"
    assert api.get(f"{RULES}/{again['id']}", api.admin()).status_code == 404


def test_overlaps_and_bad_rules(api: Api) -> None:
    label = _label(api, name="l")
    assert _rule(api, label["id"], remote_ip_prefix="10.0.0.0/16").status_code == 201
    overlap = _rule(api, label["id"], remote_ip_prefix="10.0.5.0/24")
    assert overlap.status_code == 409 and error_type(overlap) == "MeteringLabelRuleOverlaps"
    # another direction, excluded or IP version does not overlap
    for body in (
        {"remote_ip_prefix": "10.0.5.0/24", "direction": "egress"},
        {"remote_ip_prefix": "10.0.5.0/24", "excluded": True},
        {"remote_ip_prefix": "fd00::/64"},
        {"source_ip_prefix": "10.0.5.0/24", "destination_ip_prefix": "192.0.2.0/24"},
    ):
        assert _rule(api, label["id"], **body).status_code == 201, body
    bad: list[dict[str, Any]] = [
        {"remote_ip_prefix": "10.0.0.0/33"},
        {"remote_ip_prefix": "10.0.0.1/24"},
        {"remote_ip_prefix": "nope"},
        {"remote_ip_prefix": "10.9.0.0/24", "direction": "sideways"},
        {"remote_ip_prefix": "10.9.0.0/24", "source_ip_prefix": "10.8.0.0/24"},
        {},
        {"remote_ip_prefix": "10.9.0.0/24", "bogus": 1},
        {"remote_ip_prefix": "10.9.0.0/24", "excluded": "maybe"},
    ]
    for body in bad:
        assert _rule(api, label["id"], **body).status_code == 400, body
    missing = _rule(api, "no-such-label", remote_ip_prefix="10.9.0.0/24")
    assert missing.status_code == 404 and error_type(missing) == "MeteringLabelNotFound"
    long_name = api.post(LABELS, {"metering_label": {"name": "x" * 256}}, api.admin())
    assert long_name.status_code == 400


def test_policy_and_visibility(api: Api) -> None:
    denied = api.post(LABELS, {"metering_label": {"name": "mine"}})
    assert denied.status_code == 403 and error_type(denied) == "PolicyNotAuthorized"
    own = _label(api, name="a", project_id=PROJECT_A)
    other = _label(api, name="b", project_id=PROJECT_B)
    shared = _label(api, name="s", project_id=PROJECT_B, shared=True)
    rule = _rule(api, own["id"], remote_ip_prefix="10.0.0.0/8").json()["metering_label_rule"]
    _rule(api, other["id"], remote_ip_prefix="10.0.0.0/8")
    reader = api.headers(PROJECT_A, "reader")
    seen = {x["id"] for x in api.get(LABELS, reader).json()["metering_labels"]}
    assert seen == {own["id"], shared["id"]}
    assert api.get(f"{LABELS}/{other['id']}", reader).status_code == 404
    rules = api.get(RULES, reader).json()["metering_label_rules"]
    assert [r["id"] for r in rules] == [rule["id"]]
    assert api.delete(f"{LABELS}/{own['id']}", api.headers()).status_code == 403
    denied_rule = api.post(
        RULES,
        {
            "metering_label_rule": {
                "metering_label_id": own["id"],
                "direction": "egress",
                "remote_ip_prefix": "192.0.2.0/24",
            }
        },
    )
    assert denied_rule.status_code == 403
    assert api.delete(f"{RULES}/{rule['id']}", api.headers()).status_code == 403


def test_routers_get_their_projects_and_shared_labels(api: Api) -> None:
    mine = api.router(api.headers(PROJECT_A))
    theirs = api.router(api.headers(PROJECT_B))
    own = _label(api, name="a", project_id=PROJECT_A)
    shared = _label(api, name="s", project_id=PROJECT_B, shared=True)
    _rule(api, own["id"], remote_ip_prefix="198.51.100.0/24", direction="egress")
    _rule(api, own["id"], remote_ip_prefix="198.51.100.7/32", direction="egress", excluded=True)
    routers = AgentSync(api.services).sync_routers([mine["id"], theirs["id"]])
    by_id = {r.id: r for r in routers}
    assert [m.id for m in by_id[mine["id"]].metering_labels] == sorted([own["id"], shared["id"]])
    assert [m.id for m in by_id[theirs["id"]].metering_labels] == [shared["id"]]
    meter = next(m for m in by_id[mine["id"]].metering_labels if m.id == own["id"])
    assert sorted((r.remote_ip_prefix, r.excluded) for r in meter.rules) == [
        ("198.51.100.0/24", False),
        ("198.51.100.7/32", True),
    ]
