"""Volumes in QEMU guests: a connection info as block nodes, hot-plug over QMP, and the
same nodes on the command line of every later start.

A volume is a chain of nodes under one ``virtio-blk-pci`` device whose serial is the
volume id's first 20 characters (the guest's ``/dev/disk/by-id/virtio-<serial>``, as
Nova's), bottom up:

- the protocol node (``vp-<key>``) by ``driver_volume_type``: ``file``/``local`` a file
  (``data.device_path``), ``nbd`` QEMU's own NBD client (``data.host``/``port``/``export``
  or the libvirt-style ``hosts``/``ports``/``name``, or a unix socket ``path``), ``iscsi``
  QEMU's iSCSI client (``target_portal``, ``target_iqn``, ``target_lun``, CHAP), ``rbd``
  QEMU's rbd driver (``name`` pool/image, ``hosts``/``ports``, cephx user; the key from the
  host's keyring for the ``secret_uuid``, as Nova's libvirt secret, or ``key``);
- the format node (``vf-<key>``): ``data.format`` (raw unless the volume says qcow2);
- with front-end QoS (``data.qos_specs``: total/read/write bytes and iops per second,
  their ``_max`` bursts and ``_max_length``, ``size_iops_sec``) a ``throttle`` node
  (``vt-<key>``) in its own ``throttle-group`` object (``tg-<key>``).

A multiattach volume (``multiattach`` in the connection info) is a device with
``share-rw``, so another guest's QEMU may open and write the same volume: only a raw one,
since qcow2 keeps metadata in the file that QEMU never lets two writers share.

Secrets (CHAP passwords, cephx keys) go to ``<instance>/volume-<key>.secret`` (0600) and
reach QEMU as ``secret`` objects reading that file, never on the command line.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from tinystack.common.qmp import QMP, QMPError
from tinystack.compute.virt.driver import DriverError, DriverNotSupported
from tinystack.compute.virt.qemu.settings import QMP_TIMEOUT

LOG = logging.getLogger(__name__)

#: Cinder's front-end QoS keys -> QEMU throttle-group limits
QOS_LIMITS = {
    "total_bytes_sec": "bps-total",
    "read_bytes_sec": "bps-read",
    "write_bytes_sec": "bps-write",
    "total_iops_sec": "iops-total",
    "read_iops_sec": "iops-read",
    "write_iops_sec": "iops-write",
    "total_bytes_sec_max": "bps-total-max",
    "read_bytes_sec_max": "bps-read-max",
    "write_bytes_sec_max": "bps-write-max",
    "total_iops_sec_max": "iops-total-max",
    "read_iops_sec_max": "iops-read-max",
    "write_iops_sec_max": "iops-write-max",
    "total_bytes_sec_max_length": "bps-total-max-length",
    "read_bytes_sec_max_length": "bps-read-max-length",
    "write_bytes_sec_max_length": "bps-write-max-length",
    "total_iops_sec_max_length": "iops-total-max-length",
    "read_iops_sec_max_length": "iops-read-max-length",
    "write_iops_sec_max_length": "iops-write-max-length",
    "size_iops_sec": "iops-size",
}
FORMATS = ("raw", "qcow2")
#: seconds QEMU's NBD client keeps retrying (requests wait) before it fails I/O
NBD_RECONNECT = 30


class VolumeNotAttached(DriverError):
    """The instance has no such volume."""


SERIAL_LENGTH = 20


def key_of(volume_id: str) -> str:
    """A node-name-safe short form of a volume id (node names hold 31 characters)."""
    cleaned = re.sub(r"[^A-Za-z0-9_.-]", "", volume_id)[:SERIAL_LENGTH]
    if not cleaned:
        raise DriverError(f"volume id {volume_id!r} cannot name a node")
    return cleaned


@dataclass
class VolumeDisk:
    """One attached volume as the instance's definition keeps it."""

    serial: str
    mountpoint: str
    connection_info: dict[str, Any]
    #: the guest boots from it (the root disk of a volume-backed server)
    boot: bool = False
    #: names the device, the throttle node and group (kept across a swap)
    key: str = ""
    #: names the protocol and format nodes (a swap brings new ones)
    data_key: str = ""
    #: iSCSI initiator name this host connects as
    initiator: str | None = None
    #: bumped when the protocol node is replaced (an NBD volume grown online)
    generation: int = 0
    #: the keyring file holding the cephx key of an rbd volume's ``secret_uuid`` (this
    #: host's ``[compute] rbd_keyring``): the definition keeps the path, not the key
    keyring: str = ""

    def __post_init__(self) -> None:
        self.key = self.key or key_of(self.serial)
        self.data_key = self.data_key or self.key

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> VolumeDisk:
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    # -- names ---------------------------------------------------------------------------------
    @property
    def device_id(self) -> str:
        return f"vol-{self.key}"

    @property
    def protocol_node(self) -> str:
        suffix = f".{self.generation}" if self.generation else ""
        return f"vp-{self.data_key}{suffix}"

    @property
    def format_node(self) -> str:
        return f"vf-{self.data_key}"

    @property
    def throttle_node(self) -> str:
        return f"vt-{self.key}"

    @property
    def throttle_group(self) -> str:
        return f"tg-{self.key}"

    @property
    def secret_id(self) -> str:
        return f"vs-{self.data_key}"

    @property
    def kind(self) -> str:
        return str(self.connection_info.get("driver_volume_type") or "")

    @property
    def data(self) -> dict[str, Any]:
        found = self.connection_info.get("data")
        return dict(found) if isinstance(found, dict) else {}

    @property
    def limits(self) -> dict[str, int]:
        specs = self.data.get("qos_specs")
        if not isinstance(specs, dict):
            return {}
        found = {}
        for name, limit in QOS_LIMITS.items():
            value = specs.get(name)
            if value in (None, "", 0, "0"):
                continue
            try:
                found[limit] = int(float(value))
            except (TypeError, ValueError):
                raise DriverError(f"QoS spec {name}={value!r} is not a number") from None
        return found

    @property
    def top_node(self) -> str:
        """The node the guest's device reads through."""
        return self.throttle_node if self.limits else self.format_node

    @property
    def shared(self) -> bool:
        """A multiattach volume: other guests may write it at the same time."""
        return bool(self.connection_info.get("multiattach"))

    @property
    def read_only(self) -> bool:
        return self.data.get("access_mode") == "ro"

    def secret_file(self, directory: Path) -> Path:
        return directory / f"volume-{self.data_key}.secret"


