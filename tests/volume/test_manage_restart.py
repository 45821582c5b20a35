"""kill -9 of the whole cloud while a volume is being managed and another unmanaged:
after the restart the managed one is available (its quota counted once), the unmanaged
one is gone with its data kept for a later manage, and no operation record is left.
Then a delete the backend refuses as busy leaves the volume available."""

from __future__ import annotations

import signal
import sqlite3
import time
from pathlib import Path

from tests.cloudproc import CloudProcess
from tests.volume.conftest import SERVICES, SPARSE_DRIVER, Env, volume_conf

CONF = volume_conf(volume_driver=SPARSE_DRIVER, api_settle_seconds=0)


def test_kill_during_manage_and_unmanage(tmp_path: Path) -> None:
    cloud = CloudProcess(tmp_path / "state", SERVICES, CONF)
    cloud.start(timeout=120)
    try:
        env = Env(cloud)
        first, second = (env.create(api=env.admin, name=n) for n in ("first", "second"))
        host = env.admin.get(f"/volumes/{first['id']}").json()["volume"]["os-vol-host-attr:host"]
        env.admin.post(f"/volumes/{first['id']}/action", {"os-unmanage": {}}, 202)
        env.wait(first["id"], "deleted", api=env.admin)
        kept = f"unmanaged-{first['id']}"
        listed = env.admin.get("/manageable_volumes", params={"host": host}).json()
        assert [e["reference"]["source-name"] for e in listed["manageable-volumes"]] == [kept]
        (env.volumes_dir / ".delay").write_text("3")
        body = {"volume": {"host": host, "ref": {"source-name": kept}, "name": "adopted"}}
        managed = env.admin.post("/manageable_volumes", body, 202).json()["volume"]
        env.admin.post(f"/volumes/{second['id']}/action", {"os-unmanage": {}}, 202)
        time.sleep(0.5)
        shown = env.admin.get(f"/volumes/{managed['id']}").json()["volume"]["status"]
        assert shown == "creating"  # managing, as upstream shows it
        assert env.admin.get(f"/volumes/{second['id']}").json()["volume"]["status"] == "unmanaging"
        cloud.stop(signal.SIGKILL)
        (env.volumes_dir / ".delay").unlink()

        cloud.start(timeout=120)
        env = Env(cloud)
        adopted = env.wait(managed["id"], "available", api=env.admin)
        assert adopted["name"] == "adopted" and adopted["size"] == 1
        env.wait(second["id"], "deleted", api=env.admin)
        assert (env.volumes_dir / f"unmanaged-{second['id']}").exists()
        assert (env.volumes_dir / f"volume-{managed['id']}").exists()
        project = env.project_id("tinystack-admin")
        usage = env.admin.get(f"/os-quota-sets/{project}", params={"usage": "1"}).json()
        assert usage["quota_set"]["volumes"]["in_use"] == 1
        assert usage["quota_set"]["gigabytes"]["in_use"] == 1
        with sqlite3.connect(cloud.state_dir / "volume.sqlite") as db:
            (left,) = db.execute("SELECT count(*) FROM workers").fetchone()
        assert left == 0

        # a backend that finds the volume busy on delete (still open): it stays
        # available, as upstream's VolumeIsBusy leaves it, and a later delete works
        (env.volumes_dir / ".busy").write_text("")
        env.admin.delete(f"/volumes/{managed['id']}", 202)
        env.wait(managed["id"], "available", api=env.admin)
        (env.volumes_dir / ".busy").unlink()
        env.admin.delete(f"/volumes/{managed['id']}", 202)
        env.wait(managed["id"], "deleted", api=env.admin)
    finally:
        cloud.stop()
