"""An instance as the driver keeps it on disk, and the QEMU command line made from it.

``<instances>/<uuid>/instance.json`` holds everything needed to start the guest
again (power on, resume, adoption after a restart): flavor, disks, NICs, the config
drive, the VNC port, the rescue disk. The command line is rebuilt from it at every
start, so a change of acceleration or of QEMU takes effect on the next power on.
"""

from __future__ import annotations

import json
import os
import shlex
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tinystack.compute.objects import VIF, FlavorMeta
from tinystack.compute.virt.qemu import net
from tinystack.compute.virt.qemu.volumes import VolumeDisk, command_line

DEFINITION_FILE = "instance.json"
ROOT_DISK = "disk.qcow2"
EPHEMERAL_DISK = "disk.eph0"
SWAP_DISK = "disk.swap"
CONFIG_DRIVE = "disk.config"
RESCUE_DISK = "disk.rescue"
CONSOLE_LOG = "console.log"
PIDFILE = "qemu.pid"
STATE_FILE = "memory.state"
#: sun_path holds 108 bytes; longer socket paths move to a short directory
MAX_SOCKET_PATH = 100


@dataclass
class Nic:
    port_id: str
    mac: str
    tap: str
    network_id: str = ""

    @property
    def netdev_id(self) -> str:
        return f"net-{self.port_id[:11]}"

    @property
    def device_id(self) -> str:
        return f"nic-{self.port_id[:11]}"


@dataclass
class Definition:
    uuid: str
    name: str
    hostname: str
    flavor: dict[str, Any]
    image_id: str | None = None
    #: the cached base image of the root disk (path, format)
    base: str | None = None
    base_format: str = "qcow2"
    #: the image boots as a CD-ROM and the root disk starts blank (ISO images)
    boot_iso: bool = False
    ephemeral: bool = False
    swap: bool = False
    config_drive: bool = False
    nics: list[Nic] = field(default_factory=list)
    vnc_port: int | None = None
    qmp_socket: str = ""
    qmp_events_socket: str = ""
    #: the serial console's unix socket (the serial proxy's end; empty: set at the next start)
    serial_socket: str = ""
    #: {"image_id", "base", "base_format"} while the instance is rescued, with "bus" and
    #: "device" for stable device rescue (the rescue disk added last, boots first)
    rescue: dict[str, Any] | None = None
    #: ``user`` gives the guest QEMU's restricted user-mode network (tests, no taps)
    user_network: bool = False
    #: the attached volumes (:class:`VolumeDisk` as dicts); one with ``boot`` is the root
    volumes: list[dict[str, Any]] = field(default_factory=list)
    #: the root disk as an RBD image (``images_type = rbd``: a :class:`VolumeDisk` dict)
    root_rbd: dict[str, Any] | None = None
    #: the directory of the local disks when it is not the instance's directory (a
    #: shared ``instances_path``: the disks there, this host's runtime files in its own)
    disks: str = ""
    #: KiB of RAM QEMU was given beyond the flavor's at the guest's last boot (see
    #: :func:`ram_pad_kib`); a restore or an incoming migration must give it the same
    ram_pad_kib: int = 0

    def disk_dir(self, directory: Path) -> Path:
        """Where the local disks (root, ephemeral, swap, config drive, rescue) are."""
        return Path(self.disks) if self.disks else directory

    def volume_disks(self) -> list[VolumeDisk]:
        return [VolumeDisk.from_dict(v) for v in self.volumes]

    def set_volumes(self, disks: list[VolumeDisk]) -> None:
        self.volumes = [d.to_dict() for d in disks]

    @property
    def boot_volume(self) -> VolumeDisk | None:
        return next((d for d in self.volume_disks() if d.boot), None)

    @property
    def vcpus(self) -> int:
        return max(1, int(self.flavor.get("vcpus") or 1))

    @property
    def memory_mb(self) -> int:
        return max(16, int(self.flavor.get("memory_mb") or 64))

    @property
    def ram_kib(self) -> int:
        """The RAM QEMU is given (``-m``): the flavor's, plus the pad of its last boot."""
        return self.memory_mb * 1024 + self.ram_pad_kib

    def images_in_use(self) -> set[str]:
        found = {self.image_id} if self.image_id else set()
        if self.rescue and self.rescue.get("image_id"):
            found.add(str(self.rescue["image_id"]))
        return found

    # -- persistence ---------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Definition:
        data = dict(data)
        data["nics"] = [Nic(**n) for n in data.get("nics", [])]
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})

    def save(self, directory: Path) -> None:
        tmp = directory / f".{DEFINITION_FILE}.part"
        tmp.write_text(json.dumps(self.to_dict(), indent=1, sort_keys=True) + "\n")
        os.replace(tmp, directory / DEFINITION_FILE)

    @classmethod
    def load(cls, directory: Path) -> Definition | None:
        try:
            data = json.loads((directory / DEFINITION_FILE).read_text())
        except (OSError, ValueError):
            return None
        return cls.from_dict(data)