def _first(values: Any) -> Any:
    if isinstance(values, list | tuple):
        return values[0] if values else None
    return values


def secret(disk: VolumeDisk) -> str | None:
    """The password or key the connection needs, if any."""
    data = disk.data
    if disk.kind == "iscsi" and str(data.get("auth_method", "")).upper() == "CHAP":
        return str(data.get("auth_password") or "")
    if disk.kind == "rbd" and data.get("auth_enabled"):
        key = data.get("key")
        if not key and disk.keyring:
            key = keyring_key(Path(disk.keyring), str(data.get("auth_username") or ""))
        if not key:
            raise DriverNotSupported(
                f"volume {disk.serial}: rbd with cephx needs the key in the connection info"
            )
        return str(key)
    return None


def keyring_key(path: Path, user: str) -> str | None:
    """The key of ``client.<user>`` in a Ceph keyring file (the only one when the file
    names no such user)."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise DriverError(f"cannot read the keyring {path}: {exc.strerror}") from None
    keys: dict[str, str] = {}
    section = ""
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip()
        elif "=" in line and line.split("=", 1)[0].strip() == "key":
            keys[section] = line.split("=", 1)[1].strip()
    if f"client.{user}" in keys:
        return keys[f"client.{user}"]
    return next(iter(keys.values())) if len(keys) == 1 else None


def _protocol(disk: VolumeDisk) -> dict[str, Any]:
    data, kind = disk.data, disk.kind
    node: dict[str, Any] = {"node-name": disk.protocol_node}
    if kind in ("file", "local"):
        path = data.get("device_path") or data.get("path")
        if not path:
            raise DriverError(f"volume {disk.serial}: a {kind} connection without a device_path")
        node.update(driver="file", filename=str(path))
    elif kind == "nbd":
        # a restart of the exporter within the delay goes unnoticed by the guest
        node.update(driver="nbd", server=_nbd_server(disk), **{"reconnect-delay": NBD_RECONNECT})
        export = data.get("export_name") or data.get("export") or data.get("name")
        if export:
            node["export"] = str(export)
    elif kind == "iscsi":
        portal = data.get("target_portal") or _first(data.get("target_portals"))
        iqn = data.get("target_iqn") or _first(data.get("target_iqns"))
        lun = data.get("target_lun", _first(data.get("target_luns")))
        if not portal or not iqn:
            raise DriverError(f"volume {disk.serial}: an iscsi connection without portal/iqn")
        node.update(driver="iscsi", transport="tcp", portal=str(portal), target=str(iqn))
        node["lun"] = int(lun or 0)
        if disk.initiator:
            node["initiator-name"] = disk.initiator
        if secret(disk) is not None:
            node["user"] = str(data.get("auth_username") or "")
            node["password-secret"] = disk.secret_id
    elif kind == "rbd":
        pool, _, image = str(data.get("name") or "").partition("/")
        if not pool or not image:
            raise DriverError(f"volume {disk.serial}: an rbd connection without pool/image")
        node.update(driver="rbd", pool=pool, image=image)
        hosts, ports = list(data.get("hosts") or []), list(data.get("ports") or [])
        if hosts:
            node["server"] = [
                {"host": str(h), "port": str(ports[i] if i < len(ports) else 6789)}
                for i, h in enumerate(hosts)
            ]
        if data.get("auth_username"):
            node["user"] = str(data["auth_username"])
        if secret(disk) is not None:
            node["key-secret"] = disk.secret_id
            node["auth-client-required"] = ["cephx"]
    else:
        raise DriverNotSupported(f"volume {disk.serial}: driver_volume_type {kind!r}")
    if disk.read_only:
        node["read-only"] = True
    return node


def _nbd_server(disk: VolumeDisk) -> dict[str, Any]:
    data = disk.data
    if data.get("path"):
        return {"type": "unix", "path": str(data["path"])}
    host = data.get("host") or _first(data.get("hosts"))
    port = data.get("port") or _first(data.get("ports")) or 10809
    if not host:
        raise DriverError(f"volume {disk.serial}: an nbd connection without a server")
    return {"type": "inet", "host": str(host), "port": str(port)}


def objects(disk: VolumeDisk, directory: Path) -> list[dict[str, Any]]:
    """The QOM objects the volume needs (its secret, its throttle group), as ``object-add``
    arguments; writes the secret file."""
    found: list[dict[str, Any]] = []
    value = secret(disk)
    if value is not None:
        path = disk.secret_file(directory)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(value)
        secret_object = {"qom-type": "secret", "id": disk.secret_id, "file": str(path)}
        if disk.kind == "rbd":
            # a cephx key is base64 text: QEMU decodes it (else it would encode it again)
            secret_object["format"] = "base64"
        found.append(secret_object)
    limits = disk.limits
    if limits:
        found.append({"qom-type": "throttle-group", "id": disk.throttle_group, "limits": limits})
    return found


def nodes(disk: VolumeDisk) -> list[dict[str, Any]]:
    """The ``blockdev-add`` arguments of the volume, bottom up."""
    fmt = str(disk.data.get("format") or "raw")
    if fmt not in FORMATS:
        raise DriverNotSupported(f"volume {disk.serial}: format {fmt!r}")
    if disk.shared and fmt != "raw":
        # qcow2 keeps metadata in the file: QEMU never lets two writers share it
        raise DriverNotSupported(
            f"volume {disk.serial}: a multiattach volume must be raw, not {fmt}"
        )
    chain = [_protocol(disk)]
    top: dict[str, Any] = {
        "node-name": disk.format_node,
        "driver": fmt,
        "file": disk.protocol_node,
    }
    if disk.data.get("discard"):
        top["discard"] = "unmap"
    if disk.read_only:
        top["read-only"] = True
    chain.append(top)
    if disk.limits:
        chain.append(
            {
                "node-name": disk.throttle_node,
                "driver": "throttle",
                "throttle-group": disk.throttle_group,
                "file": disk.format_node,
            }
        )
    return chain


def device(disk: VolumeDisk, bootindex: int | None = None) -> dict[str, Any]:
    """The ``device_add`` arguments of the volume's virtio disk."""
    found: dict[str, Any] = {
        "driver": "virtio-blk-pci",
        "id": disk.device_id,
        "drive": disk.top_node,
        "serial": disk.serial[:SERIAL_LENGTH],
    }
    if disk.shared:
        found["share-rw"] = True
    if bootindex is not None:
        found["bootindex"] = bootindex
    return found


