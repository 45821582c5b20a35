"""Attachments of the file driver: local files, and NBD exports for other hosts.

A compute host that *is* the storage host opens the volume file itself
(``driver_volume_type: file``). Any other host gets an NBD export from the backend's
``qemu-storage-daemon`` (``driver_volume_type: nbd``), served with the guest-visible raw
bytes, so the compute side opens it with QEMU's own NBD client (no kernel module).

One daemon per backend, not per attachment: a qcow2 file can be open for writing in only
one QEMU process (its metadata is not shareable), so the two attachments of a
multiattach volume must be two exports of the same block node in the same daemon. One
daemon also means one NBD port and one process to supervise. Each attachment is one
export named by the attachment id, removed on ``terminate_connection``.

What is exported is recorded in ``exports.json`` (written atomically, the record first,
then the export), and the daemon is ours by pidfile. On start the driver adopts a
running daemon (guests keep their disks through a manager restart); a dead daemon is
restarted and every recorded export re-created the same way (same names, same port),
so QEMU clients with ``reconnect-delay`` reattach. ``reconcile`` drops records the
manager no longer knows. A watchdog thread restarts a daemon that died.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import secrets
import threading
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from tinystack.common.qmp import QMP
from tinystack.volume.drivers.base import ConnectionInfo
from tinystack.volume.drivers.errors import BackendError, VolumeBusy
from tinystack.volume.drivers.iscsi import IQN_PREFIX, TgtDaemon
from tinystack.volume.drivers.storage_daemon import StorageDaemon

LOG = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Attachment:
    """One recorded attachment (a row of ``exports.json``)."""

    attachment_id: str
    volume_id: str
    kind: str  # "file", "nbd" or "iscsi"
    path: str
    format: str
    #: iSCSI only: the target's tid and IQN, its CHAP account
    tid: int = 0
    target_iqn: str = ""
    auth_username: str = ""
    auth_password: str = ""


def node_name(volume_id: str) -> str:
    """The daemon's block node for a volume (QEMU node names are at most 31 chars)."""
    return "v" + hashlib.sha256(volume_id.encode()).hexdigest()[:24]


def export_id(attachment_id: str) -> str:
    return "a" + hashlib.sha256(attachment_id.encode()).hexdigest()[:24]


