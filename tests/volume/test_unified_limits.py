"""Volume quotas from identity's unified limits (``[volume] quota_driver =
unified_limits``): registered limits and project limits of the block-storage service,
made with the real CLI, decide what a volume create may take; usage is the volume
service's own."""

from __future__ import annotations

import pytest

from tests.volume.conftest import Env, MakeEnv, volume_conf


@pytest.fixture(scope="module")
def env(make_env: MakeEnv) -> Env:
    return make_env(volume_conf(quota_driver="unified_limits"))


def test_volume_quotas_follow_unified_limits(env: Env) -> None:
    osc = env.cloud.osc
    demo = env.project_id()
    admin = env.project_id("tinystack-admin")
    for resource, default in (("volumes", 2), ("gigabytes", 3), ("volumes___DEFAULT__", 5)):
        made = osc(
            "registered", "limit", "create", "--service", "block-storage",
            "--default-limit", str(default), resource,
        )  # fmt: skip
        assert made["resource_name"] == resource and made["default_limit"] == default
    osc(
        "limit", "create", "--service", "block-storage", "--project", demo,
        "--resource-limit", "1", "volumes",
    )  # fmt: skip

    # the limits API and the quota sets say what identity says
    limits = env.demo.get("/limits").json()["limits"]["absolute"]
    assert limits["maxTotalVolumes"] == 1 and limits["maxTotalVolumeGigabytes"] == 3
    quota = env.admin.get(f"/os-quota-sets/{admin}").json()["quota_set"]
    assert quota["volumes"] == 2 and quota["gigabytes"] == 3 and quota["snapshots"] == -1
    assert quota["volumes___DEFAULT__"] == 5
    # quota-set updates change nothing: identity holds the limits (as Nova's noop updates)
    put = env.admin.put(f"/os-quota-sets/{admin}", {"quota_set": {"volumes": 50}}, 200)
    assert put.json()["quota_set"]["volumes"] == 2

    # the demo project's own limit: one volume, the second is refused as upstream does
    first = env.create(size=1)
    over = env.demo.post("/volumes", {"volume": {"size": 1}}, 413)
    assert over.headers["Retry-After"] == "0"
    assert over.json() == {
        "overLimit": {
            "code": 413,
            "message": "Maximum number of volumes allowed (1) exceeded for quota 'volumes'.",
            "retryAfter": "0",
        }
    }

    # the admin project has no limit of its own: the registered defaults apply
    too_big = env.admin.post("/volumes", {"volume": {"size": 4}}, 413).json()["overLimit"]
    assert "exceeds allowed gigabytes quota" in too_big["message"]
    second = env.create(env.admin, size=1)
    third = env.create(env.admin, size=1)
    env.admin.post("/volumes", {"volume": {"size": 1}}, 413)

    # freeing a volume frees its share of the limit
    env.demo.delete(f"/volumes/{first['id']}", 202)
    env.wait(first["id"], "deleted")
    env.wait(env.create(size=1)["id"], "available")
    for vol in (second, third):
        env.admin.delete(f"/volumes/{vol['id']}", 202)
