"""Fixtures for the QEMU driver tests: the test image, a driver on a temporary state
directory, and finalizers that kill every QEMU started under it (by PID) and remove the
taps the tests made, whatever happened.

Every module whose tests take the ``harness`` runs them with the QEMU driver; a module
that sets ``DRIVERS = ("qemu", "libvirt")`` runs them once more with the libvirt driver
(its guests as ``tslv-`` domains of a libvirtd, see :mod:`.libvirt_host`), unchanged. To
keep the suite's time, the libvirt run takes only the module's ``LIBVIRT_SUBSET`` (the
tests whose code paths differ under libvirt) unless ``TINYSTACK_LIBVIRT_TESTS=all``.

Guests run under TCG with no NIC (or a tap nobody bridges): nothing here touches bridges
or the host's network.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.compute_qemu import libvirt_host
from tests.network_dataplane.support import PATIENCE
from tinystack.common.rpc.context import CallContext
from tinystack.compute.objects import FlavorMeta, ImageMeta, InstanceMeta
from tinystack.compute.virt.libvirt.driver import LibvirtDriver
from tinystack.compute.virt.qemu import process
from tinystack.compute.virt.qemu.driver import QemuDriver
from tinystack.compute.virt.qemu.imagecache import FileImageSource
from tinystack.compute.virt.qemu.settings import QemuSettings
from tinystack.guest import build, hostdeps, scripts

READY = scripts.READY_MARKER
TEST_TAP_PREFIX = "tapc0ffee"
#: network namespaces the tests make (hosts standing in a namespace) start with this
TEST_NETNS_PREFIX = TEST_TAP_PREFIX + "-ns"


def _skip_reason() -> str | None:
    if os.geteuid() != 0:
        return "the QEMU driver needs root (taps)"
    if shutil.which("qemu-system-x86_64") is None or shutil.which("qemu-img") is None:
        return "qemu-system-x86_64 / qemu-img are not installed"
    missing = hostdeps.missing_packages(hostdeps.BUILD_PACKAGES)
    if missing:
        return "cannot build the test image: missing " + ", ".join(missing)
    return None


SKIP = _skip_reason()


LIBVIRT_SKIP = SKIP or libvirt_host.skip_reason()
LIBVIRT_ALL = os.environ.get("TINYSTACK_LIBVIRT_TESTS") == "all"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "driver_kind" in metafunc.fixturenames:
        kinds = getattr(metafunc.module, "DRIVERS", ("qemu",))
        metafunc.parametrize("driver_kind", kinds, scope="module")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "compute_qemu" in str(item.fspath) and "test_factory" not in str(item.fspath):
            item.add_marker(pytest.mark.root)
            if SKIP:
                item.add_marker(pytest.mark.skip(reason=SKIP))
            callspec = getattr(item, "callspec", None)
            if not callspec or callspec.params.get("driver_kind") != "libvirt":
                continue
            if LIBVIRT_SKIP:
                item.add_marker(pytest.mark.skip(reason=LIBVIRT_SKIP))
            subset = getattr(getattr(item, "module", None), "LIBVIRT_SUBSET", None)
            name = getattr(item, "originalname", item.name)
            if subset is not None and name not in subset and not LIBVIRT_ALL:
                reason = "not in the libvirt subset (TINYSTACK_LIBVIRT_TESTS=all runs it)"
                item.add_marker(pytest.mark.skip(reason=reason))


def qemu_pids_under(path: Path) -> list[int]:
    """PIDs of QEMU processes whose command line mentions ``path``."""
    found = []
    needle = str(path)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            args = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if args and b"qemu" in args[0] and any(needle.encode() in a for a in args):
            found.append(int(entry.name))
    return found


def kill_qemus_under(path: Path) -> list[int]:
    pids = qemu_pids_under(path)
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 10
    while qemu_pids_under(path) and time.monotonic() < deadline:
        time.sleep(0.05)
    return pids


def remove_test_taps() -> list[str]:
    removed = []
    for dev in Path("/sys/class/net").iterdir():
        if dev.name.startswith(TEST_TAP_PREFIX):
            subprocess.run(["ip", "link", "del", "dev", dev.name], capture_output=True)
            removed.append(dev.name)
    return removed


def remove_test_namespaces() -> list[str]:
    """Delete the tests' network namespaces (kill the QEMUs in them first)."""
    removed = []
    netns = Path("/run/netns")
    for entry in sorted(netns.iterdir()) if netns.is_dir() else []:
        if entry.name.startswith(TEST_NETNS_PREFIX):
            subprocess.run(["ip", "netns", "delete", entry.name], capture_output=True)
            removed.append(entry.name)
    return removed


