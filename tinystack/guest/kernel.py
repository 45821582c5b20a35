"""The guest kernel: find the Debian cloud kernel and the modules the guest loads.

Module dependencies come from the kernel's own ``modules.dep``; a wanted module
that the kernel has built in (``modules.builtin``) needs nothing.
"""

from __future__ import annotations

import gzip
import lzma
import re
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

#: loaded in this order (dependencies first), failing the build when one is absent
REQUIRED_MODULES = (
    "virtio_ring",
    "virtio",
    "virtio_pci_modern_dev",
    "virtio_pci_legacy_dev",
    "virtio_pci",
    "failover",
    "net_failover",
    "virtio_net",
    "virtio_blk",
    # config drives: ISO 9660 on an IDE/SATA/SCSI CD-ROM or on a virtio disk
    "cdrom",
    "isofs",
    "sr_mod",
)

#: included when the kernel has them (as modules or built in)
OPTIONAL_MODULES = (
    "virtio_scsi",
    "virtio_rng",
    "virtio_balloon",
    "scsi_mod",
    "sd_mod",
    "libata",
    "ata_piix",
    "ata_generic",
    "ahci",
    # vfat config drives (nova's config_drive_format=vfat) and the NLS tables they default to
    "fat",
    "vfat",
    "nls_cp437",
    "nls_ascii",
    "nls_utf8",
    "nls_iso8859_1",
    # ACPI power button -> /dev/input/event* -> busybox acpid
    "button",
    "evdev",
)

MODULE_SUFFIX = re.compile(r"\.ko(\.xz|\.zst|\.gz)?$")


class KernelError(RuntimeError):
    """No usable kernel, or a module the guest needs is missing."""


@dataclass(frozen=True)
class Kernel:
    release: str
    vmlinuz: Path
    modules_dir: Path


@dataclass
class ModulePlan:
    """What to put in the initramfs, in load order."""

    #: module file paths relative to the modules directory, dependencies first
    files: list[str] = field(default_factory=list)
    builtin: list[str] = field(default_factory=list)
    missing_optional: list[str] = field(default_factory=list)
    #: the ``modules.dep`` lines of the included modules
    deps: dict[str, list[str]] = field(default_factory=dict)

    def names(self) -> list[str]:
        return [module_name(f) for f in self.files]


def module_name(path: str) -> str:
    """``kernel/drivers/char/hw_random/virtio-rng.ko.xz`` -> ``virtio_rng``."""
    base = path.rsplit("/", 1)[-1]
    return MODULE_SUFFIX.sub("", base).replace("-", "_")


def find_kernel(boot: Path = Path("/boot"), modules_root: Path = Path("/lib/modules")) -> Kernel:
    """The newest ``vmlinuz-*-cloud-amd64`` that has its modules installed."""
    found = []
    for vmlinuz in boot.glob("vmlinuz-*-cloud-amd64"):
        release = vmlinuz.name[len("vmlinuz-") :]
        moddir = modules_root / release
        if (moddir / "modules.dep").is_file():
            found.append(Kernel(release, vmlinuz, moddir))
    if not found:
        raise KernelError(
            f"no Debian cloud kernel (vmlinuz-*-cloud-amd64 in {boot} with modules in "
            f"{modules_root}): install linux-image-cloud-amd64"
        )
    return max(found, key=lambda k: _version_key(k.release))


def _version_key(release: str) -> tuple[int | str, ...]:
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"[.-]", release))


def read_modules_dep(modules_dir: Path) -> dict[str, list[str]]:
    deps: dict[str, list[str]] = {}
    for line in (modules_dir / "modules.dep").read_text().splitlines():
        if ":" not in line:
            continue
        mod, _, rest = line.partition(":")
        deps[mod.strip()] = rest.split()
    return deps


def read_builtin(modules_dir: Path) -> set[str]:
    path = modules_dir / "modules.builtin"
    if not path.is_file():
        return set()
    return {module_name(line.strip()) for line in path.read_text().splitlines() if line.strip()}


def plan_modules(
    modules_dir: Path,
    required: Sequence[str] = REQUIRED_MODULES,
    optional: Sequence[str] = OPTIONAL_MODULES,
) -> ModulePlan:
    """Resolve the wanted modules and their dependencies into a load order."""
    deps = read_modules_dep(modules_dir)
    by_name = {module_name(path): path for path in deps}
    builtin = read_builtin(modules_dir)
    plan = ModulePlan()
    seen: set[str] = set()

    def visit(path: str, chain: tuple[str, ...]) -> None:
        if path in seen:
            return
        if path in chain:
            raise KernelError(f"module dependency cycle: {' -> '.join(chain + (path,))}")
        # modprobe loads the listed dependencies last-to-first
        for dep in reversed(deps.get(path, [])):
            visit(dep, chain + (path,))
        seen.add(path)
        plan.files.append(path)
        plan.deps[path] = deps.get(path, [])

    missing = []
    for name in [*required, *optional]:
        if name in by_name:
            visit(by_name[name], ())
        elif name in builtin:
            plan.builtin.append(name)
        elif name in required:
            missing.append(name)
        else:
            plan.missing_optional.append(name)
    if missing:
        raise KernelError(
            f"kernel modules {', '.join(missing)} are neither in {modules_dir}/modules.dep "
            "nor built in"
        )
    return plan


def module_bytes(modules_dir: Path, relpath: str) -> bytes:
    """A module's content, decompressed (busybox insmod wants plain .ko files)."""
    path = modules_dir / relpath
    if relpath.endswith(".xz"):
        return lzma.decompress(path.read_bytes())
    if relpath.endswith(".gz"):
        return gzip.decompress(path.read_bytes())
    if relpath.endswith(".zst"):
        zstd = shutil.which("zstd")
        if zstd is None:
            raise KernelError(f"{path} is zstd-compressed: install zstd")
        return subprocess.run(
            [zstd, "-dc", str(path)], check=True, capture_output=True, timeout=60
        ).stdout
    return path.read_bytes()


def plain_name(relpath: str) -> str:
    """The path a module gets inside the initramfs (compression suffix dropped)."""
    return MODULE_SUFFIX.sub(".ko", relpath)
