"""Fixtures for the volume data-path tests: real qemu-img, qemu-io and
qemu-storage-daemon on temporary directories.

Every daemon a test starts keeps its sockets and pidfile under the test's own run
directory (``/tmp/tsvd-<random>``); the finalizer stops the driver and then kills, by
PID, any qemu-storage-daemon whose command line names that directory — so a failing
test leaves nothing behind and no other daemon on the machine is touched. NBD ports
come from 21100-21199 (this area's range).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from tests.cloudproc import free_port
from tinystack.volume.drivers.file import FileDriver

TOOLS = ("qemu-img", "qemu-io", "qemu-storage-daemon")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        skip = pytest.mark.skip(reason=f"not installed: {', '.join(missing)}")
        for item in items:
            if "volume_driver" in str(item.fspath):
                item.add_marker(skip)


def kill_daemons_under(run_dir: Path) -> None:
    """Kill (by PID) every qemu-storage-daemon whose command line names ``run_dir``."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            args = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if (
            args
            and args[0].endswith(b"qemu-storage-daemon")
            and any(str(run_dir).encode() in a for a in args)
        ):
            try:
                os.kill(int(entry), signal.SIGKILL)
            except ProcessLookupError:
                pass


@pytest.fixture
def run_dir() -> Iterator[Path]:
    path = Path(f"/tmp/tsvd-{uuid.uuid4().hex[:10]}")
    path.mkdir()
    try:
        yield path
    finally:
        kill_daemons_under(path)
        shutil.rmtree(path, ignore_errors=True)


def make_driver(
    directory: Path, run_dir: Path, fmt: str = "qcow2", port: int | None = None, **kw: object
) -> FileDriver:
    driver = FileDriver(
        directory,
        capacity_gb=100,
        backend_name="file1",
        host_address="127.0.0.1",
        volume_format=fmt,
        host="storage-host",
        nbd_port=port or free_port(),
        run_dir=run_dir,
        **kw,  # type: ignore[arg-type]
    )
    driver.do_setup()
    return driver


@pytest.fixture(params=["qcow2", "raw"])
def driver(request: pytest.FixtureRequest, tmp_path: Path, run_dir: Path) -> Iterator[FileDriver]:
    drv = make_driver(tmp_path / "vols", run_dir, request.param)
    try:
        yield drv
    finally:
        drv.close()


@pytest.fixture
def qcow2_driver(tmp_path: Path, run_dir: Path) -> Iterator[FileDriver]:
    drv = make_driver(tmp_path / "vols", run_dir, "qcow2")
    try:
        yield drv
    finally:
        drv.close()


def qemu_io(target: str, fmt: str, command: str, *extra: str) -> str:
    """Run one qemu-io command; its output (fails the test on a pattern mismatch)."""
    proc = subprocess.run(
        ["qemu-io", "-f", fmt, *extra, "-c", command, target],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "Pattern verification failed" not in out, out
    assert "failed" not in out.lower(), out
    return out


def nbd_url(data: Mapping[str, object]) -> str:
    return f"nbd://{data['host']}:{data['port']}/{data['export_name']}"
