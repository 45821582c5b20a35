"""Volume types, access, extra specs, default types, QoS, quotas, limits, zones,
services, hosts, pools, capabilities and messages against a real cloud."""

from __future__ import annotations

import json
import uuid

from tests import cloud_fork
from tests.volume.conftest import Env
from tests.volume.resources import snapshot, wait_for
from tinystack.volume import rpcapi


def test_types_access_and_extra_specs(env: Env) -> None:
    name = f"gold-{uuid.uuid4().hex[:6]}"
    body = {"volume_type": {"name": name, "os-volume-type-access:is_public": False,
                            "extra_specs": {"volume_backend_name": "file"}}}  # fmt: skip
    vtype = env.admin.post("/types", body, 200).json()["volume_type"]
    assert vtype["is_public"] is False and vtype["extra_specs"] == {"volume_backend_name": "file"}
    env.admin.post("/types", body, 409)
    env.demo.post("/types", {"volume_type": {"name": "x"}}, 403)
    # private: the demo project sees it once it has access
    env.demo.get(f"/types/{vtype['id']}", 404)
    project = env.project_id()
    action = f"/types/{vtype['id']}/action"
    env.admin.post(action, {"addProjectAccess": {"project": project}}, 202)
    env.admin.post(action, {"addProjectAccess": {"project": project}}, 409)
    access = env.admin.get(f"/types/{vtype['id']}/os-volume-type-access").json()
    assert access["volume_type_access"] == [{"volume_type_id": vtype["id"], "project_id": project}]
    seen = env.demo.get(f"/types/{vtype['id']}").json()["volume_type"]
    assert "volume_backend_name" not in seen.get("extra_specs", {})
    assert vtype["id"] in [t["id"] for t in env.demo.get("/types").json()["volume_types"]]
    # extra specs
    specs = f"/types/{vtype['id']}/extra_specs"
    env.admin.post(specs, {"extra_specs": {"k": "v"}}, 200)
    assert env.admin.get(f"{specs}/k").json() == {"k": "v"}
    env.admin.put(f"{specs}/k", {"k": "w"}, 200)
    env.admin.put(f"{specs}/k", {"other": "w"}, 400)
    env.admin.delete(f"{specs}/k", 202)
    env.admin.get(f"{specs}/k", 404)
    # a volume of the type: the backend matches; the type is then in use
    vol = env.create(volume_type=name)
    assert vol["volume_type"] == name
    env.admin.post(specs, {"extra_specs": {"k": "v"}}, 400)
    env.admin.delete(f"/types/{vtype['id']}", 400)
    env.demo.delete(f"/volumes/{vol['id']}", 202)
    env.wait(vol["id"], "deleted")
    env.admin.post(action, {"removeProjectAccess": {"project": project}}, 202)
    env.demo.post("/volumes", {"volume": {"size": 1, "volume_type": name}}, 404)
    renamed = env.admin.put(f"/types/{vtype['id']}", {"volume_type": {"name": name + "x"}}, 200)
    assert renamed.json()["volume_type"]["name"] == name + "x"
    env.admin.delete(f"/types/{vtype['id']}", 202)
    default = env.demo.get("/types/default").json()["volume_type"]
    assert default["name"] == "__DEFAULT__"
    env.admin.delete(f"/types/{default['id']}", 400)


def test_a_type_no_backend_satisfies_fails_with_a_message(env: Env) -> None:
    name = f"nowhere-{uuid.uuid4().hex[:6]}"
    env.admin.post("/types", {"volume_type": {"name": name, "extra_specs": {
        "volume_backend_name": "elsewhere"}}}, 200)  # fmt: skip
    vol = env.create(volume_type=name, wait="error")
    (message,) = env.messages(vol["id"])
    assert message["event_id"] == "VOLUME_VOLUME_001_003"
    assert "No valid" in message["user_message"] or "weighted backend" in message["user_message"]
    own = env.demo.get("/messages").json()["messages"]
    assert message["id"] in [m["id"] for m in own]
    env.demo.at("3.2").get("/messages", 404)
    env.demo.delete(f"/messages/{message['id']}", 204)
    env.demo.get(f"/messages/{message['id']}", 404)
    env.demo.delete(f"/volumes/{vol['id']}", 202)
    env.wait(vol["id"], "deleted")


