"""The real ``openstack volume ...`` CLI and openstacksdk against the volume service."""

from __future__ import annotations

import subprocess
import uuid

import pytest

from tests.volume.conftest import Env


def _fails(env: Env, *args: str, cloud: str = "tinystack-demo") -> str:
    with pytest.raises(subprocess.CalledProcessError) as raised:
        env.cloud.osc(*args, cloud=cloud)
    return str(raised.value.stderr)


def test_volume_lifecycle_with_the_cli(env: Env) -> None:
    osc = env.cloud.osc
    name = f"cli-{uuid.uuid4().hex[:6]}"
    created = osc("volume", "create", "--size", "1", "--property", "a=b", "--description",
                  "first", name, cloud="tinystack-demo")  # fmt: skip
    env.wait(created["id"], "available")
    listed = osc("volume", "list", cloud="tinystack-demo")
    assert name in [v["Name"] for v in listed]
    shown = osc("volume", "show", name, cloud="tinystack-demo")
    assert shown["size"] == 1 and shown["properties"] == {"a": "b"}
    osc("volume", "set", "--name", name + "-2", "--property", "c=d", "--bootable", name,
        cloud="tinystack-demo")  # fmt: skip
    osc("volume", "unset", "--property", "a", name + "-2", cloud="tinystack-demo")
    shown = osc("volume", "show", name + "-2", cloud="tinystack-demo")
    assert shown["properties"] == {"c": "d"} and shown["bootable"] in (True, "true")
    osc("volume", "set", "--size", "2", name + "-2", cloud="tinystack-demo")
    assert env.wait(created["id"], "available")["size"] == 2
    _fails(env, "volume", "set", "--size", "1", name + "-2")
    osc("volume", "delete", name + "-2", cloud="tinystack-demo")
    env.wait(created["id"], "deleted")


def test_types_and_qos_with_the_cli(env: Env) -> None:
    osc = env.cloud.osc
    tname = f"cli-type-{uuid.uuid4().hex[:6]}"
    vtype = osc("volume", "type", "create", "--property", "volume_backend_name=file",
                "--private", tname)  # fmt: skip
    assert vtype["is_public"] is False
    project = env.project_id()
    osc("volume", "type", "set", "--project", project, tname)
    qname = f"cli-qos-{uuid.uuid4().hex[:6]}"
    qos = osc("volume", "qos", "create", "--consumer", "front-end", "--property",
              "total_iops_sec=100", qname)  # fmt: skip
    osc("volume", "qos", "associate", qname, tname)
    shown = osc("volume", "qos", "show", qname)
    assert tname in str(shown["associations"])
    vol = osc("volume", "create", "--size", "1", "--type", tname, "typed", cloud="tinystack-demo")
    assert env.wait(vol["id"], "available")["volume_type"] == tname
    osc("volume", "delete", vol["id"], cloud="tinystack-demo")
    env.wait(vol["id"], "deleted")
    osc("volume", "qos", "disassociate", "--volume-type", tname, qname)
    osc("volume", "qos", "delete", qos["id"])
    osc("volume", "type", "delete", tname)


def test_quota_set_is_enforced(env: Env) -> None:
    osc = env.cloud.osc
    project = env.project_id()
    used = env.demo.get(f"/os-quota-sets/{project}", params={"usage": "1"}).json()
    in_use = used["quota_set"]["volumes"]["in_use"]
    osc("quota", "set", "--volumes", str(in_use + 1), project)
    try:
        vol = osc("volume", "create", "--size", "1", "q1", cloud="tinystack-demo")
        env.wait(vol["id"], "available")
        err = _fails(env, "volume", "create", "--size", "1", "q2")
        assert "413" in err or "exceeded" in err.lower()
        osc("volume", "delete", vol["id"], cloud="tinystack-demo")
        env.wait(vol["id"], "deleted")
    finally:
        osc("quota", "set", "--volumes", "10", project)


def test_bad_input_with_the_cli(env: Env) -> None:
    assert "400" in _fails(env, "volume", "create", "--size", "0", "zero")
    assert "404" in _fails(env, "volume", "create", "--size", "1", "--type", "nope", "x")
    assert "400" in _fails(env, "volume", "create", "--size", "1", "--availability-zone",
                           "mars", "x")  # fmt: skip


def test_openstacksdk(env: Env) -> None:
    conn = env.cloud.sdk("tinystack-demo")
    vol = conn.create_volume(size=1, name="sdk", wait=True, timeout=60)
    assert vol.status == "available" and vol.size == 1
    assert "sdk" in [v.name for v in conn.list_volumes()]
    conn.block_storage.extend_volume(vol, 2)
    conn.block_storage.wait_for_status(vol, "available", wait=60)
    assert conn.block_storage.get_volume(vol.id).size == 2
    assert conn.delete_volume(vol.id, wait=True, timeout=60)