class Exports:
    """The attachments of one backend and its export daemon. ``state_dir`` keeps the
    records (beside the volumes), ``run_dir`` the daemon's sockets and pidfile."""

    def __init__(
        self,
        state_dir: Path,
        run_dir: Path,
        host_address: str,
        nbd_port: int,
        bind_address: str | None = None,
        watch_interval: float | None = 2.0,
        iscsi_portal: tuple[str, int] | None = None,
        tgt_control_port: int | None = None,
    ) -> None:
        self.state_dir = state_dir
        self.host_address = host_address
        self.nbd_port = nbd_port
        self.daemon = StorageDaemon(run_dir / "nbd", (bind_address or host_address, nbd_port))
        self.iscsi_portal = iscsi_portal
        self.tgt = (
            TgtDaemon(run_dir / "tgt", iscsi_portal, tgt_control_port or iscsi_portal[1] + 1)
            if iscsi_portal is not None
            else None
        )
        self._state = state_dir / "exports.json"
        self._lock = threading.RLock()
        self._records: dict[str, Attachment] = {}
        self._lockfile: int | None = None
        self._watch_interval = watch_interval
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None
        #: a daemon ran (or was adopted) before: a start now means it had died
        self._daemon_seen = False
        self._tgt_seen = False

    # -- life cycle ------------------------------------------------------------------------
    def setup(self) -> None:
        """Take the backend's lock, load the records, adopt or restart the daemon."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.state_dir / "lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            os.close(fd)
            raise BackendError(f"another driver manages {self.state_dir}") from exc
        self._lockfile = fd
        with self._lock:
            self._records = self._load()
            self.ensure()
        if self._watch_interval and self._watcher is None:
            self._stop.clear()
            self._watcher = threading.Thread(target=self._watch, name="volume-exports", daemon=True)
            self._watcher.start()

    def close(self, stop_daemon: bool = True) -> None:
        """Stop the watchdog and (by default) the daemon; the records stay, so the next
        start re-creates every export."""
        self._stop.set()
        if self._watcher is not None:
            self._watcher.join()
            self._watcher = None
        if stop_daemon:
            self.daemon.stop()
            if self.tgt is not None:
                self.tgt.stop()
        if self._lockfile is not None:
            os.close(self._lockfile)
            self._lockfile = None

    def _watch(self) -> None:
        assert self._watch_interval
        while not self._stop.wait(self._watch_interval):
            try:
                with self._lock:
                    self.ensure()
            except Exception:  # the next round tries again; a log says why
                LOG.exception("volume export daemon check failed")

    # -- records ---------------------------------------------------------------------------
    def _load(self) -> dict[str, Attachment]:
        try:
            data = json.loads(self._state.read_text())
        except FileNotFoundError:
            return {}
        return {key: Attachment(**value) for key, value in data.items()}

    def _save(self) -> None:
        tmp = self._state.with_suffix(".tmp")
        with open(tmp, "w") as f:
            json.dump({k: asdict(v) for k, v in self._records.items()}, f, indent=1)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self._state)

    def attachments(self, volume_id: str | None = None) -> list[Attachment]:
        with self._lock:
            return [a for a in self._records.values() if volume_id in (None, a.volume_id)]

    def exported_node(self, volume_id: str) -> str | None:
        """The daemon node serving the volume when an NBD export of it exists."""
        if any(a.kind == "nbd" for a in self.attachments(volume_id)):
            return node_name(volume_id)
        return None

    # -- attach / detach -------------------------------------------------------------------
    def attach(self, attachment: Attachment) -> ConnectionInfo:
        """Record and create the attachment (idempotent for the same attachment id)."""
        with self._lock:
            known = self._records.get(attachment.attachment_id)
            if known is not None and known.volume_id != attachment.volume_id:
                raise BackendError(f"attachment {attachment.attachment_id} is another volume's")
            if known is None:
                self._check_sharing(attachment)
                if attachment.kind == "iscsi":
                    attachment = self._with_target(attachment)
                self._records[attachment.attachment_id] = attachment
                self._save()
            current = self._records[attachment.attachment_id]
            if current.kind == "nbd":
                self.ensure()
                with self.daemon.session() as qmp:
                    self._add_export(qmp, current)
            elif current.kind == "iscsi":
                self.ensure()
            return self.connection_info(current)

    def _with_target(self, record: Attachment) -> Attachment:
        """The record with a free tid, its IQN and fresh CHAP credentials."""
        if self.tgt is None:
            raise BackendError("this backend has no iSCSI portal configured")
        used = {a.tid for a in self._records.values() if a.kind == "iscsi"}
        tid = next(t for t in range(1, len(used) + 2) if t not in used)
        iqn = f"{IQN_PREFIX}volume-{record.volume_id}.{record.attachment_id}".lower()
        user = "u" + secrets.token_hex(8)
        return replace(
            record, tid=tid, target_iqn=iqn, auth_username=user,
            auth_password=secrets.token_hex(12),
        )  # fmt: skip

    def _check_sharing(self, new: Attachment) -> None:
        """Only one process may write a qcow2 file: a direct file attachment cannot be
        shared with another attachment (raw files can, QEMU's share-rw allows it)."""
        others = self.attachments(new.volume_id)
        kinds = {a.kind for a in others} | {new.kind}
        if not others or (new.format == "raw" and kinds == {"file"}):
            return
        if "file" in kinds:
            raise VolumeBusy(
                f"volume {new.volume_id} is opened directly by a QEMU on the storage host;"
                " it cannot also be attached elsewhere until that attachment is removed"
            )

    def detach(self, attachment_id: str) -> None:
        """Remove the attachment's export and record; unknown ids are fine."""
        with self._lock:
            record = self._records.get(attachment_id)
            if record is None:
                return
            if record.kind == "iscsi" and self.tgt is not None and self.tgt.pid() is not None:
                self.tgt.del_target(record.tid, record.auth_username)
                del self._records[attachment_id]
            elif record.kind == "nbd" and self.daemon.pid() is not None:
                with self.daemon.session() as qmp:
                    self._del_export(qmp, attachment_id)
                    del self._records[attachment_id]
                    if self.exported_node(record.volume_id) is None:
                        self._del_node(qmp, record.volume_id)
            else:
                del self._records[attachment_id]
            self._save()

    def connection_info(self, record: Attachment) -> ConnectionInfo:
        if record.kind == "file":
            data: dict[str, Any] = {
                "device_path": record.path,
                "path": record.path,
                "format": record.format,
                "name": os.path.basename(record.path),
            }
            return ConnectionInfo("file", data)
        if record.kind == "iscsi":
            assert self.iscsi_portal is not None
            host, port = self.iscsi_portal
            data = {
                "target_discovered": False,
                "target_portal": f"{self.host_address}:{port}",
                "target_iqn": record.target_iqn,
                "target_lun": 1,
                "volume_id": record.volume_id,
                "auth_method": "CHAP",
                "auth_username": record.auth_username,
                "auth_password": record.auth_password,
                "encrypted": False,
                "discard": True,
            }
            return ConnectionInfo("iscsi", data)
        data = {
            "host": self.host_address,
            "port": self.nbd_port,
            "export_name": record.attachment_id,
            "format": "raw",
        }
        return ConnectionInfo("nbd", data)

    def reconcile(self, wanted: set[str]) -> None:
        """Keep exactly the attachments in ``wanted`` (the manager's attachments after a
        restart); make sure the daemon runs and serves them."""
        with self._lock:
            for attachment_id in [a for a in self._records if a not in wanted]:
                LOG.info("removing export of unknown attachment %s", attachment_id)
                self.detach(attachment_id)
            self.ensure()

    # -- the daemon --------------------------------------------------------------------------
    def ensure(self) -> None:
        """The daemons run when attachments of their kind are recorded, and serve every
        one of them."""
        with self._lock:
            self._ensure_tgt()
            nbd = [a for a in self._records.values() if a.kind == "nbd"]
            if not nbd:
                return
            was_running = self._daemon_seen
            self._daemon_seen = True
            restarted = self.daemon.start()
            with self.daemon.session() as qmp:
                nodes = {n["node-name"] for n in qmp.command("query-named-block-nodes")}
                exports = {e["id"] for e in qmp.command("query-block-exports")}
                for record in nbd:
                    if node_name(record.volume_id) not in nodes:
                        self._add_node(qmp, record)
                        nodes.add(node_name(record.volume_id))
                    if export_id(record.attachment_id) not in exports:
                        self._add_export(qmp, record)
            if restarted and was_running:
                LOG.warning("volume export daemon (re)started with %d export(s)", len(nbd))

    def _ensure_tgt(self) -> None:
        targets = [a for a in self._records.values() if a.kind == "iscsi"]
        if not targets or self.tgt is None:
            return
        if self.tgt.start() and self._tgt_seen:
            LOG.warning("tgtd (re)started with %d target(s)", len(targets))
        self._tgt_seen = True
        for record in targets:
            self.tgt.add_target(
                record.tid, record.target_iqn, record.path, record.auth_username,
                record.auth_password,
            )  # fmt: skip

    def _add_node(self, qmp: QMP, record: Attachment) -> None:
        qmp.command(
            "blockdev-add",
            {
                "driver": record.format,
                "node-name": node_name(record.volume_id),
                "discard": "unmap",
                "detect-zeroes": "unmap",
                "file": {"driver": "file", "filename": record.path, "aio": "threads"},
            },
        )

    def _add_export(self, qmp: QMP, record: Attachment) -> None:
        node = node_name(record.volume_id)
        if node not in {n["node-name"] for n in qmp.command("query-named-block-nodes")}:
            self._add_node(qmp, record)
        if export_id(record.attachment_id) in {e["id"] for e in qmp.command("query-block-exports")}:
            return
        qmp.command(
            "block-export-add",
            {
                "type": "nbd",
                "id": export_id(record.attachment_id),
                "node-name": node,
                "name": record.attachment_id,
                "writable": True,
                "allocation-depth": True,
            },
        )

    def _del_export(self, qmp: QMP, attachment_id: str) -> None:
        eid = export_id(attachment_id)
        if eid not in {e["id"] for e in qmp.command("query-block-exports")}:
            return
        qmp.command("block-export-del", {"id": eid, "mode": "hard"})
        if qmp.wait_event("BLOCK_EXPORT_DELETED", 30, data={"id": eid}) is None:
            raise BackendError(f"export {eid} was not deleted in 30 s")

    def _del_node(self, qmp: QMP, volume_id: str) -> None:
        node = node_name(volume_id)
        if node in {n["node-name"] for n in qmp.command("query-named-block-nodes")}:
            qmp.command("blockdev-del", {"node-name": node})

    # -- operations on an exported volume ----------------------------------------------------
    def resize(self, volume_id: str, size: int) -> None:
        """Grow an exported volume. An NBD export cannot change size under its clients,
        so its exports are removed, the node grown with ``block_resize`` and the exports
        added again; clients reconnect and see the new size."""
        with self._lock:
            records = [a for a in self.attachments(volume_id) if a.kind == "nbd"]
            self.ensure()
            with self.daemon.session() as qmp:
                for record in records:
                    self._del_export(qmp, record.attachment_id)
                try:
                    qmp.command("block_resize", {"node-name": node_name(volume_id), "size": size})
                finally:
                    for record in records:
                        self._add_export(qmp, record)

    def refresh_iscsi(self, volume_id: str) -> None:
        """After the volume's file grew: its iSCSI LUNs report the new size."""
        with self._lock:
            records = [a for a in self.attachments(volume_id) if a.kind == "iscsi"]
            if records and self.tgt is not None:
                self._ensure_tgt()
                for record in records:
                    self.tgt.refresh_lun(record.tid, record.path)

    def backup_to(self, volume_id: str, target: Path, fmt: str, sync: str) -> None:
        """A point-in-time copy of an exported volume into the existing image ``target``
        by the daemon's backup job: writes the guest makes meanwhile are copied out
        first (copy-before-write), so the copy is crash-consistent. The backend's lock
        is not held meanwhile: other volumes attach and detach during a long copy."""
        job = "b" + hashlib.sha256(str(target).encode()).hexdigest()[:24]
        tnode = "t" + job[1:]
        self.daemon.command(
            "blockdev-add",
            {
                "driver": fmt,
                "node-name": tnode,
                "discard": "unmap",
                "detect-zeroes": "unmap",
                "file": {"driver": "file", "filename": str(target)},
            },
        )
        try:
            args = {"job-id": job, "device": node_name(volume_id), "target": tnode}
            self.daemon.run_job("blockdev-backup", {**args, "sync": sync}, 3600)
        finally:
            with contextlib.suppress(BackendError):
                self.daemon.command("blockdev-del", {"node-name": tnode})
