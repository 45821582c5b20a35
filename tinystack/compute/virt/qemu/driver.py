"""The QEMU driver: real virtual machines, ``qemu-system-x86_64`` run directly.

Each instance is a daemonized QEMU (``-daemonize``, a pidfile, two QMP unix sockets,
the serial console appended to ``console.log``) started from the definition kept in
its directory (see :mod:`.definition`). The driver holds no per-guest threads or
buffers: every question is answered from the files and a short QMP connection, which
is also why a restarted agent simply finds its guests again (pidfile, the PID's
command line, QMP) instead of starting them twice.

Lifecycle on QEMU: power off = ACPI ``system_powerdown`` with a timeout, then kill;
soft reboot = ``send-key ctrl-alt-delete`` waiting for the guest's ``RESET``, hard
reboot = ``system_reset``; pause = ``stop``/``cont``; suspend = ``migrate`` of the
paused guest to ``memory.state`` and exit, resume = start with ``-incoming`` from it
(the guest's clock and uptime continue); snapshot = ``qemu-img convert`` of the root
disk chain while the guest is paused; rescue = the rescue image as first disk, the
instance's disk second; resize and cold migration on this host keep a copy of the
instance directory in ``<uuid>_resize`` until confirm (dropped) or revert (restored).

A host standing in a network namespace (``[compute] host_namespace``, tests and simulated
hosts) has its taps created there and its QEMUs started there with ``ip netns exec``;
pidfiles, QMP sockets, consoles and disks are files and work the same. Its VNC servers
listen inside that namespace too.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shlex
import shutil
import socket
import threading
import time
import uuid as uuidlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tinystack.compute import states
from tinystack.compute.context import CallContext
from tinystack.compute.objects import (
    VIF,
    ConsoleInfo,
    DiskImage,
    FlavorMeta,
    HostResources,
    ImageMeta,
    InstanceInfo,
    InstanceMeta,
    MigrationMeta,
)
from tinystack.compute.virt.driver import (
    ComputeDriver,
    DriverError,
    DriverNotSupported,
    InstanceNotOnHost,
)
from tinystack.compute.virt.qemu import configdrive, disks, host, net, process
from tinystack.compute.virt.qemu.definition import (
    CONFIG_DRIVE,
    CONSOLE_LOG,
    EPHEMERAL_DISK,
    PIDFILE,
    RESCUE_DISK,
    ROOT_DISK,
    STATE_FILE,
    SWAP_DISK,
    Definition,
    Nic,
    command,
    socket_paths,
)
from tinystack.compute.virt.qemu.imagecache import CachedImage, ImageCache, ImageSource
from tinystack.compute.virt.qemu.qmp import QMP, QMPError
from tinystack.compute.virt.qemu.qmp import command as qmp_command

LOG = logging.getLogger(__name__)
GiB = 1024**3
CONSOLE_MAX_BYTES = 100 * 1024
#: at a start, a console log larger than this keeps only its last CONSOLE_MAX_BYTES
CONSOLE_ROTATE_BYTES = 1024 * 1024
RESIZE_SUFFIX = "_resize"
#: an orphaned ``<uuid>_resize`` (its instance was deleted while resized) lives this long
RESIZE_ORPHAN_SECONDS = 600.0
QMP_TIMEOUT = 10.0

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


@dataclass
class QemuSettings:
    """What the driver needs from the configuration (see :mod:`.conf`)."""

    state_dir: Path
    instances_path: Path | None = None
    image_cache_path: Path | None = None
    accel: str = "auto"
    #: the test image the KVM probe boots (None: no probe, TCG unless accel = kvm)
    accel_probe_image: Path | None = None
    image_cache_max_age: float = 86400.0
    force_config_drive: bool = False
    soft_reboot_timeout: float = 60.0
    qemu_binary: str = ""
    vnc_enabled: bool = True
    vnc_listen: str = "127.0.0.1"
    vnc_port_min: int = 5900
    vnc_port_max: int = 6399
    vnc_websocket_offset: int = 1000
    #: give guests QEMU's restricted user-mode network instead of taps (tests only)
    user_network: bool = False
    #: the network namespace standing for this host: taps and QEMUs live there ("": root)
    host_namespace: str = ""

    @property
    def instances(self) -> Path:
        return self.instances_path or self.state_dir / "instances"

    @property
    def image_cache(self) -> Path:
        return self.image_cache_path or self.state_dir / "image-cache"

    @property
    def accel_cache_file(self) -> Path:
        return self.state_dir / "accel-probe.json"

    @property
    def short_socket_dir(self) -> Path:
        return Path("/run/tinystack-qemu") if os.geteuid() == 0 else Path("/tmp/tinystack-qemu")


class QemuDriver(ComputeDriver):
    capabilities = {
        "waits_for_vif_plugged": True,
        "supports_migrate_to_same_host": True,
        "supports_attach_interface": True,
        "supports_device_tagging": False,
        "supports_tagged_attach_interface": False,
        "supports_multiattach": False,
        "supports_trusted_certs": False,
        "supports_image_type_qcow2": True,
        "supports_image_type_raw": True,
        "supports_image_type_iso": True,
    }

    def __init__(
        self, hostname: str, settings: QemuSettings, image_source: ImageSource | None = None
    ) -> None:
        self.hostname = hostname
        self.settings = settings
        self.cache = ImageCache(settings.image_cache, image_source)
        self.binary = settings.qemu_binary or shutil.which("qemu-system-x86_64") or ""
        self._locks: dict[str, threading.RLock] = {}
        self._guard = threading.Lock()
        self._ports_lock = threading.Lock()
        self._accel: str | None = None
        self._accel_reason = ""
        self._accel_lock = threading.Lock()
        self._probe: threading.Thread | None = None
        self._resize_orphans: dict[str, float] = {}

    # -- plumbing ------------------------------------------------------------------------------
    @contextlib.contextmanager
    def _locked(self, uuid: str) -> Iterator[None]:
        with self._guard:
            lock = self._locks.setdefault(uuid, threading.RLock())
        with lock:
            yield

    def _forget_lock(self, uuid: str) -> None:
        with self._guard:
            self._locks.pop(uuid, None)

    def _dir(self, uuid: str) -> Path:
        if not uuid or "/" in uuid or uuid.startswith("."):
            raise DriverError(f"bad instance uuid {uuid!r}")
        return self.settings.instances / uuid

    def _resize_dir(self, uuid: str) -> Path:
        return self.settings.instances / f"{uuid}{RESIZE_SUFFIX}"

    def _load(self, uuid: str) -> Definition:
        defn = Definition.load(self._dir(uuid))
        if defn is None:
            raise InstanceNotOnHost(f"instance {uuid} is not on {self.hostname}")
        return defn

    def _pid(self, uuid: str) -> int | None:
        return process.find(self._dir(uuid) / PIDFILE, uuid)

    def _qmp(self, defn: Definition, name: str, args: dict[str, Any] | None = None) -> Any:
        return qmp_command(defn.qmp_socket, name, args, timeout=QMP_TIMEOUT)

    def _status(self, defn: Definition) -> str | None:
        try:
            return str(self._qmp(defn, "query-status")["status"])
        except (QMPError, KeyError, TypeError):
            return None

    # -- acceleration --------------------------------------------------------------------------
    def _decide_accel(self) -> None:
        from tinystack.guest.accel import choose_accel

        try:
            decision = choose_accel(
                self.settings.accel,
                image=self.settings.accel_probe_image,
                cache_file=self.settings.accel_cache_file,
            )
            accel, reason = decision.accel, f"{decision.reason} ({decision.source})"
        except Exception as exc:  # noqa: BLE001 - a failed probe must not stop the host
            accel, reason = "tcg", f"KVM probe failed: {exc}"
        with self._accel_lock:
            self._accel, self._accel_reason = accel, reason
        LOG.info("QEMU acceleration on %s: %s (%s)", self.hostname, accel, reason)

    def accel(self) -> str:
        probe = self._probe
        if probe is not None:
            probe.join()
        with self._accel_lock:
            decided = self._accel
        if decided is None:
            self._decide_accel()
        return self._accel or "tcg"

    # -- the host ------------------------------------------------------------------------------
    def init_host(self, context: CallContext, host: str) -> None:
        self.hostname = host
        if not self.binary:
            raise DriverError("qemu-system-x86_64 is not installed")
        net.check_namespace(self.settings.host_namespace)
        self.settings.instances.mkdir(parents=True, exist_ok=True)
        self.settings.image_cache.mkdir(parents=True, exist_ok=True)
        if self._accel is None and self._probe is None:
            self._probe = threading.Thread(
                target=self._decide_accel, name="qemu-accel-probe", daemon=True
            )
            self._probe.start()
        with contextlib.suppress(Exception):
            self.cleanup()

    def get_available_resource(self, context: CallContext) -> HostResources:
        version = host.qemu_version(self.binary) if self.binary else 0
        return HostResources(
            vcpus=host.vcpus(),
            memory_mb=host.memory_mb(),
            local_gb=host.disk_gb(self.settings.instances),
            hypervisor_type="QEMU",
            hypervisor_version=version,
            hypervisor_hostname=self.hostname,
            cpu_info=host.cpu_info(),
            supported_instances=(("x86_64", "qemu", "hvm"), ("i686", "qemu", "hvm")),
        )

    def list_instances(self, context: CallContext) -> list[str]:
        root = self.settings.instances
        if not root.is_dir():
            return []
        return sorted(
            p.name
            for p in root.iterdir()
            if not p.name.endswith(RESIZE_SUFFIX) and (p / "instance.json").is_file()
        )

    def recover_instance(
        self, context: CallContext, instance: InstanceMeta, power_state: int
    ) -> None:
        """Adopt what runs: a live QEMU is left alone (never started twice); a dead one stays
        off and the power-state sync reports it SHUTDOWN."""
        with self._locked(instance.uuid):
            defn = Definition.load(self._dir(instance.uuid))
            if defn is None:
                LOG.warning("instance %s has no definition on %s", instance.uuid, self.hostname)
                return
            pid = self._pid(instance.uuid)
            if pid is None:
                if power_state == states.RUNNING:
                    LOG.warning("instance %s: its QEMU is gone; it stays off", instance.uuid)
                return
            for nic in defn.nics:  # a host reboot would have taken the taps with QEMU
                if not net.exists(nic.tap, self.settings.host_namespace):
                    LOG.warning("instance %s: tap %s is missing", instance.uuid, nic.tap)
            LOG.info("adopted instance %s (QEMU pid %d)", instance.uuid, pid)

    def get_info(self, context: CallContext, instance: InstanceMeta) -> InstanceInfo:
        defn = self._load(instance.uuid)
        directory = self._dir(instance.uuid)
        pid = self._pid(instance.uuid)
        if pid is None:
            if (directory / STATE_FILE).is_file():
                return InstanceInfo(states.POWER_SUSPENDED, defn.name)
            return InstanceInfo(states.SHUTDOWN, defn.name)
        status = self._status(defn)
        if status is None:  # alive but QMP did not answer in time: it runs
            return InstanceInfo(states.RUNNING, defn.name)
        return InstanceInfo(STATUS_POWER.get(status, states.NOSTATE), defn.name)

    def qemu_pid(self, uuid: str) -> int | None:
        """The PID of the instance's QEMU, if it runs."""
        return self._pid(uuid)

    # -- starting and stopping QEMU -----------------------------------------------------------
    def _free_vnc_port(self, exclude: set[int] | None = None) -> int | None:
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

    def _ensure_vnc_port(self, defn: Definition) -> None:
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
        defn.vnc_port = self._free_vnc_port({port} if port is not None else None)

    def _start(self, defn: Definition, incoming: Path | None = None) -> int:
        directory = self._dir(defn.uuid)
        if self._pid(defn.uuid) is not None:
            raise DriverError(f"instance {defn.uuid} already runs")
        for nic in defn.nics:
            net.ensure_tap(nic.tap, nic.mac, self.settings.host_namespace)
        _trim_console(directory / CONSOLE_LOG)
        for sock in (defn.qmp_socket, defn.qmp_events_socket):
            Path(sock).parent.mkdir(parents=True, exist_ok=True)
            Path(sock).unlink(missing_ok=True)
        with self._ports_lock:
            self._ensure_vnc_port(defn)
            defn.save(directory)
            cmd = command(
                defn,
                directory,
                binary=self.binary,
                accel=self.accel(),
                vnc_listen=self.settings.vnc_listen,
                websocket_offset=self.settings.vnc_websocket_offset,
                incoming=incoming,
            )
            # QEMU attaches its taps by name in its own namespace: it runs in the host's
            cmd = net.in_namespace(cmd, self.settings.host_namespace)
            (directory / "qemu.cmdline").write_text(shlex.join(cmd) + "\n")
            pid = process.start(cmd, directory / PIDFILE, defn.uuid)
        if incoming is not None:
            self._finish_incoming(defn, pid, incoming)
        return pid

    def _finish_incoming(self, defn: Definition, pid: int, state: Path) -> None:
        deadline = time.monotonic() + 600
        while True:
            if not process.is_ours(pid, defn.uuid):
                raise DriverError(f"QEMU exited while restoring {defn.uuid} from {state}")
            status = self._status(defn)
            if status not in (None, "inmigrate"):
                break
            if time.monotonic() > deadline:
                raise DriverError(f"restoring {defn.uuid} took too long")
            time.sleep(0.05)
        if status != "running":
            self._qmp(defn, "cont")
        state.unlink(missing_ok=True)

    def _kill(self, uuid: str) -> None:
        pid = self._pid(uuid)
        if pid is not None:
            process.kill(pid, uuid)

    def _cleanup_sockets(self, defn: Definition) -> None:
        for sock in (defn.qmp_socket, defn.qmp_events_socket):
            if sock:
                Path(sock).unlink(missing_ok=True)

    def _shutdown(self, defn: Definition, timeout: float) -> bool:
        """ACPI power button, wait up to ``timeout`` for QEMU to exit, then kill.

        True when the guest shut itself down."""
        pid = self._pid(defn.uuid)
        if pid is None:
            return True
        clean = False
        if timeout > 0 and self._status(defn) == "running":
            try:
                self._qmp(defn, "system_powerdown")
                clean = process.wait_gone(pid, defn.uuid, timeout)
            except QMPError as exc:
                LOG.info("instance %s: ACPI power-off failed: %s", defn.uuid, exc)
        if not clean:
            process.kill(pid, defn.uuid)
        self._cleanup_sockets(defn)
        return clean

    # -- life cycle ----------------------------------------------------------------------------
    def _wants_config_drive(self, instance: InstanceMeta) -> bool:
        requested = getattr(instance, "config_drive", None)
        if isinstance(requested, str):
            requested = requested.strip().lower() in ("true", "1", "yes", "mandatory", "on")
        return bool(self.settings.force_config_drive or requested)

    def _make_root(
        self, directory: Path, image: ImageMeta | None, flavor: FlavorMeta
    ) -> tuple[CachedImage, bool]:
        if image is None:
            raise DriverNotSupported("booting from a volume is not supported by the QEMU driver")
        cached = self.cache.get(image.id)
        root_bytes = int(flavor.root_gb) * GiB
        boot_iso = (image.disk_format or "") == "iso"
        target = directory / ROOT_DISK
        target.unlink(missing_ok=True)
        if boot_iso:
            disks.create_overlay_blank(target, root_bytes or GiB)
        else:
            size = root_bytes if root_bytes > cached.virtual_size else 0
            disks.create_overlay(target, cached.path, cached.format, size)
        return cached, boot_iso

    def spawn(
        self,
        context: CallContext,
        instance: InstanceMeta,
        network_info: list[VIF],
        admin_password: str | None,
    ) -> None:
        uuid = instance.uuid
        with self._locked(uuid):
            directory = self._dir(uuid)
            if directory.exists():  # a leftover of an earlier attempt
                self._destroy_locked(uuid, [])
            directory.mkdir(parents=True)
            try:
                self._spawn(instance, directory, network_info, admin_password)
            except BaseException:
                with contextlib.suppress(Exception):
                    self._destroy_locked(uuid, network_info)
                raise

    def _spawn(
        self,
        instance: InstanceMeta,
        directory: Path,
        network_info: list[VIF],
        admin_password: str | None,
    ) -> None:
        flavor = instance.flavor
        cached, boot_iso = self._make_root(directory, instance.image, flavor)
        if flavor.ephemeral_gb:
            disks.create_ephemeral(directory / EPHEMERAL_DISK, flavor.ephemeral_gb)
        if flavor.swap:
            disks.create_swap(directory / SWAP_DISK, flavor.swap)
        config_drive = self._wants_config_drive(instance)
        if config_drive:
            configdrive.make(directory / CONFIG_DRIVE, instance, network_info, admin_password)
        qmp_main, qmp_events = socket_paths(
            directory, instance.uuid, self.settings.short_socket_dir
        )
        defn = Definition(
            uuid=instance.uuid,
            name=instance.name,
            hostname=instance.hostname,
            flavor=_flavor_dict(flavor),
            image_id=instance.image.id if instance.image else None,
            base=str(cached.path),
            base_format=cached.format,
            boot_iso=boot_iso,
            ephemeral=bool(flavor.ephemeral_gb),
            swap=bool(flavor.swap),
            config_drive=config_drive,
            nics=[_nic(v) for v in network_info],
            qmp_socket=qmp_main,
            qmp_events_socket=qmp_events,
            user_network=self.settings.user_network,
        )
        self._start(defn)

    def destroy(
        self,
        context: CallContext,
        instance: InstanceMeta,
        network_info: list[VIF],
        destroy_disks: bool = True,
    ) -> None:
        with self._locked(instance.uuid):
            self._destroy_locked(instance.uuid, network_info, destroy_disks)
        self._forget_lock(instance.uuid)
        with contextlib.suppress(Exception):
            self.cleanup()

    def _destroy_locked(
        self, uuid: str, network_info: list[VIF], destroy_disks: bool = True
    ) -> None:
        directory = self._dir(uuid)
        defn = Definition.load(directory)
        self._kill(uuid)
        taps = {net.tap_name(v.id) for v in network_info}
        if defn is not None:
            taps |= {n.tap for n in defn.nics}
            self._cleanup_sockets(defn)
        for tap in sorted(taps):
            try:
                net.delete_tap(tap, self.settings.host_namespace)
            except DriverError as exc:
                LOG.warning("instance %s: %s", uuid, exc)
        if destroy_disks:
            shutil.rmtree(directory, ignore_errors=True)
            if self._resize_dir(uuid).exists():
                self._resize_orphans[uuid] = time.monotonic()

    def rebuild(
        self,
        context: CallContext,
        instance: InstanceMeta,
        network_info: list[VIF],
        admin_password: str | None,
    ) -> None:
        with self._locked(instance.uuid):
            directory = self._dir(instance.uuid)
            defn = Definition.load(directory)
            if defn is None:
                self.spawn(context, instance, network_info, admin_password)
                return
            self._kill(instance.uuid)
            (directory / STATE_FILE).unlink(missing_ok=True)
            (directory / RESCUE_DISK).unlink(missing_ok=True)
            cached, boot_iso = self._make_root(directory, instance.image, instance.flavor)
            if defn.config_drive or self._wants_config_drive(instance):
                configdrive.make(directory / CONFIG_DRIVE, instance, network_info, admin_password)
                defn.config_drive = True
            defn.image_id = instance.image.id if instance.image else None
            defn.base, defn.base_format, defn.boot_iso = str(cached.path), cached.format, boot_iso
            defn.rescue = None
            defn.flavor = _flavor_dict(instance.flavor)
            defn.hostname = instance.hostname
            if network_info:
                defn.nics = [_nic(v) for v in network_info]
            self._start(defn)
        with contextlib.suppress(Exception):
            self.cleanup()

    def reboot(
        self, context: CallContext, instance: InstanceMeta, network_info: list[VIF], hard: bool
    ) -> None:
        with self._locked(instance.uuid):
            defn = self._load(instance.uuid)
            pid = self._pid(instance.uuid)
            if pid is None:
                (self._dir(instance.uuid) / STATE_FILE).unlink(missing_ok=True)
                self._start(defn)
                return
            status = self._status(defn)
            if not hard and status == "running" and self._soft_reboot(defn, pid):
                return
            self._qmp(defn, "system_reset")
            if status != "running":
                self._qmp(defn, "cont")

    def _soft_reboot(self, defn: Definition, pid: int) -> bool:
        """ctrl-alt-delete; True when the guest reset (or powered off and was started)."""
        timeout = float(self.settings.soft_reboot_timeout)
        if timeout <= 0:
            return False
        keys = [{"type": "qcode", "data": k} for k in ("ctrl", "alt", "delete")]
        try:
            with QMP(defn.qmp_events_socket, QMP_TIMEOUT) as events:
                self._qmp(defn, "send-key", {"keys": keys})
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
        self._cleanup_sockets(defn)
        self._start(defn)
        return True

    def power_off(self, context: CallContext, instance: InstanceMeta, timeout: int = 0) -> None:
        with self._locked(instance.uuid):
            defn = self._load(instance.uuid)
            self._shutdown(defn, float(timeout))
            (self._dir(instance.uuid) / STATE_FILE).unlink(missing_ok=True)

    def power_on(
        self, context: CallContext, instance: InstanceMeta, network_info: list[VIF]
    ) -> None:
        with self._locked(instance.uuid):
            defn = self._load(instance.uuid)
            if self._pid(instance.uuid) is not None:
                status = self._status(defn)
                if status not in ("running", None):
                    self._qmp(defn, "cont")
                return
            state = self._dir(instance.uuid) / STATE_FILE
            self._start(defn, incoming=state if state.is_file() else None)

    def _running(self, instance: InstanceMeta) -> Definition:
        defn = self._load(instance.uuid)
        if self._pid(instance.uuid) is None:
            raise DriverError(f"instance {instance.uuid} is not running")
        return defn

    def pause(self, context: CallContext, instance: InstanceMeta) -> None:
        with self._locked(instance.uuid):
            self._qmp(self._running(instance), "stop")

    def unpause(self, context: CallContext, instance: InstanceMeta) -> None:
        with self._locked(instance.uuid):
            self._qmp(self._running(instance), "cont")

    def suspend(self, context: CallContext, instance: InstanceMeta) -> None:
        """Save the guest's RAM and device state to ``memory.state`` and stop QEMU."""
        with self._locked(instance.uuid):
            defn = self._running(instance)
            pid = self._pid(instance.uuid)
            directory = self._dir(instance.uuid)
            state = directory / STATE_FILE
            part = directory / f".{STATE_FILE}.part"
            part.unlink(missing_ok=True)
            was_running = self._status(defn) == "running"
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
                        raise DriverError(
                            f"saving {instance.uuid} failed: {info.get('error-desc', status)}"
                        )
                    time.sleep(0.05)
            os.replace(part, state)
            if pid is not None:
                process.kill(pid, instance.uuid)
            self._cleanup_sockets(defn)

    def resume(self, context: CallContext, instance: InstanceMeta, network_info: list[VIF]) -> None:
        with self._locked(instance.uuid):
            defn = self._load(instance.uuid)
            if self._pid(instance.uuid) is not None:
                if self._status(defn) != "running":
                    self._qmp(defn, "cont")
                return
            state = self._dir(instance.uuid) / STATE_FILE
            if not state.is_file():
                raise DriverError(f"instance {instance.uuid} has no saved state to resume")
            self._start(defn, incoming=state)

    def trigger_crash_dump(self, context: CallContext, instance: InstanceMeta) -> None:
        with self._locked(instance.uuid):
            self._qmp(self._running(instance), "inject-nmi")

    def set_admin_password(
        self, context: CallContext, instance: InstanceMeta, new_password: str
    ) -> None:
        raise DriverNotSupported("setting the admin password needs a guest agent")

    # -- images and rescue ---------------------------------------------------------------------
    def snapshot(self, context: CallContext, instance: InstanceMeta) -> DiskImage:
        """A standalone qcow2 of the root disk, taken while the guest is paused."""
        with self._locked(instance.uuid):
            defn = self._load(instance.uuid)
            directory = self._dir(instance.uuid)
            target = directory / f".snapshot-{uuidlib.uuid4().hex}.qcow2"
            paused = False
            if self._pid(instance.uuid) is not None and self._status(defn) == "running":
                self._qmp(defn, "stop")  # stop flushes QEMU's caches to the file
                paused = True
            try:
                disks.flatten(directory / ROOT_DISK, target)
            finally:
                if paused:
                    self._qmp(defn, "cont")
            f = open(target, "rb")  # noqa: SIM115 - closed by the generator
            target.unlink()  # the open file keeps the data; nothing is left behind

        def chunks() -> Iterator[bytes]:
            with f:
                while chunk := f.read(1 << 20):
                    yield chunk

        return DiskImage(disk_format="qcow2", container_format="bare", chunks=chunks())

    def rescue(
        self,
        context: CallContext,
        instance: InstanceMeta,
        network_info: list[VIF],
        rescue_image: ImageMeta | None,
        rescue_password: str | None,
    ) -> None:
        with self._locked(instance.uuid):
            defn = self._load(instance.uuid)
            image_id = (rescue_image.id if rescue_image else None) or defn.image_id
            if not image_id:
                raise DriverError(f"instance {instance.uuid} has no image to rescue with")
            self._kill(instance.uuid)
            self._cleanup_sockets(defn)
            directory = self._dir(instance.uuid)
            (directory / STATE_FILE).unlink(missing_ok=True)
            cached = self.cache.get(image_id)
            (directory / RESCUE_DISK).unlink(missing_ok=True)
            disks.create_overlay(directory / RESCUE_DISK, cached.path, cached.format)
            defn.rescue = {
                "image_id": image_id,
                "base": str(cached.path),
                "base_format": cached.format,
            }
            self._start(defn)

    def unrescue(self, context: CallContext, instance: InstanceMeta) -> None:
        with self._locked(instance.uuid):
            defn = self._load(instance.uuid)
            self._kill(instance.uuid)
            self._cleanup_sockets(defn)
            (self._dir(instance.uuid) / RESCUE_DISK).unlink(missing_ok=True)
            defn.rescue = None
            self._start(defn)

    # -- resize and cold migration (this host only) --------------------------------------------
    def migrate_disk_and_power_off(
        self,
        context: CallContext,
        instance: InstanceMeta,
        migration: MigrationMeta,
        flavor: FlavorMeta,
        network_info: list[VIF],
    ) -> dict[str, Any]:
        if migration.dest_host and migration.dest_host != self.hostname:
            raise DriverNotSupported(
                "the QEMU driver resizes and migrates on the same host only "
                f"({self.hostname} -> {migration.dest_host})"
            )
        with self._locked(instance.uuid):
            defn = self._load(instance.uuid)
            if flavor.root_gb and flavor.root_gb * GiB < disks.virtual_size(
                self._dir(instance.uuid) / ROOT_DISK
            ):
                raise DriverError("the new flavor's root disk is smaller than the current one")
            self._shutdown(defn, float(self.settings.soft_reboot_timeout))
            directory = self._dir(instance.uuid)
            (directory / STATE_FILE).unlink(missing_ok=True)
            backup = self._resize_dir(instance.uuid)
            shutil.rmtree(backup, ignore_errors=True)
            backup.mkdir()
            for name in (ROOT_DISK, EPHEMERAL_DISK, SWAP_DISK, CONFIG_DRIVE, "instance.json"):
                if (directory / name).exists():
                    disks.copy(directory / name, backup / name)
            self._resize_orphans.pop(instance.uuid, None)
        return {"instance_dir": str(directory), "backup_dir": str(backup)}

    def finish_migration(
        self,
        context: CallContext,
        instance: InstanceMeta,
        migration: MigrationMeta,
        disk_info: dict[str, Any],
        network_info: list[VIF],
        power_on: bool,
    ) -> None:
        with self._locked(instance.uuid):
            defn = self._load(instance.uuid)
            directory = self._dir(instance.uuid)
            flavor = instance.flavor
            if flavor.root_gb:
                disks.grow(directory / ROOT_DISK, flavor.root_gb * GiB)
            old_eph = int(defn.flavor.get("ephemeral_gb") or 0)
            if flavor.ephemeral_gb != old_eph:
                (directory / EPHEMERAL_DISK).unlink(missing_ok=True)
                if flavor.ephemeral_gb:
                    disks.create_ephemeral(directory / EPHEMERAL_DISK, flavor.ephemeral_gb)
            if int(flavor.swap) != int(defn.flavor.get("swap") or 0):
                (directory / SWAP_DISK).unlink(missing_ok=True)
                if flavor.swap:
                    disks.create_swap(directory / SWAP_DISK, flavor.swap)
            defn.flavor = _flavor_dict(flavor)
            defn.ephemeral, defn.swap = bool(flavor.ephemeral_gb), bool(flavor.swap)
            if network_info:
                defn.nics = [_nic(v) for v in network_info]
            defn.save(directory)
            if power_on:
                self._start(defn)

    def confirm_migration(
        self,
        context: CallContext,
        instance: InstanceMeta,
        migration: MigrationMeta,
        network_info: list[VIF],
    ) -> None:
        with self._locked(instance.uuid):
            shutil.rmtree(self._resize_dir(instance.uuid), ignore_errors=True)
            self._resize_orphans.pop(instance.uuid, None)

    def finish_revert_migration(
        self,
        context: CallContext,
        instance: InstanceMeta,
        migration: MigrationMeta,
        network_info: list[VIF],
        power_on: bool,
    ) -> None:
        with self._locked(instance.uuid):
            directory = self._dir(instance.uuid)
            backup = self._resize_dir(instance.uuid)
            self._kill(instance.uuid)
            if backup.is_dir():
                old = Definition.load(directory)
                if old is not None:
                    self._cleanup_sockets(old)
                shutil.rmtree(directory, ignore_errors=True)
                backup.rename(directory)
            self._resize_orphans.pop(instance.uuid, None)
            defn = self._load(instance.uuid)
            defn.flavor = _flavor_dict(instance.flavor)
            if network_info:
                defn.nics = [_nic(v) for v in network_info]
            defn.save(directory)
            if power_on:
                self._start(defn)

    # -- consoles and diagnostics --------------------------------------------------------------
    def get_console_output(self, context: CallContext, instance: InstanceMeta) -> str:
        self._load(instance.uuid)
        path = self._dir(instance.uuid) / CONSOLE_LOG
        try:
            with open(path, "rb") as f:
                size = f.seek(0, os.SEEK_END)
                f.seek(max(0, size - CONSOLE_MAX_BYTES))
                data = f.read()
        except FileNotFoundError:
            return ""
        text = data.decode("utf-8", errors="replace")
        return text.replace("\r\n", "\n").replace("\x00", "")

    def get_vnc_console(self, context: CallContext, instance: InstanceMeta) -> ConsoleInfo:
        defn = self._running(instance)
        if defn.vnc_port is None:
            raise DriverError(f"instance {instance.uuid} has no VNC console")
        return ConsoleInfo(host=self.settings.vnc_listen, port=defn.vnc_port)

    def vnc_websocket_port(self, instance: InstanceMeta) -> int | None:
        defn = self._load(instance.uuid)
        if defn.vnc_port is None:
            return None
        return defn.vnc_port + self.settings.vnc_websocket_offset

    def get_diagnostics(self, context: CallContext, instance: InstanceMeta) -> dict[str, Any]:
        defn = self._load(instance.uuid)
        info = self.get_info(context, instance)
        pid = self._pid(instance.uuid)
        uptime = 0
        blockstats: list[dict[str, Any]] = []
        if pid is not None:
            with contextlib.suppress(OSError):
                uptime = int(time.time() - os.stat(f"/proc/{pid}").st_mtime)
            with contextlib.suppress(QMPError, TypeError):
                blockstats = list(self._qmp(defn, "query-blockstats") or [])
        return {
            "state": states.POWER_STATE_NAMES.get(info.power_state, "pending"),
            "driver": "qemu",
            "hypervisor": self._accel or "qemu",
            "hypervisor_os": "linux",
            "uptime": uptime,
            "config_drive": defn.config_drive,
            "num_cpus": defn.vcpus,
            "num_nics": len(defn.nics),
            "num_disks": 1 + int(defn.ephemeral) + int(defn.swap),
            "cpu_details": [],
            "nic_details": [
                {"mac_address": n.mac, "rx_octets": None, "tx_octets": None} for n in defn.nics
            ],
            "disk_details": [
                {
                    "read_bytes": s.get("stats", {}).get("rd_bytes", 0),
                    "read_requests": s.get("stats", {}).get("rd_operations", 0),
                    "write_bytes": s.get("stats", {}).get("wr_bytes", 0),
                    "write_requests": s.get("stats", {}).get("wr_operations", 0),
                    "errors_count": 0,
                }
                for s in blockstats
                if str(s.get("device", "")).startswith("drive-vd")
            ],
            "memory_details": {"maximum": defn.memory_mb, "used": 0},
        }

    # -- devices -------------------------------------------------------------------------------
    def attach_interface(self, context: CallContext, instance: InstanceMeta, vif: VIF) -> None:
        with self._locked(instance.uuid):
            defn = self._load(instance.uuid)
            if any(n.port_id == vif.id for n in defn.nics):
                return
            nic = _nic(vif)
            if self._pid(instance.uuid) is not None:
                net.ensure_tap(nic.tap, nic.mac, self.settings.host_namespace)
                args = {
                    "type": "tap",
                    "id": nic.netdev_id,
                    "ifname": nic.tap,
                    "script": "no",
                    "downscript": "no",
                }
                self._qmp(defn, "netdev_add", args)
                try:
                    self._qmp(
                        defn,
                        "device_add",
                        {
                            "driver": "virtio-net-pci",
                            "netdev": nic.netdev_id,
                            "id": nic.device_id,
                            "mac": nic.mac,
                        },
                    )
                except QMPError:
                    with contextlib.suppress(QMPError):
                        self._qmp(defn, "netdev_del", {"id": nic.netdev_id})
                    net.delete_tap(nic.tap, self.settings.host_namespace)
                    raise
            defn.nics.append(nic)
            defn.save(self._dir(instance.uuid))

    def detach_interface(self, context: CallContext, instance: InstanceMeta, vif: VIF) -> None:
        with self._locked(instance.uuid):
            defn = self._load(instance.uuid)
            nic = next((n for n in defn.nics if n.port_id == vif.id), None)
            if nic is None:
                return
            if self._pid(instance.uuid) is not None:
                with QMP(defn.qmp_events_socket, QMP_TIMEOUT) as events:
                    try:
                        self._qmp(defn, "device_del", {"id": nic.device_id})
                    except QMPError as exc:
                        if exc.error_class != "DeviceNotFound":
                            raise
                    else:
                        if events.wait_event("DEVICE_DELETED", 20) is None:
                            raise DriverError(
                                f"the guest did not release interface {vif.id} in time"
                            )
                with contextlib.suppress(QMPError):
                    self._qmp(defn, "netdev_del", {"id": nic.netdev_id})
            net.delete_tap(nic.tap, self.settings.host_namespace)
            defn.nics = [n for n in defn.nics if n.port_id != vif.id]
            defn.save(self._dir(instance.uuid))

    def attach_volume(
        self,
        context: CallContext,
        instance: InstanceMeta,
        connection_info: dict[str, Any],
        mountpoint: str,
    ) -> None:
        raise DriverNotSupported("volumes are not supported by the QEMU driver yet")

    def detach_volume(
        self,
        context: CallContext,
        instance: InstanceMeta,
        connection_info: dict[str, Any],
        mountpoint: str,
    ) -> None:
        raise DriverNotSupported("volumes are not supported by the QEMU driver yet")

    # -- housekeeping --------------------------------------------------------------------------
    def images_in_use(self) -> set[str]:
        found: set[str] = set()
        root = self.settings.instances
        if root.is_dir():
            for p in root.iterdir():
                defn = Definition.load(p)
                if defn is not None:
                    found |= defn.images_in_use()
        return found

    def cleanup(self, max_age: float | None = None) -> list[str]:
        """Drop cached images no instance uses and orphaned resize copies; the removed ids."""
        now = time.monotonic()
        root = self.settings.instances
        if root.is_dir():
            for p in root.iterdir():
                if not p.name.endswith(RESIZE_SUFFIX):
                    continue
                uuid = p.name[: -len(RESIZE_SUFFIX)]
                if (root / uuid).exists():
                    continue
                first_seen = self._resize_orphans.setdefault(uuid, now)
                if now - first_seen >= RESIZE_ORPHAN_SECONDS:
                    shutil.rmtree(p, ignore_errors=True)
                    self._resize_orphans.pop(uuid, None)
        age = self.settings.image_cache_max_age if max_age is None else max_age
        return self.cache.cleanup(self.images_in_use(), age)


def _trim_console(path: Path) -> None:
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


def _nic(vif: VIF) -> Nic:
    return Nic(port_id=vif.id, mac=vif.address, tap=net.tap_name(vif.id), network_id=vif.network_id)


def _flavor_dict(flavor: FlavorMeta) -> dict[str, Any]:
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