def test_migrations_refused_and_on_demand_retype_with_nowhere_to_go(env: Env) -> None:
    """One backend: ``os-migrate_volume`` is refused (same host, unknown host, snapshots,
    in-use, not admin) and an on-demand retype with no other backend fails cleanly."""
    vol = env.create()
    view = env.admin.get(f"/volumes/{vol['id']}").json()["volume"]
    host = view["os-vol-host-attr:host"]
    assert view["os-vol-mig-status-attr:migstat"] is None
    action = f"/volumes/{vol['id']}/action"
    for target, why in ((host, "different than the current host"), ("nope@x", "nope@x")):
        body = {"os-migrate_volume": {"host": target, "force_host_copy": False}}
        assert why in env.admin.post(action, body, 400).text
    env.demo.post(action, {"os-migrate_volume": {"host": "nope@x"}}, 403)
    env.admin.post(action, {"os-migrate_volume": {}}, 400)
    snap = snapshot(env.demo, vol["id"])
    refused = env.admin.post(action, {"os-migrate_volume": {"host": "nope@x"}}, 400).text
    assert "must not have snapshots" in refused
    env.demo.delete(f"/snapshots/{snap['id']}", 202)
    wait_for(env.demo, "snapshots", snap["id"], "deleted")
    name = f"far-{uuid.uuid4().hex[:6]}"
    env.admin.post("/types", {"volume_type": {"name": name, "extra_specs": {
        "volume_backend_name": "elsewhere"}}}, 200)  # fmt: skip
    retype = {"os-retype": {"new_type": name, "migration_policy": "on-demand"}}
    env.demo.post(action, retype, 202)
    assert env.wait(vol["id"], "available")["volume_type"] != name
    view = env.admin.get(f"/volumes/{vol['id']}").json()["volume"]
    assert view["os-vol-mig-status-attr:migstat"] is None
    att = {"volume_uuid": vol["id"], "instance_uuid": str(uuid.uuid4())}
    made = env.demo.at("3.54").post("/attachments", {"attachment": att}, 200).json()
    refused = env.admin.post(action, {"os-migrate_volume": {"host": "nope@x"}}, 400).text
    assert "must be available to be migrated" in refused
    env.demo.at("3.54").delete(f"/attachments/{made['attachment']['id']}", 200)
    env.wait(vol["id"], "available")
    env.demo.delete(f"/volumes/{vol['id']}", 202)
    env.wait(vol["id"], "deleted")


def test_default_types(env: Env) -> None:
    name = f"proj-default-{uuid.uuid4().hex[:6]}"
    vtype = env.admin.post("/types", {"volume_type": {"name": name}}, 200).json()["volume_type"]
    project = env.project_id()
    env.admin.at("3.61").put("/default-types", {}, 404)
    set_ = env.admin.put(
        "/default-types", {"default_type": {"project": project, "volume_type": name}}, 200
    )
    assert set_.json()["default_type"] == {"project_id": project, "volume_type_id": vtype["id"]}
    vol = env.create()
    assert vol["volume_type"] == name
    assert (
        env.admin.get(f"/default-types/{project}").json()["default_type"]["volume_type_id"]
        == vtype["id"]
    )
    env.demo.get(f"/default-types/{project}", 403)
    env.admin.delete(f"/default-types/{project}", 204)
    env.admin.get(f"/default-types/{project}", 404)
    env.demo.delete(f"/volumes/{vol['id']}", 202)


def test_qos_specs(env: Env) -> None:
    qos = env.admin.post("/qos-specs", {"qos_specs": {
        "name": f"fast-{uuid.uuid4().hex[:6]}", "consumer": "front-end",
        "total_iops_sec": "500"}}, 200).json()["qos_specs"]  # fmt: skip
    assert qos["specs"] == {"total_iops_sec": "500"} and qos["consumer"] == "front-end"
    env.admin.put(f"/qos-specs/{qos['id']}", {"qos_specs": {"read_iops_sec": "100"}}, 200)
    shown = env.admin.get(f"/qos-specs/{qos['id']}").json()["qos_specs"]
    assert shown["specs"] == {"total_iops_sec": "500", "read_iops_sec": "100"}
    env.admin.put(f"/qos-specs/{qos['id']}/delete_keys", {"keys": ["read_iops_sec"]}, 202)
    env.admin.put(f"/qos-specs/{qos['id']}/delete_keys", {"keys": ["nope"]}, 404)
    vtype = env.admin.post("/types", {"volume_type": {"name": f"q-{uuid.uuid4().hex[:6]}"}},
                           200).json()["volume_type"]  # fmt: skip
    env.admin.get(f"/qos-specs/{qos['id']}/associate", 400)
    env.admin.get(f"/qos-specs/{qos['id']}/associate", 202, params={"vol_type_id": vtype["id"]})
    assoc = env.admin.get(f"/qos-specs/{qos['id']}/associations").json()["qos_associations"]
    assert assoc == [{"association_type": "volume_type", "name": vtype["name"], "id": vtype["id"]}]
    assert env.admin.get(f"/types/{vtype['id']}").json()["volume_type"]["qos_specs_id"] == qos["id"]
    env.admin.delete(f"/qos-specs/{qos['id']}", 400)
    env.admin.get(f"/qos-specs/{qos['id']}/disassociate", 202, params={"vol_type_id": vtype["id"]})
    env.admin.delete(f"/qos-specs/{qos['id']}", 202)
    env.admin.get(f"/qos-specs/{qos['id']}", 404)
    env.demo.get("/qos-specs", 403)


