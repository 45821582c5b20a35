"""kill -9 of the whole cloud while volumes are attached, half attached and half
detached: after the restart no volume is ``attaching`` or ``detaching``, every export
belongs to an attachment with a connection (and answers), no attachment claims an
export that is gone.

Some states a kill can leave last only microseconds (the export made, the database not
yet told; a delete begun on the API, not yet on the manager); they are made by editing
the stopped cloud's database, exactly as the kill would have left it."""

from __future__ import annotations

import json
import signal
import sqlite3
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from tests.cloudproc import CloudProcess
from tests.volume.attach_support import (
    attach_conf,
    connector,
    exported,
    kill_export_daemons,
    nbd_url,
    qemu_io,
)
from tests.volume.conftest import SERVICES, Api, Env


def _attach(api: Api, volume_id: str, *, conn: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"volume_uuid": volume_id, "instance_uuid": str(uuid.uuid4())}
    if conn is not None:
        body["connector"] = conn
    return dict(api.post("/attachments", {"attachment": body}, 200).json()["attachment"])


def _sql(state: Path, statement: str, *args: str) -> None:
    db = sqlite3.connect(state / "volume.sqlite")
    try:
        db.execute(statement, args)
        db.commit()
    finally:
        db.close()


def _churn(api: Api, volume_id: str, stop: threading.Event) -> None:
    """Attach over NBD and detach again until the cloud dies."""
    while not stop.is_set():
        try:
            att = _attach(api, volume_id, conn=connector(f"churn-{uuid.uuid4().hex[:4]}"))
            api.post(f"/attachments/{att['id']}/action", {"os-complete": None}, 204)
            api.delete(f"/attachments/{att['id']}", 200)
        except Exception:
            return


def test_kill_during_attaches_settles_every_volume(tmp_path: Path) -> None:
    state = tmp_path / "state"
    cloud = CloudProcess(state, SERVICES, attach_conf(api_settle_seconds=0))
    cloud.start(timeout=120)
    volumes_dir = state / "volumes"
    try:
        env = Env(cloud)
        api = env.demo.at("3.54")
        vols = {name: env.create(name=name)["id"] for name in (
            "reserved", "exported", "attached", "legacy", "detaching", "window", "deleting",
            "churn1", "churn2")}  # fmt: skip
        _attach(api, vols["reserved"])
        exported_att = _attach(api, vols["exported"], conn=connector())
        attached = _attach(api, vols["attached"], conn=connector("host-2"))
        api.post(f"/attachments/{attached['id']}/action", {"os-complete": None}, 204)
        qemu_io(nbd_url(attached["connection_info"]), "write -P 0x77 0 64k")
        env.demo.post(f"/volumes/{vols['legacy']}/action", {"os-reserve": {}}, 202)
        leaving = _attach(api, vols["detaching"], conn=connector("host-3"))
        api.post(f"/attachments/{leaving['id']}/action", {"os-complete": None}, 204)
        env.demo.post(f"/volumes/{vols['detaching']}/action", {"os-begin_detaching": {}}, 202)
        window = _attach(api, vols["window"], conn=connector("host-4"))
        deleting = _attach(api, vols["deleting"], conn=connector("host-5"))
        api.post(f"/attachments/{deleting['id']}/action", {"os-complete": None}, 204)

        stop = threading.Event()
        churners = [
            threading.Thread(target=_churn, args=(api, vols[n], stop), daemon=True)
            for n in ("churn1", "churn2")
        ]
        for t in churners:
            t.start()
        time.sleep(1.5)
        cloud.stop(signal.SIGKILL)
        stop.set()
        for t in churners:
            t.join(timeout=30)

        # the export made, the kill before the database heard of it
        _sql(state, "UPDATE volume_attachment SET attach_status='reserved', connection_info=NULL,"
             " connector=NULL WHERE id=?", window["id"])  # fmt: skip
        _sql(state, "UPDATE volumes SET status='reserved', attach_status='detached' WHERE id=?",
             vols["window"])  # fmt: skip
        # a delete the API began and the manager never ran
        _sql(state, "UPDATE volume_attachment SET attach_status='detaching' WHERE id=?",
             deleting["id"])  # fmt: skip

        cloud.start(timeout=120)
        env = Env(cloud)
        api = env.demo.at("3.54")
        expected = {
            "reserved": "reserved",
            "exported": "in-use",
            "attached": "in-use",
            "legacy": "available",
            "detaching": "in-use",
            "window": "reserved",
            "deleting": "available",
        }
        deadline = time.monotonic() + 30
        while True:
            seen = {n: env.demo.get(f"/volumes/{v}").json()["volume"]["status"]
                    for n, v in vols.items()}  # fmt: skip
            settled = all(seen[n] == want for n, want in expected.items()) and all(
                seen[n] in ("available", "in-use", "reserved") for n in ("churn1", "churn2")
            )
            if settled:
                break
            assert time.monotonic() < deadline, f"not settled after the restart: {seen}"
            time.sleep(0.2)

        # exports: exactly the attachments with a connection, and they answer
        listed = api.get("/attachments/detail").json()["attachments"]
        assert not [a for a in listed if a["status"] in ("attaching", "detaching")]
        claimed = {a["id"] for a in listed if a["connection_info"]}
        records = json.loads((volumes_dir / ".tinystack" / "exports.json").read_text())
        assert set(records) == claimed
        for att in listed:
            if att["connection_info"].get("driver_volume_type") == "nbd":
                assert exported(nbd_url(att["connection_info"])), att
        assert "read 65536/65536" in qemu_io(nbd_url(attached["connection_info"]),
                                             "read -P 0x77 0 64k")  # fmt: skip
        assert not exported(nbd_url(window["connection_info"]))
        assert not exported(nbd_url(deleting["connection_info"]))
        assert exported_att["id"] in claimed
        assert api.get(f"/attachments/{exported_att['id']}").json()["attachment"]["status"] == (
            "attached"
        )

        # and everything can be detached and deleted
        for att in listed:
            api.delete(f"/attachments/{att['id']}", 200)
        for vid in vols.values():
            env.wait(vid, "available")
            env.demo.delete(f"/volumes/{vid}", 202)
        assert json.loads((volumes_dir / ".tinystack" / "exports.json").read_text()) == {}
    finally:
        cloud.stop()
        kill_export_daemons(volumes_dir)
