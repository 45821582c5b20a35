"""The storage layer without HTTP: object files, tombstones and timestamps, suffix
hashes, and the account and container databases (listings, tombstoned rows, metadata)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tinystack.common.exceptions import Conflict, NotFound
from tinystack.object_store.exception import UnprocessableEntity
from tinystack.object_store.storage import diskfile
from tinystack.object_store.storage.broker import Broker
from tinystack.object_store.storage.diskfile import DiskFile
from tinystack.object_store.storage.paths import normalize

HASH = "0123456789abcdef0123456789abcdef"


def put(disk: DiskFile, ts: float, body: bytes, etag: str | None = None) -> dict[str, str]:
    writer = disk.writer(normalize(ts), {"Content-Type": "text/plain"}, etag)
    writer.write([body])
    return writer.commit(len(body))


def test_objects_tombstones_and_timestamps(tmp_path: Path) -> None:
    disk = DiskFile(tmp_path, 7, HASH)
    stored = put(disk, 1, b"one")
    assert stored["ETag"] == "f97c5d29941bfb1b2fdab0874906ab82"
    state = disk.open()
    assert state.data is not None and state.data.read_bytes() == b"one"
    assert diskfile.read_meta(state.data)["Content-Length"] == "3"
    with pytest.raises(Conflict):
        put(disk, 1, b"same timestamp")
    with pytest.raises(UnprocessableEntity):
        put(disk, 2, b"two", etag="0" * 32)
    assert not list((tmp_path / "tmp").iterdir())  # the rejected upload left nothing
    put(disk, 3, b"three")
    disk.post(normalize(4), {"X-Object-Meta-A": "1"})
    state = disk.open()
    assert state.metadata["X-Object-Meta-A"] == "1" and state.metadata["ETag"]
    disk.delete(normalize(5), {})
    with pytest.raises(NotFound):
        disk.open()
    assert sorted(os.listdir(disk.dir)) == [f"{normalize(5)}.ts"]  # older files cleaned up
    with pytest.raises(Conflict):
        disk.delete(normalize(4), {})


def test_suffix_hashes_change_with_the_objects(tmp_path: Path) -> None:
    disk = DiskFile(tmp_path, 3, HASH)
    put(disk, 1, b"x")
    first = diskfile.suffix_hashes(tmp_path, 3)
    assert set(first) == {HASH[-3:]}
    assert diskfile.suffix_hashes(tmp_path, 3) == first  # cached
    disk.delete(normalize(2), {})
    assert diskfile.suffix_hashes(tmp_path, 3)[HASH[-3:]] != first[HASH[-3:]]
    assert diskfile.suffix_hashes(tmp_path, 4) == {}


def test_container_database(tmp_path: Path) -> None:
    broker = Broker(tmp_path / "c.db", "container")
    assert broker.initialize("AUTH_a", normalize(1), "c")
    for i, name in enumerate(["a/1", "a/2", "b", "c"]):
        broker.put_object(name, normalize(10 + i), 5, "text/plain", "e", False)
    broker.put_object("b", normalize(1), 9, "x", "e", False)  # older: ignored (bytes below)
    broker.put_object("c", normalize(20), 0, "", "", True)
    info = broker.live()
    assert (info.count, info.bytes_used) == (3, 15)
    names = [e.name for e in broker.listing(100)]
    assert names == ["a/1", "a/2", "b"]
    folded = broker.listing(100, delimiter="/")
    assert [(e.name, e.subdir) for e in folded] == [("a/", True), ("b", False)]
    assert [e.name for e in broker.listing(100, reverse=True)] == ["b", "a/2", "a/1"]
    assert [e.name for e in broker.listing(1, marker="a/1")] == ["a/2"]
    assert [e.name for e in broker.listing(100, end_marker="b", prefix="a")] == ["a/1", "a/2"]
    # the JSON the container server renders itself (no delimiter): Swift's fields
    rows = json.loads(broker.listing_json(100))
    assert rows[2] == {"hash": "e", "last_modified": "1970-01-01T00:00:12.000000",
                       "bytes": 5, "name": "b", "content_type": "text/plain"}  # fmt: skip
    assert [r["name"] for r in json.loads(broker.listing_json(100, reverse=True))] == [
        "b", "a/2", "a/1"]  # fmt: skip
    assert [r["name"] for r in json.loads(broker.listing_json(1, marker="a/1"))] == ["a/2"]
    assert json.loads(broker.listing_json(100, end_marker="b", prefix="a"))[1]["name"] == "a/2"
    broker.update_metadata({"X-Container-Meta-K": "v"}, normalize(30))
    broker.update_metadata({"X-Container-Meta-K": "old"}, normalize(29))
    assert broker.info().metadata["X-Container-Meta-K"][0] == "v"
    with pytest.raises(Conflict):
        broker.delete(normalize(40))
    for name in ["a/1", "a/2", "b"]:
        broker.put_object(name, normalize(50), 0, "", "", True)
    broker.delete(normalize(60))
    with pytest.raises(NotFound):
        broker.live()


def test_account_database(tmp_path: Path) -> None:
    broker = Broker(tmp_path / "a.db", "account")
    broker.initialize("AUTH_a", normalize(1))
    broker.put_container("c1", normalize(2), "0", 3, 30)
    broker.put_container("c2", normalize(3), "0", 1, 1)
    broker.put_container("c2", normalize(3), normalize(4), 0, 0)  # deleted
    info = broker.live()
    assert (info.items, info.count, info.bytes_used) == (1, 3, 30)
    assert [e.name for e in broker.listing(10)] == ["c1"]


def test_the_replicator_reclaims_old_tombstones_and_tmp_files(tmp_path: Path) -> None:
    from tinystack.object_store.storage import replicator

    disk = DiskFile(tmp_path, 3, HASH)
    put(disk, 1, b"x")
    disk.delete(normalize(2), {})
    fresh = DiskFile(tmp_path, 3, "f" * 32)
    fresh.delete(normalize(10 * 24 * 3600 - 60), {})
    (tmp_path / "tmp" / "left-over").write_bytes(b"partial")
    os.utime(tmp_path / "tmp" / "left-over", (0, 0))
    now = 10 * 24 * 3600.0
    replicator.reclaim(tmp_path / "objects" / "3", now)
    replicator.clean_tmp(tmp_path, now)
    assert not disk.dir.exists()  # a week-old tombstone is gone, with its directory
    assert fresh.dir.exists()  # a recent one stays
    assert not (tmp_path / "tmp" / "left-over").exists()


def test_an_update_a_kill_cut_off_is_completed_from_its_intent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Regression (chaos, kill -9 during object PUTs): an object stored just before the
    kill, its container update never sent, stayed out of its container's listing. The
    intents of a live process are completed once old; those of a killed one at once."""
    from tinystack.object_store.storage import intents, updates

    sent: list[tuple[str, str, dict[str, str]]] = []

    def send(host: str, method: str, path: str, headers: dict[str, str], timeout: float) -> bool:
        sent.append((method, path, headers))
        return True

    monkeypatch.setattr(updates, "send", send)
    disk = DiskFile(tmp_path, 7, HASH)
    update = updates.ContainerUpdate("h:1", "d1", "3", "PUT", "AUTH_a", "c", "o", {})
    fields = {f: getattr(update, f) for f in update.__slots__}
    stored_ts = normalize(5)
    intents.note_intent(tmp_path, fields, disk.dir / f"{stored_ts}.data", at=1)
    put(disk, 5, b"kept")  # the kill came after this rename, before the update
    intents.note_intent(tmp_path, fields, disk.dir / f"{normalize(6)}.data", at=1)  # never
    fresh = updates.note_intent(tmp_path, update, disk.dir / f"{normalize(7)}.data")
    assert updates.complete_intents(tmp_path) == 1
    [(method, target, headers)] = sent
    assert method == "PUT" and target == "/d1/3/AUTH_a/c/o"
    assert headers["X-Timestamp"] == stored_ts and headers["X-Size"] == "4"
    assert updates.complete_intents(tmp_path) == 0  # the young one waits for its write
    put(disk, 7, b"late")
    intents.drop_intent(fresh)  # its write sent the update itself
    assert updates.complete_intents(tmp_path, older_than=-1) == 0
    # another process killed between its rename and its update: its log is completed
    # and removed without waiting
    script = (
        "import json, os, signal, sys; from pathlib import Path;"
        "from tinystack.object_store.storage import intents;"
        "intents.note_intent(Path(sys.argv[1]), json.loads(sys.argv[2]), Path(sys.argv[3]));"
        "os.kill(os.getpid(), signal.SIGKILL)"
    )
    written = disk.dir / f"{normalize(7)}.data"
    subprocess.run([sys.executable, "-c", script, str(tmp_path), json.dumps(fields),
                    str(written)], timeout=60, check=False)  # fmt: skip
    logs = sorted((tmp_path / intents.INTENTS).glob("*.log"))
    assert len(logs) == 2
    assert updates.complete_intents(tmp_path) == 1
    assert sent[-1][2]["X-Size"] == "4" and len(sent) == 2
    assert len(list((tmp_path / intents.INTENTS).glob("*.log"))) == 1  # this process's