def command_line(disk: VolumeDisk, directory: Path, bootindex: int | None = None) -> list[str]:
    """The ``-object``/``-blockdev``/``-device`` options of the volume (JSON syntax)."""
    args: list[str] = []
    for obj in objects(disk, directory):
        args += ["-object", json.dumps(obj, separators=(",", ":"))]
    for node in nodes(disk):
        args += ["-blockdev", json.dumps(node, separators=(",", ":"))]
    args += ["-device", json.dumps(device(disk, bootindex), separators=(",", ":"))]
    return args


def remove_secret(disk: VolumeDisk, directory: Path) -> None:
    with contextlib.suppress(OSError):
        disk.secret_file(directory).unlink()


# -- over QMP ---------------------------------------------------------------------------------
#: seconds a guest has to release an unplugged disk
UNPLUG_TIMEOUT = 30.0
#: seconds a swap's mirror may take to catch up
MIRROR_TIMEOUT = 600.0


def plug(qmp_socket: str, disk: VolumeDisk, directory: Path) -> None:
    """Hot-plug the volume into a running guest; on failure whatever was added goes again."""
    added_objects: list[str] = []
    added_nodes: list[str] = []
    with QMP(qmp_socket, QMP_TIMEOUT) as qmp:
        try:
            for obj in objects(disk, directory):
                qmp.command("object-add", obj)
                added_objects.append(str(obj["id"]))
            for node in nodes(disk):
                qmp.command("blockdev-add", node, timeout=60)
                added_nodes.append(str(node["node-name"]))
            qmp.command("device_add", device(disk))
        except QMPError as exc:
            _remove(qmp, added_nodes, added_objects)
            remove_secret(disk, directory)
            raise DriverError(f"cannot attach volume {disk.serial}: {exc}") from exc


