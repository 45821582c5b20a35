"""The QEMU processes of one host's instances: their directories, locks, start and stop.

One :class:`Machines` per driver. An instance lives in ``<state_dir>/instances/<uuid>`` (its
:class:`~.definition.Definition`, pidfile, sockets, console log, and its disks unless
``[compute] instances_path`` keeps them in ``<instances_path>/<uuid>``); a QEMU is started from the
definition (``-daemonize``, in the host's network namespace), spoken to over QMP, powered
down with ACPI and killed when it does not listen. The driver (``driver.py``) composes these
steps into the life cycle the agent asks for.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shlex
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from tinystack.common.qmp import QMP, QMPError
from tinystack.common.qmp import command as qmp_command
from tinystack.compute import states
from tinystack.compute.virt.driver import DriverError, InstanceNotOnHost
from tinystack.compute.virt.qemu import net, process
from tinystack.compute.virt.qemu import volumes as vols
from tinystack.compute.virt.qemu.definition import (
    CONSOLE_LOG,
    PIDFILE,
    STATE_FILE,
    Definition,
    Nic,
    command,
    ram_pad_kib,
    serial_socket_path,
)
from tinystack.compute.virt.qemu.settings import (
    CONSOLE_MAX_BYTES,
    CONSOLE_ROTATE_BYTES,
    QMP_TIMEOUT,
    RESIZE_SUFFIX,
    GiB,
    QemuSettings,
)
from tinystack.compute.virt.qemu.volumes import VolumeDisk
from tinystack.guest.accel import choose_accel

LOG = logging.getLogger(__name__)
#: seconds between two presses of the power button while a clean stop waits (upstream's
#: SHUTDOWN_RETRY_INTERVAL): a guest still booting misses a press
POWER_BUTTON_INTERVAL = 10.0
#: in a disk directory of ``instances_path``: the host running the instance from it
OWNER_FILE = ".host"
#: QMP ``query-status`` -> power state
STATUS_POWER = {
    "running": states.RUNNING,
    "paused": states.POWER_PAUSED,
    "suspended": states.POWER_PAUSED,
    "prelaunch": states.POWER_PAUSED,
    "inmigrate": states.POWER_PAUSED,
    "postmigrate": states.POWER_PAUSED,
    "finish-migrate": states.POWER_PAUSED,
    "save-vm": states.POWER_PAUSED,
    "restore-vm": states.POWER_PAUSED,
    "debug": states.POWER_PAUSED,
    "colo": states.POWER_PAUSED,
    "watchdog": states.RUNNING,
    "shutdown": states.SHUTDOWN,
    "guest-panicked": states.CRASHED,
    "internal-error": states.CRASHED,
    "io-error": states.CRASHED,
}


class Machines:
    """Start, stop and talk to the QEMUs of one host's instances."""

    def __init__(self, hostname: str, settings: QemuSettings, binary: str) -> None:
        self.hostname = hostname
        self.settings = settings
        self.binary = binary
        self._locks: dict[str, threading.RLock] = {}
        self._guard = threading.Lock()
        self._ports_lock = threading.Lock()
        self._accel: str | None = None
        self._accel_reason = ""
        self._accel_lock = threading.Lock()
        self._probe: threading.Thread | None = None

    @contextlib.contextmanager
    def locked(self, uuid: str) -> Iterator[None]:
        with self._guard:
            lock = self._locks.setdefault(uuid, threading.RLock())
        with lock:
            yield

    def forget_lock(self, uuid: str) -> None:
        with self._guard:
            self._locks.pop(uuid, None)

    def dir(self, uuid: str) -> Path:
        if not uuid or "/" in uuid or uuid.startswith("."):
            raise DriverError(f"bad instance uuid {uuid!r}")
        return self.settings.instances / uuid

    def disk_dir(self, uuid: str) -> Path:
        """Where the instance's local disks are (its directory unless ``instances_path``
        keeps them apart, perhaps shared with other hosts)."""
        return self.settings.disks_root / self.dir(uuid).name

    def claim_disks(self, uuid: str) -> None:
        """Record this host as the one running the instance from its disks in
        ``instances_path`` (hosts sharing it delete only the disks they own)."""
        disk_dir = self.disk_dir(uuid)
        if disk_dir != self.dir(uuid) and disk_dir.is_dir():
            part = disk_dir / f".{OWNER_FILE}.{self.hostname}.part"
            part.write_text(self.hostname + "\n")
            os.replace(part, disk_dir / OWNER_FILE)

    def owns_disks(self, uuid: str) -> bool:
        """Whether this host may delete the instance's disks: they are in its directory,
        or no other host has claimed them since."""
        try:
            owner = (self.disk_dir(uuid) / OWNER_FILE).read_text().strip()
        except OSError:
            return True
        return owner in ("", self.hostname)

    def resize_dir(self, uuid: str) -> Path:
        return self.settings.instances / f"{uuid}{RESIZE_SUFFIX}"

    def load(self, uuid: str) -> Definition:
        defn = Definition.load(self.dir(uuid))
        if defn is None:
            raise InstanceNotOnHost(f"instance {uuid} is not on {self.hostname}")
        return defn

    def pid(self, uuid: str) -> int | None:
        return process.find(self.dir(uuid) / PIDFILE, uuid)

    def qmp(self, defn: Definition, name: str, args: dict[str, Any] | None = None) -> Any:
        return qmp_command(defn.qmp_socket, name, args, timeout=QMP_TIMEOUT)

    def status(self, defn: Definition) -> str | None:
        try:
            return str(self.qmp(defn, "query-status")["status"])
        except (QMPError, KeyError, TypeError):
            return None

    # -- acceleration --------------------------------------------------------------------------
    def decide_accel(self) -> None:
        try:
            decision = choose_accel(
                self.settings.accel,
                image=self.settings.accel_probe_image,
                cache_file=self.settings.accel_cache_file,
            )
            accel, reason = decision.accel, f"{decision.reason} ({decision.source})"
        except Exception as exc:  # a failed probe must not stop the host
            accel, reason = "tcg", f"KVM probe failed: {exc}"
        with self._accel_lock:
            self._accel, self._accel_reason = accel, reason
        LOG.info("QEMU acceleration on %s: %s (%s)", self.hostname, accel, reason)

    def start_probe(self) -> None:
        """Decide the acceleration in the background (the first start waits for it)."""
        if self._accel is None and self._probe is None:
            self._probe = threading.Thread(
                target=self.decide_accel, name="qemu-accel-probe", daemon=True
            )
            self._probe.start()

    def accel_decided(self) -> str | None:
        """The acceleration, once decided (None before; never waits)."""
        return self._accel

    def accel(self) -> str:
        probe = self._probe
        if probe is not None:
            probe.join()
        with self._accel_lock:
            decided = self._accel
        if decided is None:
            self.decide_accel()
        return self._accel or "tcg"

    def free_vnc_port(self, exclude: set[int] | None = None) -> int | None:
        s = self.settings
        if not s.vnc_enabled:
            return None
        used = set(exclude or ())
        root = s.instances
        if root.is_dir():
            for p in root.iterdir():
                defn = Definition.load(p)
                if defn is not None and defn.vnc_port is not None:
                    used.add(defn.vnc_port)
        for port in range(s.vnc_port_min, s.vnc_port_max + 1):
            if port in used or port - 5900 < 0:
                continue
            if _port_free(s.vnc_listen, port) and _port_free(
                s.vnc_listen, port + s.vnc_websocket_offset
            ):
                return port
        raise DriverError("no free VNC port")

    def ensure_vnc_port(self, defn: Definition) -> None:
        """Keep the instance's VNC port unless something else took it meanwhile."""
        s = self.settings
        if not s.vnc_enabled:
            defn.vnc_port = None
            return
        port = defn.vnc_port
        if (
            port is not None
            and _port_free(s.vnc_listen, port)
            and _port_free(s.vnc_listen, port + s.vnc_websocket_offset)
        ):
            return
        defn.vnc_port = self.free_vnc_port({port} if port is not None else None)

    def start(
        self, defn: Definition, incoming: Path | None = None, defer_incoming: bool = False
    ) -> int:
        directory = self.dir(defn.uuid)
        if self.pid(defn.uuid) is not None:
            raise DriverError(f"instance {defn.uuid} already runs")
        for nic in defn.nics:
            net.ensure_tap(nic.tap, nic.mac, self.settings.host_namespace)
        trim_console(directory / CONSOLE_LOG)
        if not defn.serial_socket:  # defined before serial consoles were sockets
            short = self.settings.short_socket_dir
            defn.serial_socket = serial_socket_path(directory, defn.uuid, short)
        for sock in (defn.qmp_socket, defn.qmp_events_socket, defn.serial_socket):
            Path(sock).parent.mkdir(parents=True, exist_ok=True)
            Path(sock).unlink(missing_ok=True)
        accel = self.accel()
        if incoming is None and not defer_incoming:  # a boot: a restore keeps the state's
            defn.ram_pad_kib = ram_pad_kib(accel)
        with self._ports_lock:
            self.ensure_vnc_port(defn)
            defn.save(directory)
            cmd = command(
                defn,
                directory,
                binary=self.binary,
                accel=accel,
                vnc_listen=self.settings.vnc_listen,
                websocket_offset=self.settings.vnc_websocket_offset,
                incoming=incoming,
                defer_incoming=defer_incoming,
            )
            # QEMU attaches its taps by name in its own namespace: it runs in the host's
            cmd = net.in_namespace(cmd, self.settings.host_namespace)
            (directory / "qemu.cmdline").write_text(shlex.join(cmd) + "\n")
            pid = process.start(cmd, directory / PIDFILE, defn.uuid)
        if incoming is not None:
            self.finish_incoming(defn, pid, incoming)
        return pid

    def finish_incoming(self, defn: Definition, pid: int, state: Path) -> None:
        deadline = time.monotonic() + 600
        while True:
            if not process.is_ours(pid, defn.uuid):
                raise DriverError(f"QEMU exited while restoring {defn.uuid} from {state}")
            status = self.status(defn)
            if status not in (None, "inmigrate"):
                break
            if time.monotonic() > deadline:
                raise DriverError(f"restoring {defn.uuid} took too long")
            time.sleep(0.05)
        if status != "running":
            self.qmp(defn, "cont")
        state.unlink(missing_ok=True)

    def kill(self, uuid: str) -> None:
        pid = self.pid(uuid)
        if pid is not None:
            process.kill(pid, uuid)

    def cleanup_sockets(self, defn: Definition) -> None:
        for sock in (defn.qmp_socket, defn.qmp_events_socket, defn.serial_socket):
            if sock:
                Path(sock).unlink(missing_ok=True)

    def shutdown(self, defn: Definition, timeout: float) -> bool:
        """ACPI power button (pressed again every :data:`POWER_BUTTON_INTERVAL`), wait up
        to ``timeout`` for QEMU to exit, then kill.

        True when the guest shut itself down."""
        pid = self.pid(defn.uuid)
        if pid is None:
            return True
        clean = False
        if timeout > 0 and self.status(defn) == "running":
            try:
                clean = press_power_button(
                    lambda: self.qmp(defn, "system_powerdown"),
                    lambda wait: process.wait_gone(pid, defn.uuid, wait),
                    timeout,
                    (QMPError,),
                )
                if not clean:
                    LOG.info("instance %s: still running %.0fs after the power button; killed",
                             defn.uuid, timeout)  # fmt: skip
            except QMPError as exc:
                LOG.info("instance %s: ACPI power-off failed: %s", defn.uuid, exc)
        if not clean:
            process.kill(pid, defn.uuid)
        self.cleanup_sockets(defn)
        return clean

    def soft_reboot(self, defn: Definition, pid: int) -> bool:
        """ctrl-alt-delete; True when the guest reset (or powered off and was started)."""
        timeout = float(self.settings.soft_reboot_timeout)
        if timeout <= 0:
            return False
        keys = [{"type": "qcode", "data": k} for k in ("ctrl", "alt", "delete")]
        try:
            with QMP(defn.qmp_events_socket, QMP_TIMEOUT) as events:
                self.qmp(defn, "send-key", {"keys": keys})
                event = events.wait_event({"RESET", "SHUTDOWN", "QMP_CLOSED"}, timeout)
        except QMPError as exc:
            LOG.info("instance %s: soft reboot failed: %s", defn.uuid, exc)
            return False
        if event is None:
            LOG.info("instance %s: no reset within %.0fs; hard reboot", defn.uuid, timeout)
            return False
        if event["event"] == "RESET":
            return True
        # the guest powered off instead of rebooting: start it again
        if not process.wait_gone(pid, defn.uuid, 30):
            process.kill(pid, defn.uuid)
        self.cleanup_sockets(defn)
        self.start(defn)
        return True

    # -- what the guest is told (the libvirt driver's machines do it through libvirt) -----------
    def pause(self, defn: Definition) -> None:
        self.qmp(defn, "stop")

    def cont(self, defn: Definition) -> None:
        self.qmp(defn, "cont")

    def reset(self, defn: Definition) -> None:
        self.qmp(defn, "system_reset")

    def inject_nmi(self, defn: Definition) -> None:
        self.qmp(defn, "inject-nmi")

    def plug_nic(self, defn: Definition, nic: Nic) -> None:
        """Hot-plug a NIC on its tap (which exists)."""
        args = {"type": "tap", "id": nic.netdev_id, "ifname": nic.tap,
                "script": "no", "downscript": "no"}  # fmt: skip
        self.qmp(defn, "netdev_add", args)
        try:
            device = {"driver": "virtio-net-pci", "netdev": nic.netdev_id,
                      "id": nic.device_id, "mac": nic.mac}  # fmt: skip
            self.qmp(defn, "device_add", device)
        except QMPError:
            with contextlib.suppress(QMPError):
                self.qmp(defn, "netdev_del", {"id": nic.netdev_id})
            raise

    def unplug_nic(self, defn: Definition, nic: Nic) -> None:
        """Hot-unplug a NIC (the guest must release it within 20 s)."""
        with QMP(defn.qmp_events_socket, QMP_TIMEOUT) as events:
            try:
                self.qmp(defn, "device_del", {"id": nic.device_id})
            except QMPError as exc:
                if exc.error_class != "DeviceNotFound":
                    raise
            else:
                if events.wait_event("DEVICE_DELETED", 20) is None:
                    raise DriverError(f"the guest did not release interface {nic.port_id} in time")
        with contextlib.suppress(QMPError):
            self.qmp(defn, "netdev_del", {"id": nic.netdev_id})

    def plug_volume(self, defn: Definition, disk: VolumeDisk) -> None:
        vols.plug(defn.qmp_socket, disk, self.dir(defn.uuid))

    def unplug_volume(self, defn: Definition, disk: VolumeDisk) -> None:
        vols.unplug(defn.qmp_socket, defn.qmp_events_socket, disk, self.dir(defn.uuid))

    def resize_volume(self, defn: Definition, disk: VolumeDisk, size: int) -> VolumeDisk:
        return vols.resize(defn.qmp_socket, disk, size)

    def mirror_volume(self, defn: Definition, old: VolumeDisk, new: VolumeDisk) -> None:
        """Copy ``old`` into ``new`` under the running guest and pivot its disk onto it."""
        vols.mirror(defn.qmp_socket, defn.qmp_events_socket, old, new, self.dir(defn.uuid))

    def running(self, uuid: str) -> Definition:
        """The definition of a running instance (DriverError if it does not run)."""
        defn = self.load(uuid)
        if self.pid(uuid) is None:
            raise DriverError(f"instance {uuid} is not running")
        return defn

    def save_state(self, uuid: str) -> None:
        """Save the guest's RAM and device state to ``memory.state`` and stop QEMU."""
        with self.locked(uuid):
            defn = self.running(uuid)
            pid = self.pid(uuid)
            directory = self.dir(uuid)
            state = directory / STATE_FILE
            part = directory / f".{STATE_FILE}.part"
            part.unlink(missing_ok=True)
            was_running = self.status(defn) == "running"
            with QMP(defn.qmp_socket, QMP_TIMEOUT) as qmp:
                qmp.command("stop")
                with contextlib.suppress(QMPError):
                    qmp.command("migrate-set-parameters", {"max-bandwidth": 64 * GiB})
                qmp.command("migrate", {"uri": f"exec:cat > {shlex.quote(str(part))}"})
                deadline = time.monotonic() + 600
                while True:
                    info = qmp.command("query-migrate")
                    status = info.get("status")
                    if status == "completed":
                        break
                    if status in ("failed", "cancelled") or time.monotonic() > deadline:
                        with contextlib.suppress(QMPError):
                            qmp.command("migrate_cancel")
                            if was_running:
                                qmp.command("cont")
                        part.unlink(missing_ok=True)
                        raise DriverError(f"saving {uuid} failed: {info.get('error-desc', status)}")
                    time.sleep(0.05)
            os.replace(part, state)
            if pid is not None:
                process.kill(pid, uuid)
            self.cleanup_sockets(defn)


