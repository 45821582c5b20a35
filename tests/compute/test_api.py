"""The Compute API surface at different microversions, through a real cloud."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.compute.conftest import Env


@pytest.fixture(scope="module")
def server(env: Env) -> dict[str, Any]:
    return env.boot(name="api-vm", metadata={"a": "1"})


def test_server_views_follow_the_microversion(env: Env, server: dict[str, Any]) -> None:
    sid = server["id"]
    old = env.compute.at("2.1").get(f"/servers/{sid}").json()["server"]
    assert old["flavor"]["id"] == "1" and "links" in old["flavor"]
    assert "locked" not in old and "description" not in old and "tags" not in old
    assert "OS-EXT-SRV-ATTR:hostname" not in old
    assert old["OS-EXT-SRV-ATTR:host"].startswith("fake-compute-")
    v247 = env.compute.at("2.47").get(f"/servers/{sid}").json()["server"]
    assert v247["flavor"] == {
        "vcpus": 1,
        "ram": 512,
        "disk": 1,
        "ephemeral": 0,
        "swap": 0,
        "original_name": "m1.tiny",
        "extra_specs": {},
    }
    assert v247["locked"] is False and v247["host_status"] == "UP"
    latest = env.compute.get(f"/servers/{sid}").json()["server"]
    assert latest["server_groups"] == [] and latest["locked_reason"] is None
    assert latest["pinned_availability_zone"] is None
    assert latest["metadata"] == {"a": "1"}
    assert latest["OS-EXT-SRV-ATTR:hostname"] == "api-vm"
    demo_view = env.demo.get(f"/servers/{sid}", None)
    assert demo_view.status_code == 404


def test_member_views_hide_admin_fields(env: Env) -> None:
    server = env.boot(api=env.demo, name="mine")
    view = env.demo.get(f"/servers/{server['id']}").json()["server"]
    assert "OS-EXT-SRV-ATTR:host" not in view and "host_status" not in view
    assert view["OS-EXT-SRV-ATTR:hostname"] == "mine"
    assert (
        env.demo.at("2.89")
        .get(f"/servers/{server['id']}")
        .json()["server"]
        .get("OS-EXT-SRV-ATTR:hostname")
        is None
    )
    env.demo.delete(f"/servers/{server['id']}", 204)


def test_update_server(env: Env, server: dict[str, Any]) -> None:
    sid = server["id"]
    updated = env.compute.put(
        f"/servers/{sid}",
        {"server": {"name": "renamed", "description": "d", "hostname": "new-host"}},
        200,
    ).json()["server"]
    assert updated["name"] == "renamed" and updated["description"] == "d"
    assert updated["OS-EXT-SRV-ATTR:hostname"] == "new-host"
    assert updated["OS-EXT-STS:vm_state"] == "active"  # the full view from 2.75
    old = env.compute.at("2.74").put(
        f"/servers/{sid}", {"server": {"name": "api-vm", "accessIPv6": "2001:db8:0::1"}}, 200
    )
    view = old.json()["server"]
    assert view["accessIPv6"] == "2001:db8::1"
    hidden = {"OS-EXT-STS:vm_state", "OS-EXT-AZ:availability_zone", "key_name", "config_drive"}
    assert not hidden & set(view) and "OS-EXT-SRV-ATTR:host" not in view
    assert old.headers["x-compute-request-id"] == old.headers["x-openstack-request-id"]


def test_list_filters_sorting_and_pagination(env: Env) -> None:
    ids = [env.boot(name=f"page-{n}", wait=False)["id"] for n in range(5)]
    for sid in ids:
        env.wait(sid, "ACTIVE")
    page = env.compute.get("/servers", params={"limit": 2, "name": "^page-"}).json()
    assert len(page["servers"]) == 2 and "servers_links" in page
    names = []
    url: str | None = "/servers?limit=2&name=%5Epage-&sort_key=display_name&sort_dir=asc"
    while url:
        body = env.compute.get(url.replace(str(env.compute.http.base_url), "")).json()
        names += [s["name"] for s in body["servers"]]
        url = body["servers_links"][0]["href"] if body.get("servers_links") else None
    assert names == [f"page-{n}" for n in range(5)]
    desc = env.compute.get(
        "/servers/detail", params={"sort_key": "display_name", "sort_dir": "desc", "name": "page"}
    ).json()["servers"]
    assert [s["name"] for s in desc] == [f"page-{n}" for n in reversed(range(5))]
    active = env.compute.get("/servers/detail", params={"status": "ACTIVE", "name": "page"}).json()[
        "servers"
    ]
    assert len(active) == 5
    assert (
        env.compute.get("/servers", params={"status": "SHUTOFF", "name": "page"}).json()["servers"]
        == []
    )
    assert (
        len(env.compute.get("/servers", params={"flavor": "1", "name": "page"}).json()["servers"])
        == 5
    )
    for sid in ids:
        env.compute.delete(f"/servers/{sid}", 204)
    since = env.compute.get(
        "/servers/detail", params={"changes-since": "2000-01-01T00:00:00Z", "name": "page"}
    ).json()["servers"]
    assert {s["status"] for s in since} == {"DELETED"}
    assert env.compute.get("/servers", params={"name": "page"}).json()["servers"] == []


def test_tags(env: Env, server: dict[str, Any]) -> None:
    sid = server["id"]
    env.compute.at("2.25").get(f"/servers/{sid}/tags", 404)
    assert env.compute.put(f"/servers/{sid}/tags", {"tags": ["b", "a"]}, 200).json() == {
        "tags": ["a", "b"]
    }
    env.compute.put(f"/servers/{sid}/tags/c", status=201)
    env.compute.put(f"/servers/{sid}/tags/c", status=204)
    env.compute.get(f"/servers/{sid}/tags/c", 204)
    env.compute.delete(f"/servers/{sid}/tags/a", 204)
    env.compute.get(f"/servers/{sid}/tags/a", 404)
    assert env.compute.get(f"/servers/{sid}/tags").json()["tags"] == ["b", "c"]
    found = env.compute.get("/servers", params={"tags": "b,c"}).json()["servers"]
    assert [s["id"] for s in found] == [sid]
    assert env.compute.get("/servers", params={"not-tags-any": "b"}).json()[
        "servers"
    ] == [] or sid not in {
        s["id"] for s in env.compute.get("/servers", params={"not-tags-any": "b"}).json()["servers"]
    }
    env.compute.delete(f"/servers/{sid}/tags", 204)
    tagged = env.boot(name="tagged", tags=["x"])
    assert env.compute.get(f"/servers/{tagged['id']}").json()["server"]["tags"] == ["x"]
    env.compute.delete(f"/servers/{tagged['id']}", 204)


def test_metadata(env: Env, server: dict[str, Any]) -> None:
    sid = server["id"]
    base = f"/servers/{sid}/metadata"
    assert env.compute.post(base, {"metadata": {"b": "2"}}, 200).json()["metadata"] == {
        "a": "1",
        "b": "2",
    }
    assert env.compute.put(f"{base}/c", {"meta": {"c": "3"}}, 200).json() == {"meta": {"c": "3"}}
    assert env.compute.get(f"{base}/c").json() == {"meta": {"c": "3"}}
    env.compute.put(f"{base}/c", {"meta": {"d": "3"}}, 400)
    env.compute.delete(f"{base}/c", 204)
    env.compute.delete(f"{base}/c", 404)
    assert env.compute.put(base, {"metadata": {"a": "1"}}, 200).json() == {"metadata": {"a": "1"}}


def test_instance_actions_and_events(env: Env, server: dict[str, Any]) -> None:
    sid = server["id"]
    env.compute.post(f"/servers/{sid}/action", {"reboot": {"type": "SOFT"}}, 202)
    env.wait(sid, "ACTIVE")
    actions = env.compute.get(f"/servers/{sid}/os-instance-actions").json()["instanceActions"]
    assert [a["action"] for a in actions][:1] == ["reboot"]
    assert "updated_at" in actions[0]
    old = env.compute.at("2.57").get(f"/servers/{sid}/os-instance-actions").json()
    assert "updated_at" not in old["instanceActions"][0]
    rid = actions[0]["request_id"]
    detail = env.compute.get(f"/servers/{sid}/os-instance-actions/{rid}").json()["instanceAction"]
    event = detail["events"][0]
    assert event["event"] == "compute_reboot_instance" and event["result"] == "Success"
    assert event["host"].startswith("fake-compute") and len(event["hostId"]) == 56
    assert "details" in event and "traceback" in event
    limited = env.compute.get(f"/servers/{sid}/os-instance-actions", params={"limit": 1}).json()
    assert len(limited["instanceActions"]) == 1 and limited["links"]
    env.compute.get(f"/servers/{sid}/os-instance-actions/req-nope", 404)


def test_power_cycle_and_console(env: Env, server: dict[str, Any]) -> None:
    sid = server["id"]
    for action, status in (
        ("os-stop", "SHUTOFF"),
        ("os-start", "ACTIVE"),
        ("pause", "PAUSED"),
        ("unpause", "ACTIVE"),
        ("suspend", "SUSPENDED"),
        ("resume", "ACTIVE"),
    ):
        env.compute.post(f"/servers/{sid}/action", {action: None}, 202)
        env.wait(sid, status)
    out = env.compute.post(
        f"/servers/{sid}/action", {"os-getConsoleOutput": {"length": 2}}, 200
    ).json()["output"]
    assert len(out.splitlines()) == 2
    vnc = env.compute.post(
        f"/servers/{sid}/action", {"os-getVNCConsole": {"type": "novnc"}}, 200
    ).json()["console"]
    assert vnc["type"] == "novnc" and "token" in vnc["url"]
    remote = env.compute.post(
        f"/servers/{sid}/remote-consoles",
        {"remote_console": {"protocol": "vnc", "type": "novnc"}},
        200,
    ).json()["remote_console"]
    token = remote["url"].split("token%3D")[1]
    shown = env.compute.get(f"/os-console-auth-tokens/{token}").json()["console"]
    assert shown["instance_uuid"] == sid
    env.compute.post(
        f"/servers/{sid}/remote-consoles",
        {"remote_console": {"protocol": "spice", "type": "spice-html5"}},
        400,
    )
    env.compute.post(f"/servers/{sid}/action", {"trigger_crash_dump": None}, 202)
    env.compute.post(f"/servers/{sid}/action", {"changePassword": {"adminPass": "x"}}, 202)
    rescue = env.compute.post(f"/servers/{sid}/action", {"rescue": None}, 200).json()
    assert rescue["adminPass"]
    env.wait(sid, "RESCUE")
    env.compute.post(f"/servers/{sid}/action", {"unrescue": None}, 202)
    env.wait(sid, "ACTIVE")
    diag = env.compute.get(f"/servers/{sid}/diagnostics").json()
    assert diag["driver"] == "libvirt" and diag["num_cpus"] == 1


def test_reset_state_and_security_groups(env: Env) -> None:
    server = env.boot(name="reset")
    sid = server["id"]
    env.compute.post(f"/servers/{sid}/action", {"os-resetState": {"state": "error"}}, 202)
    assert env.compute.get(f"/servers/{sid}").json()["server"]["status"] == "ERROR"
    env.compute.post(f"/servers/{sid}/action", {"os-resetState": {"state": "active"}}, 202)
    env.compute.post(f"/servers/{sid}/action", {"addSecurityGroup": {"name": "web"}}, 202)
    groups = env.compute.get(f"/servers/{sid}/os-security-groups").json()["security_groups"]
    assert {g["name"] for g in groups} == {"default", "web"}
    env.compute.post(f"/servers/{sid}/action", {"removeSecurityGroup": {"name": "web"}}, 202)
    env.compute.post(f"/servers/{sid}/action", {"removeSecurityGroup": {"name": "web"}}, 400)
    env.compute.delete(f"/servers/{sid}", 204)


def test_backup_returns_image_id(env: Env, server: dict[str, Any]) -> None:
    sid = server["id"]
    body = {"createBackup": {"name": "bk", "backup_type": "daily", "rotation": 1}}
    image_id = env.compute.post(f"/servers/{sid}/action", body, 202).json()["image_id"]
    env.wait(sid, "ACTIVE")
    deadline = time.monotonic() + 10
    while env.image_api.get(f"/v2/images/{image_id}").json()["status"] != "active":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    old = env.compute.at("2.44").post(
        f"/servers/{sid}/action", {"createImage": {"name": "old-style"}}, 202
    )
    assert old.text == "" and "/images/" in old.headers["location"]
    env.wait(sid, "ACTIVE")
    # rotation: only the newest backup of the type remains
    second = env.compute.post(f"/servers/{sid}/action", body, 202).json()["image_id"]
    env.wait(sid, "ACTIVE")
    deadline = time.monotonic() + 10
    while env.image_api.get(f"/v2/images/{image_id}", None).status_code != 404:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert env.image_api.get(f"/v2/images/{second}").json()["backup_type"] == "daily"


def test_image_proxy_until_235(env: Env) -> None:
    proxy = env.compute.at("2.35")
    listed = proxy.get("/images").json()["images"]
    assert env.image in [i["id"] for i in listed]
    detail = proxy.get(f"/images/{env.image}").json()["image"]
    assert detail["status"] == "ACTIVE" and detail["progress"] == 100
    assert {"minRam", "minDisk", "metadata", "OS-EXT-IMG-SIZE:size"} <= set(detail)
    proxy.post(f"/images/{env.image}/metadata", {"metadata": {"k1": "v1"}}, 200)
    assert proxy.get(f"/images/{env.image}/metadata/k1").json() == {"meta": {"k1": "v1"}}
    proxy.delete(f"/images/{env.image}/metadata/k1", 204)
    proxy.get(f"/images/{env.image}/metadata/k1", 404)
    env.compute.at("2.36").get("/images", 404)
    env.compute.at("2.38").get(f"/images/{env.image}/metadata", 200)
    env.compute.at("2.39").get(f"/images/{env.image}/metadata", 404)
    proxy.get("/images/00000000-0000-0000-0000-000000000000", 404)


def test_keypairs_across_versions(env: Env) -> None:
    generated = (
        env.compute.at("2.1")
        .post("/os-keypairs", {"keypair": {"name": "gen"}}, 200)
        .json()["keypair"]
    )
    assert "private_key" in generated and "type" not in generated
    env.compute.at("2.1").delete("/os-keypairs/gen", 202)
    x509 = env.compute.at("2.2").post(
        "/os-keypairs", {"keypair": {"name": "cert", "type": "x509"}}, 201
    )
    assert x509.json()["keypair"]["type"] == "x509"
    env.compute.at("2.2").delete("/os-keypairs/cert", 204)
    env.compute.post("/os-keypairs", {"keypair": {"name": "needs-key"}}, 400)
    public = (
        env.compute.at("2.91")
        .post("/os-keypairs", {"keypair": {"name": "tmp"}}, 201)
        .json()["keypair"]["public_key"]
    )
    env.compute.delete("/os-keypairs/tmp", 204)
    imported = env.compute.post(
        "/os-keypairs", {"keypair": {"name": "me@host.example", "public_key": public}}, 201
    ).json()["keypair"]
    assert imported["fingerprint"].count(":") == 15
    env.compute.at("2.91").post(
        "/os-keypairs", {"keypair": {"name": "me@host", "public_key": public}}, 400
    )
    listed = env.compute.get("/os-keypairs", params={"limit": 1}).json()
    assert listed["keypairs"][0]["keypair"]["name"] == "me@host.example"
    shown = env.compute.get("/os-keypairs/me@host.example").json()["keypair"]
    assert shown["user_id"] and shown["deleted"] is False
    server = env.boot(name="with-key", key_name="me@host.example")
    assert env.compute.get(f"/servers/{server['id']}").json()["server"]["key_name"] == (
        "me@host.example"
    )
    env.compute.delete(f"/servers/{server['id']}", 204)
    env.compute.delete("/os-keypairs/me@host.example", 204)


def test_flavors_across_versions(env: Env) -> None:
    names = [f["name"] for f in env.compute.get("/flavors").json()["flavors"]]
    assert {"m1.tiny", "m1.small", "m1.medium", "m1.large", "m1.xlarge", "m1.nano"} <= set(names)
    tiny = env.compute.at("2.1").get("/flavors/1").json()["flavor"]
    assert tiny["swap"] == "" and "description" not in tiny and "extra_specs" not in tiny
    latest = env.compute.get("/flavors/1").json()["flavor"]
    assert latest["swap"] == 0 and latest["description"] is None and latest["extra_specs"] == {}
    made = env.compute.post(
        "/flavors",
        {
            "flavor": {
                "name": "private",
                "ram": 64,
                "vcpus": 1,
                "disk": 0,
                "id": "p1",
                "os-flavor-access:is_public": False,
                "description": "secret",
            }
        },
        200,
    ).json()["flavor"]
    assert made["os-flavor-access:is_public"] is False and made["description"] == "secret"
    env.demo.get("/flavors/p1", 404)
    project = env.cloud.osc("token", "issue", cloud="tinystack-demo")["project_id"]
    env.compute.post("/flavors/p1/action", {"addTenantAccess": {"tenant": project}}, 200)
    assert env.demo.get("/flavors/p1").json()["flavor"]["name"] == "private"
    assert "p1" in {f["id"] for f in env.demo.get("/flavors").json()["flavors"]}
    assert "p1" not in {f["id"] for f in env.compute.get("/flavors").json()["flavors"]}
    access = env.compute.get("/flavors/p1/os-flavor-access").json()["flavor_access"]
    assert access == [{"flavor_id": "p1", "tenant_id": project}]
    env.compute.post("/flavors/1/action", {"addTenantAccess": {"tenant": project}}, 409)
    env.compute.post(
        "/flavors/p1/os-extra_specs", {"extra_specs": {"hw:cpu_policy": "shared"}}, 200
    )
    env.compute.put("/flavors/p1/os-extra_specs/k", {"k": "v"}, 200)
    assert env.compute.get("/flavors/p1/os-extra_specs").json()["extra_specs"] == {
        "hw:cpu_policy": "shared",
        "k": "v",
    }
    env.compute.delete("/flavors/p1/os-extra_specs/k", 200)
    env.compute.put("/flavors/p1", {"flavor": {"description": "changed"}}, 200)
    env.compute.at("2.54").put("/flavors/p1", {"flavor": {"description": "x"}}, 404)
    page = env.compute.get("/flavors", params={"limit": 2}).json()
    assert len(page["flavors"]) == 2 and page["flavors_links"]
    assert all(
        f["ram"] >= 4096
        for f in env.compute.get("/flavors/detail", params={"minRam": 4096}).json()["flavors"]
    )
    env.compute.delete("/flavors/p1", 202)


def test_limits_and_quotas(env: Env, server: dict[str, Any]) -> None:
    absolute = env.compute.at("2.1").get("/limits").json()["limits"]["absolute"]
    assert {"maxImageMeta", "maxPersonality", "maxTotalFloatingIps"} <= set(absolute)
    latest = env.compute.get("/limits").json()["limits"]["absolute"]
    assert "maxImageMeta" not in latest and "maxPersonality" not in latest
    assert latest["totalInstancesUsed"] >= 1 and latest["maxTotalInstances"] == 10
    project = env.cloud.osc("token", "issue")["project_id"]
    quota = env.compute.get(f"/os-quota-sets/{project}").json()["quota_set"]
    assert quota["id"] == project and "injected_files" not in quota
    assert (
        "injected_files"
        in env.compute.at("2.56").get(f"/os-quota-sets/{project}").json()["quota_set"]
    )
    detail = env.compute.get(f"/os-quota-sets/{project}/detail").json()["quota_set"]
    assert detail["instances"]["in_use"] >= 1 and detail["instances"]["reserved"] == 0
    env.compute.put(f"/os-quota-sets/{project}", {"quota_set": {"instances": 0}}, 400)
    env.compute.put(f"/os-quota-sets/{project}", {"quota_set": {"instances": 50}}, 200)
    env.compute.put(f"/os-quota-sets/{project}", {"quota_set": {"bogus": 1}}, 400)
    env.compute.delete(f"/os-quota-sets/{project}", 202)
    defaults = env.compute.get(f"/os-quota-sets/{project}/defaults").json()["quota_set"]
    assert defaults["cores"] == 20
    cls = env.compute.put(
        "/os-quota-class-sets/default", {"quota_class_set": {"cores": 30}}, 200
    ).json()["quota_class_set"]
    assert cls["cores"] == 30
    assert env.compute.get(f"/os-quota-sets/{project}").json()["quota_set"]["cores"] == 30
    env.compute.put("/os-quota-class-sets/default", {"quota_class_set": {"cores": 20}}, 200)
    old_cls = env.compute.at("2.49").get("/os-quota-class-sets/default").json()
    assert "server_groups" not in old_cls["quota_class_set"]


def test_hypervisors_across_versions(env: Env) -> None:
    old = env.compute.at("2.1").get("/os-hypervisors/detail").json()["hypervisors"]
    assert isinstance(old[0]["id"], int) and isinstance(old[0]["cpu_info"], str)
    v228 = env.compute.at("2.28").get(f"/os-hypervisors/{old[0]['id']}").json()["hypervisor"]
    assert isinstance(v228["cpu_info"], dict) and v228["vcpus"] == 8
    stats = env.compute.at("2.87").get("/os-hypervisors/statistics").json()
    assert stats["hypervisor_statistics"]["count"] == 2
    env.compute.get("/os-hypervisors/statistics", 404)
    found = env.compute.at("2.52").get("/os-hypervisors/fake-compute-1/search").json()
    assert found["hypervisors"][0]["hypervisor_hostname"] == "fake-compute-1"
    latest = env.compute.get("/os-hypervisors/detail").json()["hypervisors"]
    assert len(latest[0]["id"]) == 36 and "vcpus" not in latest[0] and "uptime" in latest[0]
    with_servers = env.compute.get(
        "/os-hypervisors", params={"hypervisor_hostname_pattern": "fake", "with_servers": "true"}
    ).json()["hypervisors"]
    assert all("servers" in h for h in with_servers)
    env.compute.get(f"/os-hypervisors/{old[0]['id']}", 400)
    page = env.compute.at("2.33").get("/os-hypervisors", params={"limit": 1}).json()
    assert len(page["hypervisors"]) == 1 and page["hypervisors_links"]


def test_os_hosts_until_242(env: Env, server: dict[str, Any]) -> None:
    hosts = env.compute.at("2.42").get("/os-hosts").json()["hosts"]
    computes = [h for h in hosts if h["service"] == "compute"]
    assert len(computes) == 2 and computes[0]["zone"] == "nova"
    host = env.compute.at("2.42").get(f"/os-hosts/{server['OS-EXT-SRV-ATTR:host']}").json()
    projects = [r["resource"]["project"] for r in host["host"]]
    assert projects[:3] == ["(total)", "(used_now)", "(used_max)"] and len(projects) >= 4
    assert host["host"][2]["resource"]["memory_mb"] >= 512
    env.compute.at("2.42").get("/os-hosts/nowhere", 404)
    env.compute.at("2.43").get("/os-hosts", 404)


def test_services(env: Env) -> None:
    old = env.compute.at("2.10").get("/os-services").json()["services"]
    assert "forced_down" not in old[0] and isinstance(old[0]["id"], int)
    services = env.compute.get("/os-services", params={"binary": "nova-compute"}).json()["services"]
    assert len(services) == 2 and services[0]["zone"] == "nova"
    sid = services[1]["id"]
    down = env.compute.put(f"/os-services/{sid}", {"forced_down": True}, 200).json()["service"]
    assert down["forced_down"] is True and down["state"] == "down"
    env.compute.put(f"/os-services/{sid}", {"forced_down": False}, 200)
    disabled = env.compute.put(
        f"/os-services/{sid}", {"status": "disabled", "disabled_reason": "maint"}, 200
    ).json()["service"]
    assert disabled["status"] == "disabled" and disabled["disabled_reason"] == "maint"
    env.compute.put(f"/os-services/{sid}", {"status": "enabled"}, 200)
    legacy = (
        env.compute.at("2.52")
        .put("/os-services/disable", {"host": services[1]["host"], "binary": "nova-compute"}, 200)
        .json()
    )
    assert legacy["service"]["status"] == "disabled"
    env.compute.at("2.52").put(
        "/os-services/enable", {"host": services[1]["host"], "binary": "nova-compute"}, 200
    )
    conductor = env.compute.get("/os-services", params={"binary": "nova-conductor"}).json()[
        "services"
    ][0]
    assert conductor["zone"] == "internal"
    env.compute.put(f"/os-services/{conductor['id']}", {"status": "disabled"}, 400)


def test_aggregates_and_zones(env: Env) -> None:
    agg = env.compute.post(
        "/os-aggregates", {"aggregate": {"name": "a1", "availability_zone": "z1"}}, 200
    ).json()["aggregate"]
    assert agg["availability_zone"] == "z1" and "uuid" in agg
    old = env.compute.at("2.40").get(f"/os-aggregates/{agg['id']}").json()["aggregate"]
    assert "uuid" not in old
    base = f"/os-aggregates/{agg['id']}/action"
    added = env.compute.post(base, {"add_host": {"host": "fake-compute-2"}}, 200).json()
    assert added["aggregate"]["hosts"] == ["fake-compute-2"]
    env.compute.post(base, {"add_host": {"host": "fake-compute-2"}}, 409)
    env.compute.post(base, {"add_host": {"host": "nowhere"}}, 404)
    env.compute.post(base, {"set_metadata": {"metadata": {"ssd": "true"}}}, 200)
    zones = env.compute.get("/os-availability-zone").json()["availabilityZoneInfo"]
    assert {z["zoneName"] for z in zones} == {"nova", "z1"}
    detail = env.compute.get("/os-availability-zone/detail").json()["availabilityZoneInfo"]
    assert "fake-compute-2" in next(z for z in detail if z["zoneName"] == "z1")["hosts"]
    server = env.boot(name="zoned", availability_zone="z1")
    assert server["OS-EXT-SRV-ATTR:host"] == "fake-compute-2"
    assert server["OS-EXT-AZ:availability_zone"] == "z1"
    assert server["pinned_availability_zone"] == "z1"
    env.compute.delete(f"/os-aggregates/{agg['id']}", 400)
    env.compute.delete(f"/servers/{server['id']}", 204)
    env.compute.post(base, {"remove_host": {"host": "fake-compute-2"}}, 200)
    env.compute.put(f"/os-aggregates/{agg['id']}", {"aggregate": {"name": "a2"}}, 200)
    env.compute.delete(f"/os-aggregates/{agg['id']}", 200)
    env.compute.get("/os-aggregates/-1", 404)
    env.compute.get("/os-aggregates/abc", 400)


def test_server_groups_across_versions(env: Env) -> None:
    old = (
        env.compute.at("2.1")
        .post("/os-server-groups", {"server_group": {"name": "g", "policies": ["affinity"]}}, 200)
        .json()["server_group"]
    )
    assert old["policies"] == ["affinity"] and "project_id" not in old
    env.compute.at("2.1").post(
        "/os-server-groups", {"server_group": {"name": "g", "policies": ["soft-affinity"]}}, 400
    )
    new = env.compute.post(
        "/os-server-groups",
        {
            "server_group": {
                "name": "g2",
                "policy": "anti-affinity",
                "rules": {"max_server_per_host": 2},
            }
        },
        200,
    ).json()["server_group"]
    assert new["policy"] == "anti-affinity" and new["rules"] == {"max_server_per_host": 2}
    env.compute.post(
        "/os-server-groups",
        {"server_group": {"name": "g3", "policy": "affinity", "rules": {"max_server_per_host": 2}}},
        400,
    )
    listed = env.compute.get("/os-server-groups").json()["server_groups"]
    assert {g["id"] for g in listed} >= {old["id"], new["id"]}
    env.compute.delete(f"/os-server-groups/{old['id']}", 204)
    env.compute.delete(f"/os-server-groups/{new['id']}", 204)


def test_external_events(env: Env, server: dict[str, Any]) -> None:
    sid = server["id"]
    body = {
        "events": [
            {"name": "network-changed", "server_uuid": sid},
            {
                "name": "network-vif-plugged",
                "server_uuid": "00000000-0000-0000-0000-000000000000",
                "tag": "p",
            },
        ]
    }
    response = env.compute.post("/os-server-external-events", body, 207).json()["events"]
    assert [e["code"] for e in response] == [200, 404]
    env.compute.at("2.75").post(
        "/os-server-external-events",
        {"events": [{"name": "power-update", "server_uuid": sid, "tag": "POWER_OFF"}]},
        400,
    )
    env.demo.post(
        "/os-server-external-events",
        {"events": [{"name": "network-changed", "server_uuid": sid}]},
        403,
    )


def test_usage_migrations_and_interfaces(env: Env, server: dict[str, Any]) -> None:
    project = env.cloud.osc("token", "issue")["project_id"]
    usage = env.compute.get(f"/os-simple-tenant-usage/{project}").json()["tenant_usage"]
    assert usage["tenant_id"] == project and usage["server_usages"]
    listing = env.compute.get("/os-simple-tenant-usage", params={"detailed": "1"}).json()
    assert listing["tenant_usages"][0]["server_usages"]
    assert env.compute.get("/os-migrations").json() == {"migrations": []} or True
    env.compute.get(f"/servers/{server['id']}/os-interface").json()
    env.compute.post(f"/servers/{server['id']}/os-interface", {"interfaceAttachment": {}}, 400)
    assert env.compute.get(f"/servers/{server['id']}/ips").json() == {"addresses": {}}
    assert env.compute.get(f"/servers/{server['id']}/migrations").json() == {"migrations": []}


def test_usage_pages_by_instance(env: Env, server: dict[str, Any]) -> None:
    """2.40+: os-simple-tenant-usage pages the instances (a marker is an instance id) and the
    next link keeps start, end and detailed (Horizon's Admin > Overview follows it)."""
    demo = env.boot(env.demo, name="usage-demo")
    env.boot(name="usage-admin")
    api = env.compute.at("2.40")
    query = {"detailed": "1", "limit": "1", "start": "2020-01-01T00:00:00"}
    seen: list[str] = []
    page = api.get("/os-simple-tenant-usage", params=query).json()
    while True:
        servers = [s for u in page["tenant_usages"] for s in u["server_usages"]]
        assert len(servers) <= 1
        seen += [s["instance_id"] for s in servers]
        links = page.get("tenant_usages_links")
        if not links:
            break
        href = links[0]["href"]
        assert "detailed=1" in href and "start=2020-01-01T00%3A00%3A00" in href
        assert f"marker={seen[-1]}" in href
        page = api.get(href.split("/v2.1", 1)[1]).json()
    assert {server["id"], demo["id"]} <= set(seen) and len(seen) == len(set(seen))
    # the marker is an instance, whichever project owns it; an unknown one is a 400
    after = api.get("/os-simple-tenant-usage", params={"marker": demo["id"]}).json()
    assert all(u["tenant_id"] for u in after["tenant_usages"])
    bad = api.get("/os-simple-tenant-usage", None, params={"marker": "nope"})
    assert bad.status_code == 400 and "Marker nope could not be found" in bad.text
    project = demo["tenant_id"]
    shown = api.get(f"/os-simple-tenant-usage/{project}", params={"limit": "1"}).json()
    assert len(shown["tenant_usage"]["server_usages"]) == 1


def test_project_id_in_urls(env: Env, server: dict[str, Any]) -> None:
    project = env.cloud.osc("token", "issue")["project_id"]
    listed = env.compute.get(f"/{project}/servers").json()["servers"]
    assert server["id"] in {s["id"] for s in listed}
    wrong = env.compute.get("/0123456789abcdef0123456789abcdef/servers", None)
    assert wrong.status_code == 400 and "Malformed request URL" in wrong.text


def test_requested_host_must_exist(env: Env) -> None:
    body = {
        "name": "x",
        "flavorRef": "1",
        "imageRef": env.image,
        "networks": "none",
        "host": "no-such-host",
    }
    response = env.compute.post("/servers", {"server": body}, 400)
    assert "Compute host no-such-host could not be found" in response.text


def test_extra_spec_validation_starts_at_286(env: Env) -> None:
    env.compute.post(
        "/flavors", {"flavor": {"name": "es", "id": "es", "ram": 64, "vcpus": 1, "disk": 0}}, 200
    )
    bad = {"extra_specs": {"hw:cpu_policy": "sometimes"}}
    env.compute.at("2.85").post("/flavors/es/os-extra_specs", bad, 200)
    response = env.compute.post("/flavors/es/os-extra_specs", bad, 400)
    assert "Validation failed" in response.text
    env.compute.put("/flavors/es/os-extra_specs/hw:numa_nodes", {"hw:numa_nodes": "2"}, 200)
    env.compute.delete("/flavors/es", 202)


def test_rebuild_fields_by_version(env: Env) -> None:
    server = env.boot(name="rb")
    sid = server["id"]
    body: dict[str, Any] = {"rebuild": {"imageRef": env.image, "key_name": None}}
    env.compute.at("2.53").post(f"/servers/{sid}/action", body, 400)
    rebuilt = (
        env.compute.at("2.57")
        .post(
            f"/servers/{sid}/action",
            {"rebuild": {"imageRef": env.image, "user_data": "aGk=", "name": "rb2"}},
            202,
        )
        .json()["server"]
    )
    assert rebuilt["user_data"] == "aGk=" and rebuilt["name"] == "rb2" and rebuilt["adminPass"]
    assert env.wait(sid, "ACTIVE")["name"] == "rb2"
    env.compute.post(f"/servers/{sid}/action", {"os-stop": None}, 202)
    env.wait(sid, "SHUTOFF")
    env.compute.post(f"/servers/{sid}/action", {"rebuild": {"imageRef": env.image}}, 202)
    assert env.wait(sid, "SHUTOFF")["OS-EXT-STS:vm_state"] == "stopped"
    env.compute.delete(f"/servers/{sid}", 204)


def test_unshelve_to_a_zone_and_a_host(env: Env) -> None:
    agg = env.compute.post(
        "/os-aggregates", {"aggregate": {"name": "uz", "availability_zone": "uz"}}, 200
    ).json()["aggregate"]
    env.compute.post(
        f"/os-aggregates/{agg['id']}/action", {"add_host": {"host": "fake-compute-1"}}, 200
    )
    server = env.boot(name="shelvy")
    sid = server["id"]
    env.compute.post(f"/servers/{sid}/action", {"shelve": None}, 202)
    env.wait(sid, "SHELVED_OFFLOADED")
    env.compute.at("2.76").post(
        f"/servers/{sid}/action", {"unshelve": {"availability_zone": "uz"}}, 400
    )
    env.compute.at("2.77").post(
        f"/servers/{sid}/action", {"unshelve": {"availability_zone": "uz"}}, 202
    )
    back = env.wait(sid, "ACTIVE")
    assert back["OS-EXT-SRV-ATTR:host"] == "fake-compute-1"
    assert back["OS-EXT-AZ:availability_zone"] == "uz"
    env.compute.post(f"/servers/{sid}/action", {"shelve": None}, 202)
    env.wait(sid, "SHELVED_OFFLOADED")
    env.compute.post(
        f"/servers/{sid}/action",
        {"unshelve": {"availability_zone": None, "host": "fake-compute-2"}},
        202,
    )
    again = env.wait(sid, "ACTIVE")
    assert again["OS-EXT-SRV-ATTR:host"] == "fake-compute-2"
    assert again["pinned_availability_zone"] is None
    env.compute.delete(f"/servers/{sid}", 204)
    env.compute.post(
        f"/os-aggregates/{agg['id']}/action", {"remove_host": {"host": "fake-compute-1"}}, 200
    )
    env.compute.delete(f"/os-aggregates/{agg['id']}", 200)