def _remove(qmp: QMP, node_names: list[str], object_ids: list[str]) -> None:
    for name in reversed(node_names):
        try:
            qmp.command("blockdev-del", {"node-name": name})
        except QMPError as exc:
            LOG.warning("blockdev-del %s: %s", name, exc)
    for ident in reversed(object_ids):
        try:
            qmp.command("object-del", {"id": ident})
        except QMPError as exc:
            LOG.warning("object-del %s: %s", ident, exc)


def node_names(disk: VolumeDisk) -> list[str]:
    """The volume's nodes, bottom up (without building their arguments)."""
    found = [disk.protocol_node, disk.format_node]
    if disk.limits:
        found.append(disk.throttle_node)
    return found


def object_ids(disk: VolumeDisk) -> list[str]:
    found = []
    if secret(disk) is not None:
        found.append(disk.secret_id)
    if disk.limits:
        found.append(disk.throttle_group)
    return found


def unplug(qmp_socket: str, events_socket: str, disk: VolumeDisk, directory: Path) -> None:
    """Ask the guest to let the disk go (``device_del``), wait for ``DEVICE_DELETED``,
    then remove its nodes and objects. DriverError when the guest keeps it."""
    with QMP(events_socket, QMP_TIMEOUT) as events:
        try:
            with QMP(qmp_socket, QMP_TIMEOUT) as qmp:
                qmp.command("device_del", {"id": disk.device_id})
        except QMPError as exc:
            if exc.error_class != "DeviceNotFound":
                raise DriverError(f"cannot detach volume {disk.serial}: {exc}") from exc
        else:
            deadline = time.monotonic() + UNPLUG_TIMEOUT
            while True:
                event = events.wait_event("DEVICE_DELETED", max(0.0, deadline - time.monotonic()))
                if event is None:
                    raise DriverError(f"the guest did not release volume {disk.serial} in time")
                if (event.get("data") or {}).get("device") == disk.device_id:
                    break
    with QMP(qmp_socket, QMP_TIMEOUT) as qmp:
        _remove(qmp, node_names(disk), object_ids(disk))
    remove_secret(disk, directory)