def serial_socket_path(directory: Path, uuid: str, short_dir: Path) -> str:
    """The serial console's socket path (in the instance's directory when it fits)."""
    sock = directory / "serial.sock"
    return str(sock) if len(str(sock)) <= MAX_SOCKET_PATH else str(short_dir / f"{uuid}.serial")


#: See :func:`ram_pad_kib`: QEMU rounds RAM sizes up to 8 KiB.
TCG_RAM_PAD_KIB = 8


def ram_pad_kib(accel: str) -> int:
    """The RAM a guest booting now gets beyond its flavor's (KiB): 8 under TCG, else 0.

    QEMU before 9.0 syncs a live migration's dirty bitmap a 64-page word at a time when a
    RAM block's size is a multiple of 64 pages, and on that path does not re-arm TCG's
    write tracking (the softmmu TLB entries that mark a page dirty on its next store):
    stores made after a page was sent could then be missing on the destination, and
    guests died there of corrupted kernel lists now and then (QEMU commit 03bfc2188f,
    "physmem: Fix migration dirty bitmap coherency with TCG memory access", not in
    Debian 12's QEMU 7.2). A size off that multiple takes the page-by-page path, which
    re-arms it. KVM tracks dirty pages itself and keeps the flavor's size."""
    return 0 if accel == "kvm" else TCG_RAM_PAD_KIB


def esc(value: object) -> str:
    """A value inside a QEMU ``key=value,...`` option (commas are doubled)."""
    return str(value).replace(",", ",,")


def socket_paths(directory: Path, uuid: str, short_dir: Path) -> tuple[str, str]:
    """The two QMP socket paths of an instance (in its directory when they fit)."""
    main, events = directory / "qmp.sock", directory / "qmp-events.sock"
    if len(str(events)) <= MAX_SOCKET_PATH:
        return str(main), str(events)
    return str(short_dir / f"{uuid}.qmp"), str(short_dir / f"{uuid}.qmpev")


def command(
    defn: Definition,
    directory: Path,
    *,
    binary: str,
    accel: str,
    vnc_listen: str,
    websocket_offset: int,
    incoming: Path | None = None,
    defer_incoming: bool = False,
) -> list[str]:
    """The full ``qemu-system-x86_64`` command line of the instance."""
    d = directory
    cmd = [binary, "-name", f"guest={defn.name},debug-threads=off", "-uuid", defn.uuid]
    cmd += ["-machine", "pc", "-accel", accel]
    cmd += ["-cpu", "host" if accel == "kvm" else "max"]
    cmd += ["-m", f"{defn.ram_kib}k", "-smp", str(defn.vcpus)]
    cmd += ["-nodefaults", "-no-user-config", "-rtc", "base=utc"]
    cmd += ["-daemonize", "-pidfile", str(d / PIDFILE)]
    for sock, ident in ((defn.qmp_socket, "qmp"), (defn.qmp_events_socket, "qmpev")):
        cmd += ["-chardev", f"socket,id={ident},path={esc(sock)},server=on,wait=off"]
        cmd += ["-mon", f"chardev={ident},mode=control"]
    # the serial port: a socket the serial console proxy connects to, everything the guest
    # writes also appended to console.log (`console log show`)
    log = f"logfile={esc(d / CONSOLE_LOG)},logappend=on"
    if defn.serial_socket:
        sock = f"socket,id=serial0,path={esc(defn.serial_socket)},server=on,wait=off"
        cmd += ["-chardev", f"{sock},{log}"]
    else:
        cmd += ["-chardev", f"file,id=serial0,path={esc(d / CONSOLE_LOG)},append=on"]
    cmd += ["-serial", "chardev:serial0"]
    if defn.vnc_port is not None:
        display = defn.vnc_port - 5900
        websocket = defn.vnc_port + websocket_offset
        cmd += ["-vga", "std", "-vnc", f"{vnc_listen}:{display},websocket={websocket}"]
    else:
        cmd += ["-display", "none"]

    cmd += _disks(defn, d, writable_exports=defer_incoming)
    if defn.boot_iso and defn.base and not defn.rescue:
        cmd += ["-drive", f"file={esc(defn.base)},if=none,id=drive-cd0,media=cdrom,format=raw"]
        cmd += ["-device", "ide-cd,drive=drive-cd0,bus=ide.0,unit=0,bootindex=1"]
    if defn.config_drive:
        drive = esc(defn.disk_dir(d) / CONFIG_DRIVE)
        cmd += ["-drive", f"file={drive},if=none,id=drive-config,media=cdrom,"]
        cmd[-1] += "format=raw,readonly=on"
        cmd += ["-device", "ide-cd,drive=drive-config,bus=ide.1,unit=0"]

    if defn.user_network:
        cmd += ["-netdev", "user,id=net-user,restrict=on"]
        cmd += ["-device", "virtio-net-pci,netdev=net-user,id=nic-user"]
    for nic in defn.nics:
        cmd += ["-netdev", f"tap,id={nic.netdev_id},ifname={nic.tap},script=no,downscript=no"]
        cmd += [
            "-device",
            f"virtio-net-pci,netdev={nic.netdev_id},id={nic.device_id},mac={nic.mac}",
        ]
    if incoming is not None:
        cmd += ["-incoming", f"exec:cat {shlex.quote(str(incoming))}"]
    elif defer_incoming:  # a live migration's destination: paused until told to run
        cmd += ["-S", "-incoming", "defer"]
    return cmd