def test_quotas_and_limits(env: Env) -> None:
    project = env.project_id()
    shown = env.demo.get(f"/os-quota-sets/{project}", params={"usage": "True"}).json()
    quota = shown["quota_set"]
    assert quota["id"] == project and quota["volumes"]["limit"] == 10
    assert {"gigabytes", "snapshots", "backups", "backup_gigabytes", "per_volume_gigabytes",
            "groups", "volumes___DEFAULT__", "gigabytes___DEFAULT__"} <= set(quota)  # fmt: skip
    used = quota["volumes"]["in_use"]
    env.demo.put(f"/os-quota-sets/{project}", {"quota_set": {"volumes": 5}}, 403)
    env.admin.put(f"/os-quota-sets/{project}", {"quota_set": {"bogus": 5}}, 400)
    env.admin.put(f"/os-quota-sets/{project}", {"quota_set": {"volumes": -2}}, 400)
    env.admin.put(
        f"/os-quota-sets/{project}",
        {"quota_set": {"volumes": used + 1, "per_volume_gigabytes": 5}},
        200,
    )
    vol = env.create()
    over = env.demo.post("/volumes", {"volume": {"size": 1}}, 413).json()
    assert "overLimit" in over and "volumes" in over["overLimit"]["message"]
    env.demo.post("/volumes", {"volume": {"size": 6}}, 413)
    env.admin.put(f"/os-quota-sets/{project}", {"quota_set": {"volumes": 0}}, 400)
    limits = env.demo.get("/limits").json()["limits"]["absolute"]
    assert limits["maxTotalVolumes"] == used + 1 and limits["totalVolumesUsed"] == used + 1
    defaults = env.demo.get(f"/os-quota-sets/{project}/defaults").json()["quota_set"]
    assert defaults["volumes"] == 10
    env.admin.delete(f"/os-quota-sets/{project}", 200)
    assert env.demo.get(f"/os-quota-sets/{project}").json()["quota_set"]["volumes"] == 10
    classes = env.admin.put("/os-quota-class-sets/default", {"quota_class_set": {"backups": 7}},
                            200).json()["quota_class_set"]  # fmt: skip
    assert classes["backups"] == 7
    assert env.admin.get("/os-quota-class-sets/default").json()["quota_class_set"]["backups"] == 7
    env.admin.put("/os-quota-class-sets/default", {"quota_class_set": {"backups": 10}}, 200)
    env.demo.delete(f"/volumes/{vol['id']}", 202)
    env.wait(vol["id"], "deleted")
    after = env.demo.get(f"/os-quota-sets/{project}", params={"usage": "1"}).json()["quota_set"]
    assert after["volumes"]["in_use"] == used


def test_zones_services_hosts_pools_capabilities(env: Env) -> None:
    zones = env.demo.get("/os-availability-zone").json()["availabilityZoneInfo"]
    assert zones == [{"zoneName": "nova", "zoneState": {"available": True}}]
    services = env.admin.get("/os-services").json()["services"]
    binaries = {s["binary"]: s for s in services}
    assert binaries["cinder-volume"]["state"] == "up"
    assert binaries["cinder-scheduler"]["status"] == "enabled"
    backend = binaries["cinder-volume"]["host"]
    env.demo.get("/os-services", 403)
    disabled = env.admin.put(
        "/os-services/disable-log-reason",
        {"host": backend, "binary": "cinder-volume", "disabled_reason": "maintenance"},
        200,
    )
    assert disabled.json()["status"] == "disabled"
    blocked = env.create(wait="error")
    env.admin.put("/os-services/enable", {"host": backend, "binary": "cinder-volume"}, 200)
    env.admin.put("/os-services/freeze", {"host": backend}, 200)
    env.demo.delete(f"/volumes/{blocked['id']}", 202)  # never scheduled: no backend involved
    frozen = env.create(wait="error")
    env.admin.put("/os-services/thaw", {"host": backend}, 200)
    env.admin.put("/os-services/thaw", {"host": backend}, 400)
    env.demo.delete(f"/volumes/{frozen['id']}", 202)
    hosts = env.admin.get("/os-hosts").json()["hosts"]
    assert hosts[0]["host_name"] == backend and hosts[0]["service-status"] == "available"
    usage = env.admin.get(f"/os-hosts/{backend}").json()["host"]
    assert usage[0]["resource"]["project"] == "(total)"
    pools = env.admin.get("/scheduler-stats/get_pools", params={"detail": "true"}).json()["pools"]
    (pool,) = pools
    assert pool["name"] == backend + "#file"
    caps = pool["capabilities"]
    assert caps["volume_backend_name"] == "file" and caps["total_capacity_gb"] == 1000
    assert caps["thin_provisioning_support"] is True
    capabilities = env.admin.get(f"/capabilities/{backend}").json()
    assert capabilities["volume_backend_name"] == "file"
    env.admin.get("/capabilities/nohost", 404)
    ext = env.demo.get("/extensions").json()["extensions"]
    assert "os-volume-type-access" in [e["alias"] for e in ext]