@pytest.fixture(scope="session")
def test_image(tmp_path_factory: pytest.TempPathFactory) -> Path:
    result = build.build_test_image(tmp_path_factory.mktemp("tsq-image"))
    return result.image


@pytest.fixture(scope="session")
def images(test_image: Path) -> FileImageSource:
    source = FileImageSource()
    source.add("img-test", test_image)
    source.add("img-test-2", test_image)
    return source


class Harness:
    def __init__(self, state: Path, source: FileImageSource, kind: str = "qemu") -> None:
        self.state = state
        self.source = source
        self.kind = kind
        self.ctx = CallContext.internal()
        self.driver = self.new_driver()

    def settings(self) -> QemuSettings:
        return QemuSettings(
            state_dir=self.state,
            accel="tcg",
            force_config_drive=True,
            soft_reboot_timeout=30,
            vnc_port_min=15900,
            vnc_port_max=15999,
        )

    def new_driver(self) -> QemuDriver:
        if self.kind == "libvirt":
            driver: QemuDriver = LibvirtDriver(
                "qemu-test-host",
                self.settings(),
                self.source,
                uri=libvirt_host.URI,
                prefix=libvirt_host.PREFIX,
            )
        else:
            driver = QemuDriver("qemu-test-host", self.settings(), self.source)
        driver.init_host(self.ctx, "qemu-test-host")
        return driver

    def instance(
        self,
        uuid: str,
        hostname: str,
        *,
        memory_mb: int = 256,
        image: str = "img-test",
        root_gb: int = 1,
        ephemeral_gb: int = 0,
        swap: int = 0,
        user_data: str | None = None,
    ) -> InstanceMeta:
        return InstanceMeta(
            uuid=uuid,
            name=f"instance-{hostname}",
            hostname=hostname,
            project_id="p-test",
            user_id="u-test",
            flavor=FlavorMeta(
                flavorid=f"f-{memory_mb}",
                name=f"test.{memory_mb}",
                vcpus=1,
                memory_mb=memory_mb,
                root_gb=root_gb,
                ephemeral_gb=ephemeral_gb,
                swap=swap,
            ),
            image=ImageMeta(id=image, disk_format="qcow2"),
            user_data=user_data,
        )

    def started_with(self, uuid: str, pid: int) -> str:
        """What the guest's QEMU was started from: its command line (QEMU driver), or its
        live domain XML (libvirt driver, which hands QEMU file descriptors, not names)."""
        if self.kind == "libvirt":
            name = f"{libvirt_host.PREFIX}{uuid}"
            virsh = ["virsh", "-c", libvirt_host.URI, "dumpxml", name]
            return subprocess.run(virsh, capture_output=True, text=True, check=True).stdout
        return " ".join(process.cmdline(pid))

    def console(self, inst: InstanceMeta) -> str:
        return self.driver.get_console_output(self.ctx, inst)

    def wait_console(
        self, inst: InstanceMeta, pattern: str, count: int = 1, timeout: float = 45
    ) -> list[Any]:
        """Wait until ``pattern`` appears ``count`` times on the console; the matches (strings,
        or tuples of the groups when the pattern has several)."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout * PATIENCE  # TCG boots slow down under load
        while True:
            console = self.console(inst)
            # whole lines only: one can be read half-written
            found = regex.findall(console[: console.rfind("\n") + 1])
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                tail = self.console(inst)[-2500:]
                raise AssertionError(f"{pattern!r} x{count} not seen in {timeout}s:\n{tail}")
            time.sleep(0.1)


@pytest.fixture(scope="module")
def harness(
    tmp_path_factory: pytest.TempPathFactory, images: FileImageSource, driver_kind: str
) -> Iterator[Harness]:
    state = tmp_path_factory.mktemp("tsq-state")
    if driver_kind == "libvirt":
        with libvirt_host.running_libvirtd():
            try:
                yield Harness(state, images, driver_kind)
            finally:
                libvirt_host.remove_test_domains()
                cleanup_state(state)
        return
    try:
        yield Harness(state, images)
    finally:
        cleanup_state(state)


def cleanup_state(state: Path, *, test_devices: bool = True) -> None:
    """Kill the QEMUs of ``state`` by PID, remove the short socket paths and (``test_devices``)
    the taps and namespaces of this directory's fixed test VIFs (``tapc0ffee*``: only tests
    of the same xdist lane as this directory's may remove them)."""
    kill_qemus_under(state)
    if test_devices:
        remove_test_taps()
        remove_test_namespaces()
    short = QemuSettings(state_dir=state).short_socket_dir
    instances = state / "instances"
    if short.is_dir() and instances.is_dir():
        uuids = {p.name for p in instances.iterdir()}
        for sock in short.iterdir():
            if sock.name.split(".")[0] in uuids:
                sock.unlink(missing_ok=True)
