"""Alarm quotas through aodhclient's CLI (``openstack alarm quota show/set``) on a
cloud of identity and alarm: the admin sets the demo project's limit, the demo user
reads it, may not change it, and cannot create alarms past it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.cloudproc import CloudProcess, OscError

pytestmark = pytest.mark.cli
SERVICES = ["identity", "alarm"]
CONF = "[alarm]\nevaluator = false\nevent_alarms = false\nproject_alarm_quota = 10\n"
RULE = ("--metric", "cpu", "--threshold", "80", "--resource-id", "r1", "--resource-type",
        "generic", "--aggregation-method", "mean")  # fmt: skip


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CloudProcess]:
    proc = CloudProcess(Path(tmp_path_factory.mktemp("alarm-quotas")), SERVICES, CONF)
    proc.start(timeout=120)
    try:
        yield proc
    finally:
        proc.stop()


def _set(cloud: CloudProcess, project: str, limit: str, user: str = "admin") -> str:
    """``alarm quota set``'s output (a JSON object), or raises OscError."""
    args = ("alarm", "quota", "set", project, "--alarm", limit, "-f", "json")
    return str(cloud.osc(*args, cloud=f"tinystack-{user}"))


def _create(cloud: CloudProcess, name: str) -> str:
    made = cloud.osc("alarm", "create", "--name", name, "--type",
                     "gnocchi_resources_threshold", *RULE, cloud="tinystack-demo")  # fmt: skip
    return str(made["alarm_id"])


def test_quota_show_and_set_through_the_cli(cloud: CloudProcess) -> None:
    demo = str(cloud.osc("project", "show", "demo")["id"])
    # nothing stored: the [alarm] default, for the admin and for the demo user's own
    assert cloud.osc("alarm", "quota", "show", "--project", demo) == {"alarms": 10}
    assert cloud.osc("alarm", "quota", "show", cloud="tinystack-demo") == {"alarms": 10}
    assert json.loads(_set(cloud, demo, "1")) == {"alarms": 1}
    assert cloud.osc("alarm", "quota", "show", cloud="tinystack-demo") == {"alarms": 1}
    first = _create(cloud, "q1")
    with pytest.raises(OscError) as over:
        _create(cloud, "q2")
    assert "Alarm quota exceeded for user" in over.value.stderr
    assert f"on project {demo}" in over.value.stderr
    # a member may not set its project's quota
    with pytest.raises(OscError) as refused:
        _set(cloud, demo, "50", user="demo")
    assert "telemetry:update_quotas" in refused.value.stderr
    assert "(HTTP 403)" in refused.value.stderr
    assert cloud.osc("alarm", "quota", "show", "--project", demo) == {"alarms": 1}
    # under -1 the client refuses by itself; -1 is no limit
    with pytest.raises(OscError) as low:
        _set(cloud, demo, "-2")
    assert "cannot be less than -1" in low.value.stderr
    assert json.loads(_set(cloud, demo, "-1")) == {"alarms": -1}
    second = _create(cloud, "q2")
    for alarm in (first, second):
        cloud.osc("alarm", "delete", alarm, cloud="tinystack-demo")


def test_the_http_api_on_the_cloud(cloud: CloudProcess) -> None:
    demo = str(cloud.osc("project", "show", "demo")["id"])
    admin = cloud.token("tinystack-admin")
    member = cloud.token("tinystack-demo")
    url = cloud.endpoint("alarming") + "/v2/quotas"
    with httpx.Client(timeout=60) as http:
        mine = http.get(url, headers={"X-Auth-Token": member})
        assert mine.status_code == 200 and mine.json()["project_id"] == demo
        body = {"project_id": demo, "quotas": [{"resource": "alarms", "limit": -5}]}
        bad = http.post(url, json=body, headers={"X-Auth-Token": admin})
        assert bad.status_code == 400
        assert bad.json()["error_message"]["faultstring"] == (
            "Invalid input for field/attribute limit. Value: '-5'. "
            "Value should be greater or equal to -1"
        )
        gone = http.delete(f"{url}/{demo}", headers={"X-Auth-Token": member})
        assert gone.status_code == 403
        assert http.delete(f"{url}/{demo}", headers={"X-Auth-Token": admin}).status_code == 204
        shown = http.get(url, params={"project_id": demo}, headers={"X-Auth-Token": admin})
        assert shown.json() == {"project_id": demo, "quotas": [{"resource": "alarms", "limit": 10}]}