def test_set_and_get_log_levels(env: Env) -> None:
    """3.32: the levels of the loggers of each service binary in the cloud's process."""
    found = env.admin.put("/os-services/get-log", {}, 200).json()["log_levels"]
    binaries = {entry["binary"]: entry for entry in found}
    assert {"cinder-api", "cinder-scheduler", "cinder-volume"} <= set(binaries)
    volume = binaries["cinder-volume"]
    assert "tinystack.volume.manager.manager" in volume["levels"]
    assert all(name.startswith("tinystack.volume.") for name in volume["levels"])
    prefix = "tinystack.volume.manager"
    body = {"binary": "cinder-volume", "server": volume["host"], "prefix": prefix,
            "level": "debug"}  # fmt: skip
    env.admin.put("/os-services/set-log", body, 202)
    after = env.admin.put("/os-services/get-log", {"binary": "cinder-volume"}, 200).json()
    (entry,) = after["log_levels"]
    managers = {k: v for k, v in entry["levels"].items() if k.startswith(prefix)}
    assert managers and set(managers.values()) == {"DEBUG"}
    assert entry["levels"]["tinystack.volume.drivers.file"] != "DEBUG"
    api = env.admin.put("/os-services/get-log", {"binary": "cinder-api"}, 200).json()
    assert "DEBUG" not in api["log_levels"][0]["levels"].values()
    # prefix and server filters; back to INFO
    only = env.admin.put("/os-services/get-log", {"prefix": prefix}, 200).json()["log_levels"]
    assert [e["binary"] for e in only if e["levels"]] == ["cinder-volume"]
    gone = env.admin.put("/os-services/get-log", {"server": "elsewhere"}, 200).json()
    assert gone == {"log_levels": []}
    env.admin.put("/os-services/set-log", dict(body, level="INFO"), 202)
    # bad input, policy, microversion
    env.admin.put("/os-services/set-log", dict(body, level="LOUD"), 400)
    env.admin.put("/os-services/set-log", {"level": "INFO", "binary": "nova-api"}, 400)
    env.admin.put("/os-services/get-log", {"binary": "nova-api"}, 400)
    env.demo.put("/os-services/get-log", {}, 403)
    env.admin.at("3.31").put("/os-services/get-log", {}, 404)


def test_upgrade_check_reports_the_volume_services(env: Env) -> None:
    """Each cinder service stamps the RPC version it serves; nothing is capped."""
    conf = str(env.cloud.conf_file)
    result = cloud_fork.run(["upgrade", "check", "--json", "--config-file", conf], env.cloud.env)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    volume = {s["binary"]: s for s in report["services"] if s["service"] == "volume"}
    assert {"cinder-scheduler", "cinder-volume"} <= set(volume)
    serves = {"cinder-scheduler": rpcapi.SCHEDULER_VERSION, "cinder-volume": rpcapi.VOLUME_VERSION}
    for binary, version in serves.items():
        assert volume[binary]["rpc_version"] == version == volume[binary]["current"]
        assert volume[binary]["up"]
    caps = {c["topic"]: c for c in report["caps"] if c["service"] == "volume"}
    newest = {"volume_scheduler": rpcapi.SCHEDULER_VERSION, "volume": rpcapi.VOLUME_VERSION,
              "backup": rpcapi.BACKUP_VERSION}  # fmt: skip
    assert {topic: c["newest"] for topic, c in caps.items()} == newest
    assert all(c["cap"] is None for c in caps.values())