def press_power_button(
    press: Callable[[], object],
    gone: Callable[[float], bool],
    timeout: float,
    errors: tuple[type[Exception], ...],
    interval: float = POWER_BUTTON_INTERVAL,
) -> bool:
    """Press the guest's ACPI power button and wait up to ``timeout`` seconds for it to be
    gone (``gone(seconds)`` waits at most that long), pressing again every ``interval``
    seconds as upstream's libvirt driver re-sends its shutdown: a guest still booting has
    no button driver yet and misses the press. A later press failing with ``errors`` (the
    guest going away under it) is ignored; the first one's failure is the caller's."""
    deadline = time.monotonic() + timeout
    press()
    while True:
        left = deadline - time.monotonic()
        if gone(max(0.0, min(interval, left))):
            return True
        if left <= interval:
            return False
        LOG.debug("guest still running after the power button; pressing it again")
        with contextlib.suppress(*errors):
            press()


def trim_console(path: Path) -> None:
    """Keep a restarted guest's console log bounded (QEMU appends to it)."""
    try:
        if path.stat().st_size <= CONSOLE_ROTATE_BYTES:
            return
        with open(path, "rb") as f:
            f.seek(-CONSOLE_MAX_BYTES, os.SEEK_END)
            tail = f.read()
    except OSError:
        return
    tmp = path.with_name(path.name + ".part")
    tmp.write_bytes(tail)
    os.replace(tmp, path)


def _port_free(address: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((address, port))
        except OSError:
            return False
    return True
