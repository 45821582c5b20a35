"""Bad input gets upstream's 400/403/404/406/409 bodies, never a 500."""

from __future__ import annotations

from typing import Any

import pytest

from tests.compute.conftest import Env


@pytest.fixture(scope="module")
def server(env: Env) -> dict[str, Any]:
    return env.boot(name="target")


def _create(env: Env, version: str = "latest", **server: Any) -> Any:
    body = {"name": "x", "flavorRef": "1", "imageRef": env.image, "networks": "none", **server}
    return env.compute.at(version).post("/servers", {"server": body})


def expect(response: Any, status: int, key: str, text: str = "") -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert list(body) == [key], body
    assert body[key]["code"] == status
    assert text in body[key]["message"], body[key]["message"]


def test_unknown_flavor_and_image(env: Env) -> None:
    expect(_create(env, flavorRef="nope"), 400, "badRequest", "Flavor nope could not be found")
    expect(
        _create(env, imageRef="11111111-2222-3333-4444-555555555555"),
        400,
        "badRequest",
        "Can not find requested image",
    )
    expect(_create(env, imageRef="not-a-uuid"), 400, "badRequest", "imageRef")


@pytest.mark.parametrize(
    ("body", "text"),
    [
        ({"server": {"flavorRef": "1", "networks": "none"}}, "name"),
        ({"server": {"name": "x", "networks": "none"}}, "flavorRef"),
        ({"server": {"name": " padded ", "flavorRef": "1", "networks": "none"}}, "name"),
        ({"server": {"name": "x", "flavorRef": "1", "networks": "none", "bogus": 1}}, "bogus"),
        ({"server": {"name": "x", "flavorRef": "1"}}, "networks"),
        ({"server": {"name": "x", "flavorRef": "1", "networks": [{"uuid": "nope"}]}}, "uuid"),
        ({"server": {"name": "x", "flavorRef": "1", "networks": "sometimes"}}, "networks"),
        (
            {"server": {"name": "x", "flavorRef": "1", "networks": "none", "min_count": 0}},
            "min_count",
        ),
        (
            {"server": {"name": "x", "flavorRef": "1", "networks": "none", "user_data": "%%%"}},
            "user_data",
        ),
        (
            {
                "server": {
                    "name": "x",
                    "flavorRef": "1",
                    "networks": "none",
                    "metadata": {"k": "v" * 300},
                }
            },
            "metadata",
        ),
        ({"server": "x"}, "server"),
        ({"servers": {}}, "servers"),
        ([], ""),
    ],
)
def test_malformed_create_bodies(env: Env, body: Any, text: str) -> None:
    response = env.compute.post("/servers", body)
    expect(response, 400, "badRequest", text)


def test_not_json_at_all(env: Env) -> None:
    response = env.compute.post(
        "/servers", content=b"{'no", headers={"Content-Type": "application/json"}
    )
    expect(response, 400, "badRequest")


def test_fields_outside_their_microversion(env: Env) -> None:
    expect(_create(env, "2.51", tags=["a"]), 400, "badRequest", "tags")
    expect(_create(env, "2.18", description="d"), 400, "badRequest", "description")
    expect(_create(env, "2.89", hostname="h1"), 400, "badRequest", "hostname")
    expect(_create(env, "2.57", personality=[]), 400, "badRequest", "personality")
    expect(_create(env, "2.36", networks="auto"), 400, "badRequest", "networks")
    expect(_create(env, "2.90", hostname="bad_name"), 400, "badRequest", "hostname")


def test_min_count_above_max_count(env: Env) -> None:
    expect(_create(env, min_count=3, max_count=2), 400, "badRequest", "min_count")


def test_unknown_availability_zone(env: Env) -> None:
    expect(
        _create(env, availability_zone="atlantis"),
        400,
        "badRequest",
        "availability zone is not available",
    )


def test_actions_in_the_wrong_state(env: Env, server: dict[str, Any]) -> None:
    sid = server["id"]
    response = env.compute.post(f"/servers/{sid}/action", {"os-start": None})
    expect(
        response,
        409,
        "conflictingRequest",
        f"Cannot 'start' instance {sid} while it is in vm_state active",
    )
    response = env.compute.post(f"/servers/{sid}/action", {"unpause": None})
    expect(response, 409, "conflictingRequest", "while it is in vm_state active")
    response = env.compute.post(f"/servers/{sid}/action", {"confirmResize": None})
    expect(response, 409, "conflictingRequest", "confirmResize")
    response = env.compute.post(f"/servers/{sid}/action", {"resize": {"flavorRef": "1"}})
    expect(response, 400, "badRequest", "must change flavor")


