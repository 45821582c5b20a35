"""kill -9 of the whole cloud while volumes are being created, extended, deleted and
uploaded: after the restart every volume is stable (available or error, or gone), the
quota usage is exact, no operation record is left, and a backend file no row claims is
deleted."""

from __future__ import annotations

import signal
import time
import uuid
from pathlib import Path

from tests.cloudproc import CloudProcess
from tests.volume.conftest import SERVICES, SPARSE_DRIVER, Env, volume_conf

CONF = volume_conf(volume_driver=SPARSE_DRIVER, api_settle_seconds=0)


def test_kill_during_operations_settles_everything(tmp_path: Path) -> None:
    cloud = CloudProcess(tmp_path / "state", SERVICES, CONF)
    cloud.start(timeout=120)
    try:
        env = Env(cloud)
        grow, gone, upload = (env.create(name=n) for n in ("grow", "gone", "upload"))
        (env.volumes_dir / ".delay").write_text("3")
        creating = [env.create(wait=None, name=f"c{i}")["id"] for i in range(3)]
        env.demo.post(f"/volumes/{grow['id']}/action", {"os-extend": {"new_size": 2}}, 202)
        env.demo.delete(f"/volumes/{gone['id']}", 202)
        started = env.demo.post(f"/volumes/{upload['id']}/action", {
            "os-volume_upload_image": {"image_name": "half"}}, 202).json()  # fmt: skip
        image_id = started["os-volume_upload_image"]["image_id"]
        time.sleep(0.5)
        seen = {v: env.demo.get(f"/volumes/{v}").json()["volume"]["status"] for v in creating}
        assert "creating" in seen.values()
        cloud.stop(signal.SIGKILL)
        (env.volumes_dir / ".delay").unlink()
        orphan = env.volumes_dir / f"volume-{uuid.uuid4()}"
        orphan.write_bytes(b"left behind")

        cloud.start(timeout=120)
        env = Env(cloud)
        for vid in creating:
            assert env.wait(vid, "available", "error")["status"] == "available"
        assert env.wait(grow["id"], "available")["size"] == 2
        env.wait(gone["id"], "deleted")
        env.wait(upload["id"], "available")
        images = env.cloud.osc("image", "list", cloud="tinystack-demo")
        assert image_id not in [i["ID"] for i in images]
        deadline = time.monotonic() + 10
        while orphan.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not orphan.exists()
        project = env.project_id()
        quota = env.demo.get(f"/os-quota-sets/{project}", params={"usage": "1"}).json()
        usage = quota["quota_set"]
        assert usage["volumes"]["in_use"] == 5 and usage["gigabytes"]["in_use"] == 6
        assert usage["gigabytes"]["reserved"] == 0
        held = sorted(p.name for p in env.volumes_dir.glob("volume-*"))
        assert held == sorted(f"volume-{v}" for v in [*creating, grow["id"], upload["id"]])
    finally:
        cloud.stop()
