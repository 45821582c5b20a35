"""KVM or TCG: decide by booting the test guest under KVM and seeing it reach userspace.

``/dev/kvm`` being there is not enough: on some hosts (nested "PVM"
virtualisation) QEMU starts under KVM and the guest kernel then hangs. So with
``[compute] accel = auto`` the test image is booted briefly with ``-accel kvm``
(snapshot mode, no network) and KVM is used only if the guest prints its
``TINYSTACK-GUEST-INIT`` line in time. The answer is cached in a JSON file,
keyed by the host kernel, the QEMU version and the image, so the probe runs
once per host configuration.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from tinystack.guest import qemu
from tinystack.guest.scripts import INIT_MARKER

SETTINGS = ("auto", "kvm", "tcg")
KVM_DEVICE = Path("/dev/kvm")
CACHE_FILE = "accel-probe.json"
CACHE_VERSION = 1
PROBE_TIMEOUT = 15.0

#: (works, why)
Verdict = tuple[bool, str]


@dataclass(frozen=True)
class Decision:
    accel: str
    reason: str
    #: "configured", "probe", "cache" or "fallback"
    source: str
    key: str = ""
    seconds: float = 0.0


def kvm_device_usable(device: Path = KVM_DEVICE) -> Verdict:
    if not device.exists():
        return False, f"{device} does not exist"
    if not os.access(device, os.R_OK | os.W_OK):
        return False, f"no read/write access to {device}"
    return True, f"{device} is usable"


def qemu_version() -> str:
    binary = qemu.qemu_binary()
    if binary is None:
        return "absent"
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30)
    return out.stdout.splitlines()[0] if out.stdout else "unknown"


def cache_key(image: Path, qemu_ver: str, host_kernel: str | None = None) -> str:
    st = image.stat()
    parts = [
        str(CACHE_VERSION),
        host_kernel or platform.release(),
        qemu_ver,
        str(image.resolve()),
        str(st.st_size),
        str(st.st_mtime_ns),
    ]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def load_cached(cache_file: Path, key: str) -> Decision | None:
    try:
        data = json.loads(cache_file.read_text())
        decision = Decision(**data)
    except (OSError, ValueError, TypeError):
        return None
    if decision.key != key or decision.accel not in ("kvm", "tcg"):
        return None
    return decision


def save_cached(cache_file: Path, decision: Decision) -> None:
    cache_file.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache_file.with_name(cache_file.name + ".part")
    tmp.write_text(json.dumps(asdict(decision), indent=2) + "\n")
    os.replace(tmp, cache_file)


def probe_kvm(image: Path, timeout: float = PROBE_TIMEOUT) -> Verdict:
    """Boot ``image`` under KVM (snapshot, no NIC); did it reach userspace within ``timeout``?"""
    if qemu.qemu_binary() is None:
        return False, "qemu-system-x86_64 is not installed"
    with tempfile.TemporaryDirectory(prefix="tsguest-kvmprobe-") as tmp:
        work = Path(tmp)
        cmd = qemu.base_command(
            image, work / "serial.log", work / "qmp.sock", accel="kvm", snapshot=True
        )
        started = time.monotonic()
        with qemu.Guest(cmd, work / "serial.log", work / "qmp.sock") as guest:
            found = guest.wait_for(INIT_MARKER, timeout)
            took = time.monotonic() - started
            if found:
                return True, f"guest reached userspace under KVM in {took:.1f}s"
            if not guest.running():
                err = guest.qemu_stderr().strip().splitlines()
                return False, f"QEMU with -accel kvm exited: {err[-1] if err else 'no message'}"
            lines = [ln.strip() for ln in guest.console().splitlines() if ln.strip()]
            last = f" (last console line: {lines[-1][:120]!r})" if lines else " (no console output)"
            return False, f"guest did not reach userspace under KVM within {timeout:.0f}s{last}"


def decide(
    setting: str,
    *,
    device: Verdict,
    cached: Decision | None,
    probe: Callable[[], Verdict] | None,
    key: str = "",
) -> Decision:
    """The pure decision: ``probe`` is None when there is no image to probe with."""
    if setting not in SETTINGS:
        raise ValueError(f"accel must be one of {', '.join(SETTINGS)}, not {setting!r}")
    if setting != "auto":
        return Decision(setting, f"[compute] accel = {setting}", "configured")
    usable, why = device
    if not usable:
        return Decision("tcg", why, "fallback")
    if cached is not None:
        return Decision(cached.accel, cached.reason, "cache", cached.key, cached.seconds)
    if probe is None:
        return Decision("tcg", "no test image to probe KVM with", "fallback")
    started = time.monotonic()
    works, why = probe()
    return Decision("kvm" if works else "tcg", why, "probe", key, time.monotonic() - started)


def choose_accel(
    setting: str = "auto",
    *,
    image: Path | None,
    cache_file: Path | None,
    timeout: float = PROBE_TIMEOUT,
    device: Path = KVM_DEVICE,
    prober: Callable[[Path, float], Verdict] = probe_kvm,
) -> Decision:
    """``kvm`` or ``tcg`` for ``setting``; with ``auto``, probe (once) with ``image``."""
    if setting != "auto":
        return decide(setting, device=(False, ""), cached=None, probe=None)
    verdict = kvm_device_usable(device)
    if not verdict[0] or image is None or not image.is_file():
        return decide(setting, device=verdict, cached=None, probe=None)
    key = cache_key(image, qemu_version())
    cached = load_cached(cache_file, key) if cache_file else None
    decision = decide(
        setting, device=verdict, cached=cached, probe=lambda: prober(image, timeout), key=key
    )
    if decision.source == "probe" and cache_file is not None:
        save_cached(cache_file, decision)
    return decision
