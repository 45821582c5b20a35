"""The ``file`` volume driver: sparse qcow2 (default) or raw files in a directory.

Layout of ``directory``: ``volume-<id>.<fmt>`` and ``snapshot-<id>.<fmt>`` (the format is
in the name and never probed from the contents: a guest could write a qcow2 header into
a raw volume), ``.tmp-*`` files being built (renamed into place when complete, so a
replay after a crash finds the work done or starts it again), ``.tinystack/`` the
export records. Any other regular file is a manageable volume. Nothing is zeroed: files
are created sparse and deleting a volume unlinks it.

A multiattach volume is always raw, whatever ``volume_format`` says: several QEMUs
write it at once, which qcow2's in-file metadata cannot allow. A qcow2 volume retyped
to a multiattach type is converted to raw (the API allows that only while it is not
attached).

Copy-on-write: a volume from an image is a qcow2 overlay whose backing file is the
image cache's verified file (a raw volume gets a full copy instead). A clone, a volume
from a snapshot and a snapshot copy what their source holds *above* that image
(``qemu-img convert -B``): the copy keeps the image as backing file but never the source
volume, so deleting the source never breaks it. ``backing_files()`` tells the image cache
which images live overlays use, so it never evicts one.

Snapshots are independent copies (``snapshot-<id>``), not internal qcow2 snapshots and
not external overlay chains: an internal snapshot cannot be taken or read while a QEMU
holds the file, and overlay chains would change the file an attached guest writes to,
which only that guest's QEMU can do (Nova's assisted snapshots). A copy can be taken at
any time and deleted without touching the volume. Consistency of a snapshot of an
in-use volume:

- exported over NBD by our daemon: the daemon's backup job copies a point-in-time
  image (writes during the copy are copied out first), i.e. *crash-consistent*, as a
  snapshot of a disk at power loss;
- opened directly by a QEMU on this host (``file`` attachment): the storage side cannot
  see that QEMU's consistent state; the file is read without the image lock while the
  guest may write, so the snapshot is at best crash-consistent and blocks written during
  the copy may be mixed — quiesce the guest (or detach) for a consistent snapshot, as
  upstream's ``force`` flag for in-use snapshots warns.

Extend: an unexported volume is grown by ``qemu-img resize``; an NBD-exported one by the
daemon's ``block_resize`` (its exports re-created so clients see the new size: QEMU's
NBD client opened with ``reconnect-delay`` reconnects, then the compute side's
``block_resize`` grows the guest's disk); an iSCSI-exported raw file is grown and its
LUN re-created so tgt reports the new capacity. A file
attached directly to a running local QEMU is locked by that QEMU: it is left alone
(``GuestMustResize``) and the compute side grows it with ``block_resize`` when it
receives ``volume-extended``, then answers with ``os-extend_volume_completion``
(``services/extend_completion.py``).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import tempfile
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import BinaryIO

from tinystack.volume.drivers import mapped_image, qemu_img
from tinystack.volume.drivers.base import (
    BackendStats,
    ConnectionInfo,
    Connector,
    ManageableVolume,
    PoolStats,
    SnapshotRef,
    VolumeDriver,
    VolumeRef,
)
from tinystack.volume.drivers.errors import (
    BackendError,
    GuestMustResize,
    ImageTooLarge,
    InvalidReference,
    VolumeBusy,
    VolumeNotFound,
)
from tinystack.volume.drivers.exports import Attachment, Exports
from tinystack.volume.drivers.qemu_img import FORMATS, GiB
from tinystack.volume.drivers.volume_io import open_qcow2, open_raw

LOG = logging.getLogger(__name__)
_UUID = r"[0-9a-fA-F-]{36}"
_MANAGED = re.compile(rf"^(volume|snapshot)-({_UUID})\.(qcow2|raw)$")
#: snapshot data no row claims (an unmanaged snapshot keeps its id in the name)
_UNMANAGED_SNAPSHOT = re.compile(r"^unmanaged-snapshot-([^/]+)\.(qcow2|raw)$")
#: what ``copy_volume_to_file`` writes for each image disk_format
_UPLOAD_FORMATS = {"raw": "raw", "qcow2": "qcow2", "vmdk": "vmdk", "vdi": "vdi",
                   "vhd": "vpc", "vhdx": "vhdx"}  # fmt: skip


def _default_run_dir(directory: Path) -> Path:
    """Where sockets and pidfiles live: short (unix socket paths are limited), per
    backend directory, and the same after a restart so the daemon is found again."""
    base = Path("/run") if os.access("/run", os.W_OK) else Path(tempfile.gettempdir())
    digest = hashlib.sha256(str(directory.resolve()).encode()).hexdigest()[:16]
    return base / "tinystack-volume" / digest


class FileDriver(VolumeDriver):
    """Volumes as files in ``directory`` (see the module docstring)."""

    VERSION = "1.0.0"

    def __init__(
        self,
        directory: Path,
        capacity_gb: int,
        backend_name: str,
        host_address: str,
        volume_format: str = "qcow2",
        *,
        host: str | None = None,
        nbd_port: int = 10809,
        nbd_bind: str | None = None,
        run_dir: Path | None = None,
        max_over_subscription_ratio: float = 20.0,
        reserved_percentage: int = 0,
        watch_interval: float | None = 2.0,
        remote_protocol: str = "nbd",
        iscsi_port: int = 3260,
        tgt_control_port: int | None = None,
    ) -> None:
        if remote_protocol not in ("nbd", "iscsi"):
            raise ValueError(f"remote_protocol must be nbd or iscsi, not {remote_protocol!r}")
        if volume_format not in FORMATS:
            raise ValueError(f"volume_format must be one of {FORMATS}, not {volume_format!r}")
        self.directory = directory
        self.capacity_gb = capacity_gb
        self.backend_name = backend_name
        self.host_address = host_address
        self.volume_format = volume_format
        #: the storage host's name: a connector from this host gets the file itself
        self.host = host or os.uname().nodename
        self.max_over_subscription_ratio = max_over_subscription_ratio
        self.reserved_percentage = reserved_percentage
        self.run_dir = run_dir or _default_run_dir(directory)
        #: how other hosts reach a raw volume (qcow2 volumes are always NBD exports)
        self.remote_protocol = remote_protocol
        self.exports_ = Exports(
            directory / ".tinystack",
            self.run_dir,
            host_address,
            nbd_port,
            bind_address=nbd_bind,
            watch_interval=watch_interval,
            iscsi_portal=(nbd_bind or host_address, iscsi_port)
            if remote_protocol == "iscsi"
            else None,
            tgt_control_port=tgt_control_port,
        )

    # -- life cycle ------------------------------------------------------------------------
    def do_setup(self) -> None:
        """Create the directory, drop half-built files of a crashed run, adopt or
        restart the export daemon and its exports."""
        self.directory.mkdir(parents=True, exist_ok=True)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.exports_.setup()  # first: it takes the backend's lock (one driver per dir)
        for leftover in self.directory.glob(".tmp-*"):
            LOG.info("removing half-built %s", leftover)
            leftover.unlink(missing_ok=True)

    def close(self, stop_daemon: bool = True) -> None:
        """Stop the export watchdog and daemon (guests' NBD clients wait for the next
        start, which re-creates every export)."""
        self.exports_.close(stop_daemon=stop_daemon)
        if stop_daemon:  # the daemons are gone: their logs and directories go too
            for sub in (self.run_dir / "nbd", self.run_dir / "tgt"):
                for log in sub.glob("*.log"):
                    log.unlink(missing_ok=True)
            for path in (self.run_dir / "nbd", self.run_dir / "tgt", self.run_dir):
                with contextlib.suppress(OSError):
                    path.rmdir()

    def reconcile(self, attachment_ids: set[str]) -> None:
        """Keep exactly these attachments' exports (call after a manager restart with
        the attachments the database holds; cheap enough to call periodically)."""
        self.exports_.reconcile(attachment_ids)

    # -- paths -----------------------------------------------------------------------------
    def _find(self, kind: str, obj_id: str) -> tuple[Path, str] | None:
        for fmt in FORMATS:
            path = self.directory / f"{kind}-{obj_id}.{fmt}"
            if path.exists():
                return path, fmt
        return None

    def _volume(self, volume_id: str) -> tuple[Path, str]:
        found = self._find("volume", volume_id)
        if found is None:
            raise VolumeNotFound(f"volume {volume_id} has no data on backend {self.backend_name}")
        return found

    def _snapshot(self, snapshot_id: str) -> tuple[Path, str]:
        found = self._find("snapshot", snapshot_id)
        if found is None:
            raise VolumeNotFound(f"snapshot {snapshot_id} has no data on {self.backend_name}")
        return found

    def _build(self, final: Path, make: Callable[[Path], None]) -> str:
        """Make ``final`` through a temporary file renamed into place; a replay that
        finds ``final`` is done. Returns the provider_location (the file name)."""
        match = _MANAGED.match(final.name)
        existing = self._find(match[1], match[2]) if match else None
        if existing is not None:  # done before (also in the other format)
            return existing[0].name
        if not final.exists():
            tmp = final.with_name(f".tmp-{final.name}")
            tmp.unlink(missing_ok=True)
            try:
                make(tmp)
                os.replace(tmp, final)
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise
        return final.name

    def _copy(self, src: Path, src_fmt: str, dest: Path, dest_fmt: str, size: int) -> None:
        """``src``'s contents into the new ``dest`` of ``size`` bytes, keeping a shared
        image as backing file (only what ``src`` holds above it is copied)."""
        shared = self._in_use(src)
        backing = qemu_img.backing_file(src) if src_fmt == "qcow2" else None
        if backing and dest_fmt == "qcow2":
            bfmt = qemu_img.info(src, src_fmt, force_share=True).backing_format or "raw"
            qemu_img.convert(
                src, src_fmt, dest, dest_fmt, backing=Path(backing), backing_fmt=bfmt,
                force_share=shared,
            )  # fmt: skip
        else:
            qemu_img.convert(src, src_fmt, dest, dest_fmt, force_share=shared)
        self._grow(dest, dest_fmt, size)

    @staticmethod
    def _grow(path: Path, fmt: str, size: int) -> None:
        if qemu_img.info(path, fmt).virtual_size < size:
            qemu_img.resize(path, fmt, size)

    def _in_use(self, path: Path) -> bool:
        """Is the file attached (another QEMU may hold its lock)?"""
        match = _MANAGED.match(path.name)
        return bool(match and match[1] == "volume" and self.exports_.attachments(match[2]))

    # -- volumes ---------------------------------------------------------------------------
    def format_of(self, volume: VolumeRef) -> str:
        """The format a new volume's file gets: raw for a multiattach volume (guests on
        several QEMUs write it at once, which qcow2's metadata does not allow), else the
        backend's ``volume_format``."""
        return "raw" if volume.multiattach else self.volume_format

    def create_volume(self, volume: VolumeRef) -> str | None:
        fmt = self.format_of(volume)
        final = self.directory / f"volume-{volume.id}.{fmt}"
        return self._build(final, lambda tmp: qemu_img.create(tmp, fmt, volume.size * GiB))

    def retype(self, volume: VolumeRef) -> str | None:
        """A qcow2 volume retyped to multiattach becomes raw (see the module docstring):
        a full copy renamed into place, then the qcow2 file goes. Until that unlink the
        qcow2 file is the one found first, so a replay after a crash converts again."""
        path, fmt = self._volume(volume.id)
        if not volume.multiattach or fmt == "raw":
            return None
        if self.exports_.attachments(volume.id):
            raise VolumeBusy(f"volume {volume.id} is attached")
        final = self.directory / f"volume-{volume.id}.raw"
        tmp = final.with_name(f".tmp-{final.name}")
        tmp.unlink(missing_ok=True)
        try:
            qemu_img.convert(path, fmt, tmp, "raw")
            os.replace(tmp, final)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        path.unlink()
        return final.name

    def create_volume_for_restore(self, volume: VolumeRef) -> str | None:
        """A qcow2 volume with its metadata preallocated: the backup service then writes
        the restored bytes straight into the file (``mapped_image.PreallocatedImageFile``)
        instead of through a storage daemon. The data area stays sparse."""
        fmt = self.format_of(volume)
        final = self.directory / f"volume-{volume.id}.{fmt}"
        size = volume.size * GiB

        def make(tmp: Path) -> None:
            qemu_img.create(tmp, fmt, size, preallocate_metadata=True)

        if fmt == "qcow2" and final.exists() and mapped_image.never_written(final):
            # created empty for this restore (``POST /backups/{id}/restore`` makes the
            # volume first, as upstream): laid out again before anything writes it
            tmp = final.with_name(f".tmp-{final.name}")
            try:
                make(tmp)
                os.replace(tmp, final)
            finally:
                tmp.unlink(missing_ok=True)
            return final.name
        return self._build(final, make)

    def create_volume_from_image(
        self, volume: VolumeRef, image: Path, image_format: str
    ) -> str | None:
        """A qcow2 overlay on the cached image (copy-on-write), or for a raw volume a
        full copy grown to the volume's size."""
        if image_format not in FORMATS:
            raise BackendError(f"cannot back a volume with a {image_format} image")
        image = image.resolve()
        size = volume.size * GiB
        virtual = qemu_img.info(image, image_format).virtual_size
        if virtual > size:
            raise ImageTooLarge(
                f"image virtual size {qemu_img.gib(virtual)} GiB is larger than the"
                f" volume's {volume.size} GiB"
            )
        fmt = self.format_of(volume)
        final = self.directory / f"volume-{volume.id}.{fmt}"

        def make(tmp: Path) -> None:
            if fmt == "qcow2":
                qemu_img.create(tmp, "qcow2", size, backing=image, backing_fmt=image_format)
            else:
                qemu_img.convert(image, image_format, tmp, "raw")
                self._grow(tmp, "raw", size)

        return self._build(final, make)

    def create_cloned_volume(self, volume: VolumeRef, source: VolumeRef) -> str | None:
        src, src_fmt = self._volume(source.id)
        fmt = self.format_of(volume)
        final = self.directory / f"volume-{volume.id}.{fmt}"
        return self._build(final, lambda tmp: self._copy(src, src_fmt, tmp, fmt, volume.size * GiB))

    def create_volume_from_snapshot(self, volume: VolumeRef, snapshot: SnapshotRef) -> str | None:
        src, src_fmt = self._snapshot(snapshot.id)
        fmt = self.format_of(volume)
        final = self.directory / f"volume-{volume.id}.{fmt}"
        return self._build(final, lambda tmp: self._copy(src, src_fmt, tmp, fmt, volume.size * GiB))

    def delete_volume(self, volume: VolumeRef) -> None:
        if self.exports_.attachments(volume.id):
            raise VolumeBusy(f"volume {volume.id} is attached")
        for fmt in FORMATS:
            name = f"volume-{volume.id}.{fmt}"
            (self.directory / f".tmp-{name}").unlink(missing_ok=True)
            (self.directory / name).unlink(missing_ok=True)

    def extend_volume(self, volume: VolumeRef, new_size: int) -> None:
        """Grow to ``new_size`` GiB (idempotent); see the module docstring for attached
        volumes."""
        path, fmt = self._volume(volume.id)
        size = new_size * GiB
        if self.exports_.exported_node(volume.id) is not None:
            self.exports_.resize(volume.id, size)
            return
        if qemu_img.info(path, fmt, force_share=True).virtual_size < size:
            try:
                qemu_img.resize(path, fmt, size)
            except BackendError as exc:
                local = [a for a in self.exports_.attachments(volume.id) if a.kind == "file"]
                if not local or "lock" not in str(exc):
                    raise
                raise GuestMustResize(
                    f"volume {volume.id} is held by a local QEMU; its block_resize grows it"
                ) from exc
        self.exports_.refresh_iscsi(volume.id)

    # -- snapshots -------------------------------------------------------------------------
    def create_snapshot(self, snapshot: SnapshotRef) -> str | None:
        """An independent copy of the volume, also of an in-use one (module docstring).
        A copy taken by the export daemon's backup job is always qcow2: the job writes
        zeros for the holes, which a fresh qcow2 records as metadata only, where a raw
        file would be allocated in full."""
        found = self._find("snapshot", snapshot.id)
        if found is not None:  # a replay
            return found[0].name
        src, fmt = self._volume(snapshot.volume_id)
        exported = self.exports_.exported_node(snapshot.volume_id) is not None
        final = self.directory / f"snapshot-{snapshot.id}.{'qcow2' if exported else fmt}"

        def make(tmp: Path) -> None:
            if not exported:
                self._copy(src, fmt, tmp, fmt, 0)
                return
            info = qemu_img.info(src, fmt, force_share=True)
            backing = Path(info.backing_file) if info.backing_file else None
            qemu_img.create(tmp, "qcow2", info.virtual_size, backing, info.backing_format)
            self.exports_.backup_to(snapshot.volume_id, tmp, "qcow2", "top")

        return self._build(final, make)

    def delete_snapshot(self, snapshot: SnapshotRef) -> None:
        for fmt in FORMATS:
            name = f"snapshot-{snapshot.id}.{fmt}"
            (self.directory / f".tmp-{name}").unlink(missing_ok=True)
            (self.directory / name).unlink(missing_ok=True)

    def revert_to_snapshot(self, volume: VolumeRef, snapshot: SnapshotRef) -> None:
        """Replace the volume's file by a copy of the snapshot (the volume must not be
        attached: a guest would see its disk change underneath)."""
        if self.exports_.attachments(volume.id):
            raise VolumeBusy(f"volume {volume.id} is attached; detach it to revert")
        path, fmt = self._volume(volume.id)
        src, src_fmt = self._snapshot(snapshot.id)
        tmp = path.with_name(f".tmp-revert-{path.name}")
        tmp.unlink(missing_ok=True)
        try:
            self._copy(src, src_fmt, tmp, fmt, volume.size * GiB)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)

    # -- attachments -----------------------------------------------------------------------
    def initialize_connection(
        self, volume: VolumeRef, connector: Connector, attachment_id: str
    ) -> ConnectionInfo:
        """The file itself for this host, an NBD export (named ``attachment_id``) for
        any other; idempotent for the same attachment id."""
        path, fmt = self._volume(volume.id)
        served = {a.kind for a in self.exports_.attachments(volume.id)} - {"file"}
        if connector.host == self.host and not served:
            kind = "file"
        elif self.remote_protocol == "iscsi" and fmt == "raw" and "nbd" not in served:
            kind = "iscsi"
        else:
            kind = "nbd"
        record = Attachment(attachment_id, volume.id, kind, str(path), fmt)
        return self.exports_.attach(record)

    def terminate_connection(self, volume: VolumeRef, attachment_id: str) -> None:
        self.exports_.detach(attachment_id)

    def initialize_snapshot_connection(
        self, snapshot: SnapshotRef, connector: Connector, attachment_id: str
    ) -> ConnectionInfo:
        """The snapshot file for this host, an NBD export for any other (backups of a
        snapshot, or of an in-use volume through a temporary snapshot)."""
        path, fmt = self._snapshot(snapshot.id)
        kind = "file" if connector.host == self.host else "nbd"
        record = Attachment(attachment_id, f"snapshot-{snapshot.id}", kind, str(path), fmt)
        return self.exports_.attach(record)

    def terminate_snapshot_connection(self, snapshot: SnapshotRef, attachment_id: str) -> None:
        self.exports_.detach(attachment_id)

    def exports(self) -> list[str]:
        return [a.attachment_id for a in self.exports_.attachments()]

    def volume_ids(self) -> list[str]:
        ids = []
        for entry in os.scandir(self.directory):
            match = _MANAGED.match(entry.name)
            if match and match[1] == "volume":
                ids.append(match[2])
        return sorted(ids)

    def snapshot_ids(self) -> list[str]:
        """The snapshot ids the backend holds data for (orphan cleanup)."""
        ids = []
        for entry in os.scandir(self.directory):
            match = _MANAGED.match(entry.name)
            if match and match[1] == "snapshot":
                ids.append(match[2])
        return sorted(ids)

    def backing_files(self) -> set[Path]:
        """Every file a volume or snapshot (also one being built) uses as backing file:
        the image cache must not evict these."""
        used = set()
        for entry in os.scandir(self.directory):
            if entry.name.endswith(".qcow2") and entry.is_file():
                backing = qemu_img.backing_file(Path(entry.path))
                if backing:
                    used.add(Path(backing).resolve())
        return used

    # -- data ------------------------------------------------------------------------------
    def copy_volume_to_file(self, volume: VolumeRef, dest: Path, disk_format: str) -> None:
        """A standalone image file (backing chain flattened) in ``disk_format``."""
        out_fmt = _UPLOAD_FORMATS.get(disk_format)
        if out_fmt is None:
            raise BackendError(f"cannot write a volume as {disk_format}")
        path, fmt = self._volume(volume.id)
        tmp = dest.with_name(f".tmp-{dest.name}")
        try:
            qemu_img.convert(path, fmt, tmp, out_fmt, force_share=self._in_use(path))
            os.replace(tmp, dest)
        finally:
            tmp.unlink(missing_ok=True)

    def open_volume(self, volume: VolumeRef, write: bool) -> AbstractContextManager[BinaryIO]:
        """The guest-visible bytes: a raw file directly, a qcow2 through a private NBD
        export. Writing an attached volume is refused; reading one is not (a backup of
        an in-use volume should read a snapshot instead for a consistent copy)."""
        path, fmt = self._volume(volume.id)
        attached = bool(self.exports_.attachments(volume.id))
        if write and attached:
            raise VolumeBusy(f"volume {volume.id} is attached; it cannot be written")
        if fmt == "raw":
            return open_raw(path, write)
        return open_qcow2(path, self.run_dir, write, shared=attached)

    def open_snapshot(self, snapshot: SnapshotRef) -> AbstractContextManager[BinaryIO]:
        """A snapshot's bytes, read-only (backups of in-use volumes read these)."""
        path, fmt = self._snapshot(snapshot.id)
        if fmt == "raw":
            return open_raw(path, False)
        return open_qcow2(path, self.run_dir, False, shared=False)

    # -- capacity --------------------------------------------------------------------------
    def get_volume_stats(self, allocated_gb: dict[str, int]) -> BackendStats:
        """Total is the configured capacity; free is what the files do not occupy yet,
        and never more than the filesystem has free."""
        used = 0
        for entry in os.scandir(self.directory):
            if entry.is_file(follow_symlinks=False):
                used += entry.stat(follow_symlinks=False).st_blocks * 512
        fs = os.statvfs(self.directory)
        fs_free = fs.f_bavail * fs.f_frsize
        free = max(0, min(self.capacity_gb * GiB - used, fs_free))
        pool = PoolStats.whole_backend(
            self.backend_name,
            float(self.capacity_gb),
            round(free / GiB, 2),
            allocated_gb,
            reserved_percentage=self.reserved_percentage,
            max_over_subscription_ratio=self.max_over_subscription_ratio,
        )
        return BackendStats(
            volume_backend_name=self.backend_name,
            vendor_name="tinystack",
            driver_version=self.VERSION,
            storage_protocol="NBD",
            pools=(pool,),
        )

    # -- manage / unmanage -----------------------------------------------------------------
    def get_manageable_volumes(self) -> list[ManageableVolume]:
        """Regular files in the directory that are not ours (volumes named
        ``volume-<id>`` are listed as already managed, as upstream does)."""
        found = []
        for entry in sorted(os.scandir(self.directory), key=lambda e: e.name):
            if entry.name.startswith(".") or not entry.is_file(follow_symlinks=False):
                continue
            match = _MANAGED.match(entry.name)
            if (match and match[1] == "snapshot") or _UNMANAGED_SNAPSHOT.match(entry.name):
                continue
            ref = {"source-name": entry.name}
            if match:
                found.append(self._listed(ref, entry, "Volume already managed.", match[2]))
                continue
            try:
                info = qemu_img.info(Path(entry.path))
            except BackendError as exc:
                found.append(self._listed(ref, entry, f"Unreadable: {exc}"))
                continue
            reason = self._unsafe_reason(info)
            found.append(
                ManageableVolume(ref, qemu_img.gib(info.virtual_size), reason is None, reason)
            )
        return found

    @staticmethod
    def _listed(
        ref: dict[str, str], entry: os.DirEntry[str], reason: str, cinder_id: str | None = None
    ) -> ManageableVolume:
        size = qemu_img.gib(entry.stat().st_size)
        return ManageableVolume(ref, size, False, reason, cinder_id)

    @staticmethod
    def _unsafe_reason(info: qemu_img.ImageInfo) -> str | None:
        if info.format not in FORMATS:
            return f"Unsupported format {info.format}."
        if info.backing_file or info.data_file:
            return "Image has a backing or data file."
        return None

    def manage_existing(
        self, volume: VolumeRef, reference: dict[str, str]
    ) -> tuple[int, str | None]:
        """Adopt the file ``reference["source-name"]``: checked (qcow2 or raw, no
        backing or data file), grown to whole GiB, renamed to ``volume-<id>``."""
        name = reference.get("source-name", "")
        path = self.directory / name
        if not name or "/" in name or name.startswith(".") or _MANAGED.match(name):
            raise InvalidReference(f"no manageable file named {name!r}")
        if not path.is_file() or path.is_symlink():
            found = self._find("volume", volume.id)
            if found is not None:  # a replay after the rename
                return qemu_img.gib(qemu_img.info(*found).virtual_size), found[0].name
            raise InvalidReference(f"no manageable file named {name!r}")
        info = qemu_img.info(path)
        reason = self._unsafe_reason(info)
        if reason is not None:
            raise InvalidReference(f"{name}: {reason}")
        size = qemu_img.gib(info.virtual_size)
        if info.virtual_size < size * GiB:
            qemu_img.resize(path, info.format, size * GiB)
        final = self.directory / f"volume-{volume.id}.{info.format}"
        os.replace(path, final)
        return size, final.name

    def unmanage(self, volume: VolumeRef) -> None:
        """Keep the data under ``unmanaged-<id>.<fmt>`` (a manageable file again)."""
        if self.exports_.attachments(volume.id):
            raise VolumeBusy(f"volume {volume.id} is attached")
        found = self._find("volume", volume.id)
        if found is not None:
            path, fmt = found
            os.replace(path, self.directory / f"unmanaged-{volume.id}.{fmt}")

    # -- manage / unmanage snapshots ---------------------------------------------------------
    def get_manageable_snapshots(self) -> list[ManageableVolume]:
        """Snapshot files: ``unmanaged-snapshot-*`` ones (safe when a valid image) and
        ``snapshot-<id>`` ones, listed as already managed."""
        found = []
        for entry in sorted(os.scandir(self.directory), key=lambda e: e.name):
            if not entry.is_file(follow_symlinks=False):
                continue
            match = _MANAGED.match(entry.name)
            ref = {"source-name": entry.name}
            if match and match[1] == "snapshot":
                found.append(self._listed(ref, entry, "Snapshot already managed.", match[2]))
                continue
            if not _UNMANAGED_SNAPSHOT.match(entry.name):
                continue
            try:
                info = qemu_img.info(Path(entry.path))
            except BackendError as exc:
                found.append(self._listed(ref, entry, f"Unreadable: {exc}"))
                continue
            reason = self._unsafe_reason(info)
            size = qemu_img.gib(info.virtual_size)
            found.append(ManageableVolume(ref, size, reason is None, reason))
        return found

    def manage_existing_snapshot(
        self, snapshot: SnapshotRef, reference: dict[str, str]
    ) -> tuple[int, str | None]:
        """Adopt ``unmanaged-snapshot-*`` file ``reference["source-name"]``: a qcow2 or
        raw image without backing or data file whose virtual size fits the volume,
        renamed to ``snapshot-<id>``."""
        name = reference.get("source-name", "")
        path = self.directory / name
        if not _UNMANAGED_SNAPSHOT.match(name) or not path.is_file() or path.is_symlink():
            found = self._find("snapshot", snapshot.id)
            if found is not None:  # a replay after the rename
                return qemu_img.gib(qemu_img.info(*found).virtual_size), found[0].name
            raise InvalidReference(f"no manageable snapshot file named {name!r}")
        info = qemu_img.info(path)
        reason = self._unsafe_reason(info)
        if reason is not None:
            raise InvalidReference(f"{name}: {reason}")
        size = qemu_img.gib(info.virtual_size)
        if info.virtual_size > snapshot.volume_size * GiB:
            raise InvalidReference(
                f"{name}: its size ({size} GiB) exceeds the volume's ({snapshot.volume_size} GiB)"
            )
        final = self.directory / f"snapshot-{snapshot.id}.{info.format}"
        os.replace(path, final)
        return size, final.name

    def unmanage_snapshot(self, snapshot: SnapshotRef) -> None:
        """Keep the data under ``unmanaged-snapshot-<id>.<fmt>`` (manageable again)."""
        if self.exports_.attachments(f"snapshot-{snapshot.id}"):
            raise VolumeBusy(f"snapshot {snapshot.id} is exported")
        found = self._find("snapshot", snapshot.id)
        if found is not None:
            path, fmt = found
            os.replace(path, self.directory / f"unmanaged-snapshot-{snapshot.id}.{fmt}")
