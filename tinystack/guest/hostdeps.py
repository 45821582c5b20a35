"""The Debian packages the guest image build (and a test boot) needs, and their installer.

What is checked is what the build uses (a file or a command), each mapped to the
Debian package that provides it, so a host with the right files but other
packages (a hand-installed kernel, say) passes too.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from tinystack.guest import kernel as kernel_mod

#: packages the image build needs
BUILD_PACKAGES = (
    "linux-image-cloud-amd64",
    "busybox-static",
    "dropbear-bin",
    "grub-pc-bin",
    "grub-common",
    "xorriso",
    "mtools",
    "qemu-utils",
)
#: what booting the image needs on top (tests, the KVM probe)
BOOT_PACKAGES = ("qemu-system-x86",)

GRUB_PC_DIR = Path("/usr/lib/grub/i386-pc")
BUSYBOX_CANDIDATES = (Path("/bin/busybox"), Path("/usr/bin/busybox"))
DROPBEAR = Path("/usr/sbin/dropbear")
DROPBEARKEY = Path("/usr/bin/dropbearkey")


class MissingHostPackages(RuntimeError):
    def __init__(self, packages: list[str], why: str = "") -> None:
        self.packages = packages
        cmd = "apt-get install -y --no-install-recommends " + " ".join(packages)
        super().__init__(
            f"missing Debian packages: {' '.join(packages)}{why}; install them as root with: {cmd}"
        )


@dataclass(frozen=True)
class Requirement:
    package: str
    what: str
    present: Callable[[], bool]


def _cmd(name: str) -> Callable[[], bool]:
    return lambda: shutil.which(name) is not None


def _file(path: Path) -> Callable[[], bool]:
    return path.exists


def _kernel() -> bool:
    try:
        kernel_mod.find_kernel()
    except kernel_mod.KernelError:
        return False
    return True


def busybox_path() -> Path | None:
    for path in BUSYBOX_CANDIDATES:
        if path.is_file():
            return path
    return None


REQUIREMENTS = (
    Requirement("linux-image-cloud-amd64", "/boot/vmlinuz-*-cloud-amd64 + modules", _kernel),
    Requirement("busybox-static", "busybox", lambda: busybox_path() is not None),
    Requirement("dropbear-bin", str(DROPBEAR), _file(DROPBEAR)),
    Requirement("dropbear-bin", str(DROPBEARKEY), _file(DROPBEARKEY)),
    Requirement("grub-pc-bin", str(GRUB_PC_DIR), _file(GRUB_PC_DIR / "boot_hybrid.img")),
    Requirement("grub-common", "grub-mkrescue", _cmd("grub-mkrescue")),
    Requirement("xorriso", "xorriso", _cmd("xorriso")),
    Requirement("mtools", "mformat", _cmd("mformat")),
    Requirement("qemu-utils", "qemu-img", _cmd("qemu-img")),
    Requirement("qemu-system-x86", "qemu-system-x86_64", _cmd("qemu-system-x86_64")),
)


def missing_packages(packages: Iterable[str] = BUILD_PACKAGES) -> list[str]:
    """The Debian packages (of ``packages``) whose files or commands are absent."""
    wanted = list(dict.fromkeys(packages))
    missing = {r.package for r in REQUIREMENTS if r.package in wanted and not r.present()}
    return [p for p in wanted if p in missing]


def can_install() -> bool:
    return os.geteuid() == 0 and shutil.which("apt-get") is not None


def ensure_packages(
    packages: Iterable[str] = BUILD_PACKAGES,
    *,
    install: bool = True,
    log: Callable[[str], None] = lambda msg: None,
) -> list[str]:
    """Install the missing ``packages`` with apt-get when root; return those installed.

    Raises :class:`MissingHostPackages` (whose message says what to install) when
    some are missing and this process may not or cannot install them.
    """
    missing = missing_packages(packages)
    if not missing:
        return []
    if not install:
        raise MissingHostPackages(missing)
    if not can_install():
        raise MissingHostPackages(missing, " (not root, or no apt-get)")
    log(f"installing {' '.join(missing)} with apt-get")
    if _apt_install(missing).returncode != 0:
        log("apt-get install failed; running apt-get update and trying again")
        subprocess.run(["apt-get", "update", "-q"], capture_output=True, timeout=600)
        result = _apt_install(missing)
        if result.returncode != 0:
            tail = result.stdout[-2000:] + result.stderr[-2000:]
            raise MissingHostPackages(missing, f" (apt-get failed: {tail.strip()})")
    still = missing_packages(packages)
    if still:
        raise MissingHostPackages(still, " (still missing after apt-get install)")
    return missing


def _apt_install(packages: list[str]) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    cmd = ["apt-get", "install", "-y", "-q", "--no-install-recommends"]
    cmd += ["-o", "DPkg::Lock::Timeout=300", *packages]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1800)