def test_locked_servers_refuse_their_owner(env: Env) -> None:
    server = env.boot(api=env.demo, name="locked")
    sid = server["id"]
    env.compute.post(f"/servers/{sid}/action", {"lock": {"locked_reason": "admin says no"}}, 202)
    expect(
        env.demo.post(f"/servers/{sid}/action", {"os-stop": None}),
        409,
        "conflictingRequest",
        f"Instance {sid} is locked",
    )
    expect(env.demo.delete(f"/servers/{sid}"), 409, "conflictingRequest", "is locked")
    expect(env.demo.post(f"/servers/{sid}/action", {"unlock": None}), 403, "forbidden")
    env.compute.post(f"/servers/{sid}/action", {"unlock": None}, 202)
    env.demo.delete(f"/servers/{sid}", 204)


def test_other_projects_servers_are_not_found(env: Env, server: dict[str, Any]) -> None:
    sid = server["id"]
    expect(env.demo.get(f"/servers/{sid}", None), 404, "itemNotFound", sid)
    expect(env.demo.post(f"/servers/{sid}/action", {"os-stop": None}), 404, "itemNotFound")
    expect(env.demo.delete(f"/servers/{sid}"), 404, "itemNotFound")
    expect(env.demo.get(f"/servers/{sid}/metadata", None), 404, "itemNotFound")
    assert sid not in {s["id"] for s in env.demo.get("/servers").json()["servers"]}
    expect(env.demo.get("/servers", None, params={"all_tenants": "1"}), 403, "forbidden")


def test_unknown_and_version_gated_actions(env: Env, server: dict[str, Any]) -> None:
    sid = server["id"]
    expect(
        env.compute.post(f"/servers/{sid}/action", {"fly": None}),
        400,
        "badRequest",
        "There is no such action: fly",
    )
    old = env.compute.at("2.16").post(f"/servers/{sid}/action", {"trigger_crash_dump": None})
    expect(old, 404, "itemNotFound")
    expect(
        env.compute.post(f"/servers/{sid}/action", {"reboot": {"type": "GENTLE"}}),
        400,
        "badRequest",
        "type",
    )
    expect(env.compute.post(f"/servers/{sid}/action", {}), 400, "badRequest")


def test_microversions_out_of_range(env: Env) -> None:
    for version in ("3.0", "2.0", "2.200"):
        expect(env.compute.at(version).get("/servers", None), 406, "notAcceptable", version)
    expect(env.compute.at("2.x").get("/servers", None), 400, "badRequest", "invalid format")


def test_list_filters(env: Env, server: dict[str, Any]) -> None:
    expect(env.compute.get("/servers", None, params={"bogus": "1"}), 400, "badRequest", "bogus")
    old = env.compute.at("2.74").get("/servers", params={"bogus": "1"}).json()
    assert server["id"] in {s["id"] for s in old["servers"]}
    expect(
        env.compute.get("/servers", None, params={"status": "BOGUS"}),
        400,
        "badRequest",
        "Invalid status value",
    )
    assert env.compute.at("2.37").get("/servers", params={"status": "BOGUS"}).json() == {
        "servers": []
    }
    expect(env.compute.get("/servers", None, params={"sort_key": "nope"}), 400, "badRequest")
    expect(
        env.compute.get("/servers", None, params={"marker": "nope"}),
        400,
        "badRequest",
        "marker [nope] not found",
    )
    expect(
        env.compute.get("/servers", None, params={"changes-since": "yesterday"}),
        400,
        "badRequest",
        "changes-since",
    )


def test_unknown_things_are_not_found(env: Env) -> None:
    missing = "00000000-0000-0000-0000-000000000000"
    expect(env.compute.get(f"/servers/{missing}", None), 404, "itemNotFound", missing)
    expect(env.compute.delete(f"/servers/{missing}"), 404, "itemNotFound")
    expect(env.compute.get("/flavors/nope", None), 404, "itemNotFound")
    expect(env.compute.get("/os-keypairs/nope", None), 404, "itemNotFound")
    expect(env.compute.get(f"/os-server-groups/{missing}", None), 404, "itemNotFound")
    expect(env.compute.get("/os-aggregates/999", None), 404, "itemNotFound")
    expect(env.compute.get(f"/os-hypervisors/{missing}", None), 404, "itemNotFound")


def test_duplicates_conflict(env: Env) -> None:
    body = {"flavor": {"name": "dup", "ram": 64, "vcpus": 1, "disk": 0, "id": "dup"}}
    env.compute.post("/flavors", body, 200)
    expect(env.compute.post("/flavors", body), 409, "conflictingRequest", "already exists")
    env.compute.delete("/flavors/dup", 202)
    key = {"keypair": {"name": "k", "public_key": "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ"}}
    expect(env.compute.post("/os-keypairs", key), 400, "badRequest", "Keypair data is invalid")


def test_policy_refusals_are_forbidden(env: Env) -> None:
    expect(
        env.demo.post("/flavors", {"flavor": {"name": "n", "ram": 1, "vcpus": 1, "disk": 0}}),
        403,
        "forbidden",
    )
    expect(env.demo.get("/os-hypervisors", None), 403, "forbidden")
    expect(env.demo.get("/os-services", None), 403, "forbidden")
