"""Type encryption specs, manageable volumes, workers cleanup, resource filters and
clusters against a real cloud (one per module)."""

from __future__ import annotations

import uuid

from tests.volume.conftest import Env


def _type(env: Env, prefix: str) -> dict[str, object]:
    name = f"{prefix}-{uuid.uuid4().hex[:6]}"
    return dict(
        env.admin.post("/types", {"volume_type": {"name": name}}, 200).json()["volume_type"]
    )


def test_encryption_specs_crud(env: Env) -> None:
    vtype = _type(env, "enc")
    path = f"/types/{vtype['id']}/encryption"
    assert env.admin.get(path).json() == {}
    spec = {"provider": "luks", "cipher": "aes-xts-plain64", "key_size": "256",
            "control_location": "front-end"}  # fmt: skip
    env.demo.post(path, {"encryption": spec}, 403)
    env.admin.post(path, {"encryption": {"provider": "luks"}}, 400)
    env.admin.post(path, {"encryption": {**spec, "control_location": "middle"}}, 400)
    env.admin.post(path, {"encryption": {**spec, "key_size": -1}}, 400)
    env.admin.post(path, {"encryption": {**spec, "other": 1}}, 400)
    env.admin.post(f"/types/{uuid.uuid4()}/encryption", {"encryption": spec}, 404)
    created = env.admin.post(path, {"encryption": spec}, 200).json()["encryption"]
    assert created["key_size"] == 256 and created["volume_type_id"] == vtype["id"]
    env.admin.post(path, {"encryption": spec}, 400)  # one per type
    shown = env.admin.get(path).json()
    assert shown["encryption_id"] == created["encryption_id"]
    assert (shown["provider"], shown["cipher"], shown["key_size"]) == (
        "luks",
        "aes-xts-plain64",
        256,
    )
    assert env.admin.get(f"{path}/cipher").json() == {"cipher": "aes-xts-plain64"}
    env.admin.get(f"{path}/nonsense", 404)
    item = f"{path}/{created['encryption_id']}"
    update = {"provider": "plain", "key_size": 128, "control_location": "back-end"}
    assert env.admin.put(item, {"encryption": update}, 200).json() == {"encryption": update}
    shown = env.admin.get(path).json()
    assert (shown["provider"], shown["key_size"], shown["control_location"]) == (
        "plain", 128, "back-end")  # fmt: skip
    assert shown["cipher"] == "aes-xts-plain64"
    # no key manager: volumes of the type are refused, not created unencrypted
    refused = env.demo.post("/volumes", {"volume": {"size": 1, "volume_type": vtype["name"]}})
    assert refused.status_code == 400 and "key manager" in refused.text
    plain = env.create()
    env.demo.post(f"/volumes/{plain['id']}/action",
                  {"os-retype": {"new_type": vtype["name"]}}, 400)  # fmt: skip
    env.demo.delete(f"/volumes/{plain['id']}", 202)
    env.admin.delete(item, 202)
    assert env.admin.get(path).json() == {}
    env.admin.delete(item, 404)
    env.admin.put(item, {"encryption": update}, 404)
    env.admin.delete(f"/types/{vtype['id']}", 202)


def test_encryption_specs_are_fixed_while_volumes_of_the_type_exist(env: Env) -> None:
    vtype = _type(env, "used")
    vol = env.create(volume_type=vtype["name"])
    path = f"/types/{vtype['id']}/encryption"
    spec = {"provider": "luks", "control_location": "front-end"}
    response = env.admin.post(path, {"encryption": spec}, 400)
    assert "Volume type in use" in response.text
    env.demo.delete(f"/volumes/{vol['id']}", 202)
    env.wait(vol["id"], "deleted")
    created = env.admin.post(path, {"encryption": spec}, 200).json()["encryption"]
    env.admin.delete(f"/types/{vtype['id']}", 202)  # its specs go with it
    env.admin.get(path, 404)
    assert created["provider"] == "luks"