def resize(qmp_socket: str, disk: VolumeDisk, size: int) -> VolumeDisk:
    """Grow the volume's format node to ``size`` bytes; the guest is told of the new size.

    A file (qcow2 or raw) grows by QEMU itself; an iSCSI LUN grown by its target is read
    again. An NBD connection keeps the size it opened with, so an NBD volume gets a new
    connection (a new protocol node, the format node reopened onto it) that sees the
    export's new size. Returns the disk as it is now (its generation bumped then)."""
    try:
        with QMP(qmp_socket, QMP_TIMEOUT) as qmp:
            if disk.kind == "nbd":
                fresh = replace(disk, generation=disk.generation + 1)
                new_node, fmt_node = nodes(fresh)[:2]
                qmp.command("blockdev-add", new_node, timeout=60)
                try:
                    qmp.command("blockdev-reopen", {"options": [fmt_node]})
                except QMPError:
                    qmp.command("blockdev-del", {"node-name": fresh.protocol_node})
                    raise
                qmp.command("blockdev-del", {"node-name": disk.protocol_node})
                disk = fresh
            qmp.command("block_resize", {"node-name": disk.format_node, "size": size}, timeout=60)
    except QMPError as exc:
        raise DriverError(f"cannot resize volume {disk.serial}: {exc}") from exc
    return disk


def mirror(
    qmp_socket: str, events_socket: str, old: VolumeDisk, new: VolumeDisk, directory: Path
) -> None:
    """Copy ``old``'s data into ``new``'s nodes under the running guest and pivot the disk
    onto them (``blockdev-mirror``, ``job-complete``); ``old``'s nodes go afterwards."""
    job = f"swap-{old.key}"
    added: list[str] = []
    added_objects: list[str] = []
    with QMP(events_socket, QMP_TIMEOUT) as events:
        with QMP(qmp_socket, QMP_TIMEOUT) as qmp:
            try:
                for obj in objects(new, directory):
                    if obj["qom-type"] == "secret":
                        qmp.command("object-add", obj)
                        added_objects.append(str(obj["id"]))
                for node in nodes(new)[:2]:
                    qmp.command("blockdev-add", node, timeout=60)
                    added.append(str(node["node-name"]))
                qmp.command(
                    "blockdev-mirror",
                    {
                        "job-id": job,
                        "device": old.format_node,
                        "target": new.format_node,
                        "sync": "full",
                    },
                )
            except QMPError as exc:
                _remove(qmp, added, added_objects)
                raise DriverError(f"cannot copy volume {old.serial}: {exc}") from exc
        _await_job(events, job, "BLOCK_JOB_READY")
        with QMP(qmp_socket, QMP_TIMEOUT) as qmp:
            qmp.command("job-complete", {"id": job})
        _await_job(events, job, "BLOCK_JOB_COMPLETED")
    with QMP(qmp_socket, QMP_TIMEOUT) as qmp:
        _remove(qmp, [old.format_node, old.protocol_node], [])
        if secret(old) is not None:
            _remove(qmp, [], [old.secret_id])
    remove_secret(old, directory)


def _await_job(events: QMP, job: str, name: str) -> None:
    deadline = time.monotonic() + MIRROR_TIMEOUT
    while True:
        event = events.wait_event(
            {name, "BLOCK_JOB_ERROR", "BLOCK_JOB_CANCELLED"}, deadline - time.monotonic()
        )
        if event is None:
            raise DriverError(f"block job {job}: no {name} in time")
        data = event.get("data") or {}
        if data.get("device") != job:
            continue
        if event["event"] != name or data.get("error"):
            raise DriverError(f"block job {job} failed: {data.get('error') or event['event']}")
        return
