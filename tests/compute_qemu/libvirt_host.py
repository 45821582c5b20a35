"""The libvirtd the compute QEMU tests run their libvirt-driver guests under.

The system's libvirtd when one answers at ``qemu:///system``; otherwise one started here
(``virtlogd`` and ``libvirtd`` in the foreground, stopped by PID at the end). The tests'
domains are named ``tslv-<uuid>`` and removed, with their secrets, whatever happened.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager

from tinystack.compute.virt.driver import DriverError
from tinystack.compute.virt.libvirt import connection

URI = "qemu:///system"
#: the test domains' name prefix (never another one: others' domains are left alone)
PREFIX = "tslv-"


def skip_reason() -> str | None:
    try:
        connection.bindings()
    except DriverError as exc:
        return str(exc)
    if shutil.which("libvirtd") is None or shutil.which("virtlogd") is None:
        return "libvirt-daemon-system is not installed"
    return None


@contextmanager
def running_libvirtd() -> Iterator[None]:
    """A libvirtd at URI for the block: the system's, or one started (and stopped) here."""
    if connection.usable(URI)[0]:
        yield
        return
    procs = [subprocess.Popen([name], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
             for name in ("virtlogd", "libvirtd")]  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while not connection.usable(URI)[0]:
            if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                raise RuntimeError("libvirtd did not start")
            time.sleep(0.2)
        yield
    finally:
        for proc in reversed(procs):
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def remove_test_domains() -> list[str]:
    """Destroy and undefine the tests' domains and secrets (named with PREFIX)."""
    ok, _ = connection.usable(URI)
    if not ok:
        return []
    lib = connection.bindings()
    conn = connection.open_connection(URI)
    removed = []
    try:
        for dom in conn.listAllDomains(0):
            if not str(dom.name()).startswith(PREFIX):
                continue
            try:
                if dom.isActive():
                    dom.destroy()
                dom.undefineFlags(lib.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE)
            except lib.libvirtError:
                continue
            removed.append(str(dom.name()))
        for secret in conn.listAllSecrets(0):
            if str(secret.usageID() or "").startswith(PREFIX):
                secret.undefine()
    finally:
        connection.close_quietly(conn)
    return removed