def _disks(defn: Definition, d: Path, writable_exports: bool = False) -> list[str]:
    """The disks in the guest's order: rescue, root (file or boot volume), ephemeral, swap,
    then the attached volumes. ``writable_exports``: a live migration's destination serves
    its local disks over NBD before it runs, which QEMU refuses for files it may have
    opened read-only (``auto-read-only``). ``d`` is the instance's directory (the volumes'
    secrets), its local disks are in ``defn.disk_dir(d)``."""
    local = defn.disk_dir(d)
    boot = defn.boot_volume
    disks: list[tuple[Path, str] | VolumeDisk] = []
    stable = stable_rescue(defn.rescue)
    if defn.rescue and stable is None:
        disks.append((local / RESCUE_DISK, "qcow2"))
    if boot is None and defn.root_rbd:
        boot = VolumeDisk.from_dict(defn.root_rbd)
    disks.append(boot if boot is not None else (local / ROOT_DISK, "qcow2"))
    if defn.ephemeral:
        disks.append((local / EPHEMERAL_DISK, "raw"))
    if defn.swap:
        disks.append((local / SWAP_DISK, "raw"))
    disks += [v for v in defn.volume_disks() if not v.boot]
    cmd: list[str] = []
    for n, disk in enumerate(disks):
        first = n == 0 and stable is None
        bootindex = 1 if first and not (defn.boot_iso and not defn.rescue) else None
        if isinstance(disk, VolumeDisk):
            cmd += command_line(disk, d, bootindex)
            continue
        path, fmt = disk
        cmd += ["-drive", f"file={esc(path)},if=none,id=drive-vd{chr(97 + n)},format={fmt}"]
        if writable_exports:
            cmd[-1] += ",auto-read-only=off"
        device = f"virtio-blk-pci,drive=drive-vd{chr(97 + n)},id=vd{chr(97 + n)}"
        if bootindex is not None:
            device += f",bootindex={bootindex}"
        cmd += ["-device", device]
    if stable is not None:
        cmd += rescue_disk(local / RESCUE_DISK, *stable)
    return cmd


#: the rescue devices stable device rescue offers: (hw_rescue_bus, hw_rescue_device)
RESCUE_DEVICES = {
    ("virtio", "disk"): ["virtio-blk-pci,drive=drive-rescue,id=rescue,bootindex=1"],
    ("scsi", "disk"): ["virtio-scsi-pci,id=rescue-scsi",
                       "scsi-hd,bus=rescue-scsi.0,drive=drive-rescue,id=rescue,bootindex=1"],
    ("scsi", "cdrom"): ["virtio-scsi-pci,id=rescue-scsi",
                        "scsi-cd,bus=rescue-scsi.0,drive=drive-rescue,id=rescue,bootindex=1"],
    ("usb", "disk"): ["qemu-xhci,id=rescue-usb",
                      "usb-storage,bus=rescue-usb.0,drive=drive-rescue,id=rescue,bootindex=1"],
    ("ide", "disk"): ["ide-hd,drive=drive-rescue,bus=ide.1,unit=0,id=rescue,bootindex=1"],
    ("ide", "cdrom"): ["ide-cd,drive=drive-rescue,bus=ide.1,unit=0,id=rescue,bootindex=1"],
}  # fmt: skip


def stable_rescue(rescue: dict[str, Any] | None) -> tuple[str, str] | None:
    """(bus, device) of a rescue in stable device mode (a ``bus`` or ``device`` given;
    the other defaults as upstream's would on x86), else None."""
    if not rescue or not (rescue.get("bus") or rescue.get("device")):
        return None
    device = str(rescue.get("device") or "disk")
    return str(rescue.get("bus") or ("virtio" if device == "disk" else "ide")), device


def rescue_disk(path: Path, bus: str, device: str) -> list[str]:
    """The rescue disk's QEMU arguments: after every other disk, first to boot."""
    devices = RESCUE_DEVICES.get((bus, device))
    if devices is None:
        raise ValueError(f"a rescue {device} on the {bus} bus is not supported")
    media = ",media=cdrom" if device == "cdrom" else ""
    cmd = ["-drive", f"file={esc(path)},if=none,id=drive-rescue,format=qcow2{media}"]
    for dev in devices:
        cmd += ["-device", dev]
    return cmd


def nic_for(vif: VIF) -> Nic:
    """The NIC of a port."""
    return Nic(port_id=vif.id, mac=vif.address, tap=net.tap_name(vif.id), network_id=vif.network_id)


def flavor_record(flavor: FlavorMeta) -> dict[str, Any]:
    """The flavor as a definition keeps it."""
    return {
        "flavorid": flavor.flavorid,
        "name": flavor.name,
        "vcpus": flavor.vcpus,
        "memory_mb": flavor.memory_mb,
        "root_gb": flavor.root_gb,
        "ephemeral_gb": flavor.ephemeral_gb,
        "swap": flavor.swap,
        "extra_specs": dict(flavor.extra_specs),
    }
