"""The guest's root filesystem: busybox, dropbear, kernel modules and the boot scripts.

The guest never leaves its initramfs (there is no switch_root): the ISO only
carries the kernel and this archive, so a reboot starts from a clean state.
"""

from __future__ import annotations

import gzip
import io
import re
import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tinystack.guest import scripts
from tinystack.guest.cpio import Tree
from tinystack.guest.kernel import Kernel, ModulePlan, module_bytes, plain_name

CIRROS_UID = 1000
BASE_DIRS = (
    "bin",
    "sbin",
    "usr/bin",
    "usr/sbin",
    "lib",
    "etc",
    "proc",
    "sys",
    "dev",
    "run",
    "mnt",
    "var/log",
    "var/www",
)


@dataclass(frozen=True)
class Inputs:
    """The host files the initramfs is made of."""

    kernel: Kernel
    modules: ModulePlan
    busybox: Path
    dropbear: Path
    dropbearkey: Path


def elf_interpreter(path: Path) -> str | None:
    """The PT_INTERP of a 64-bit little-endian ELF file (None: static, or not ELF64)."""
    with open(path, "rb") as f:
        head = f.read(64)
        if len(head) < 64 or head[:4] != b"\x7fELF" or head[4] != 2 or head[5] != 1:
            return None
        (phoff,) = struct.unpack_from("<Q", head, 32)
        phentsize, phnum = struct.unpack_from("<HH", head, 54)
        for i in range(phnum):
            f.seek(phoff + i * phentsize)
            ptype, _flags, offset, _vaddr, _paddr, filesz = struct.unpack("<IIQQQQ", f.read(40))
            if ptype == 3:  # PT_INTERP
                f.seek(offset)
                return f.read(filesz).rstrip(b"\0").decode()
    return None


_LDD_PATH = re.compile(r"(?:=>\s*)?(/\S+)\s+\(0x[0-9a-f]+\)")


def shared_libraries(binary: Path) -> list[str]:
    """The absolute paths of the libraries ``binary`` loads (``ldd``), interpreter included."""
    interp = elf_interpreter(binary)
    if interp is None:
        return []
    out = subprocess.run(
        ["ldd", str(binary)], capture_output=True, text=True, check=True, timeout=30
    ).stdout
    found = [m.group(1) for m in map(_LDD_PATH.search, out.splitlines()) if m]
    return list(dict.fromkeys([*found, interp]))


def add_program(tree: Tree, guest_path: str, host_path: Path) -> None:
    """Copy an executable and, when dynamically linked, its libraries at their host paths."""
    tree.add_file(guest_path, source=host_path, mode=0o755)
    for lib in shared_libraries(host_path):
        if lib not in tree:
            # the file the soname points at, stored under the soname
            tree.add_file(lib, source=Path(lib).resolve(), mode=0o755)


def busybox_applets(busybox: Path) -> list[str]:
    """Where each applet goes (``usr/bin/awk``, ``sbin/init``...), from the binary itself."""
    out = subprocess.run(
        [str(busybox), "--list-full"], capture_output=True, text=True, check=True, timeout=30
    ).stdout
    return [line.strip().lstrip("/") for line in out.splitlines() if line.strip()]


def build_tree(inputs: Inputs) -> Tree:
    tree = Tree()
    for d in BASE_DIRS:
        tree.add_dir(d)
    tree.add_dir("tmp", mode=0o1777)
    tree.add_dir("root", mode=0o700)
    tree.add_dir("home")
    tree.add_dir("home/cirros", mode=0o755, uid=CIRROS_UID, gid=CIRROS_UID)
    tree.add_dir("etc/dropbear", mode=0o700)
    tree.add_symlink("var/run", "../run")
    # the kernel opens /dev/console for /init before devtmpfs is mounted
    tree.add_chardev("dev/console", 5, 1, 0o600)
    tree.add_chardev("dev/null", 1, 3, 0o666)

    add_program(tree, "bin/busybox", inputs.busybox)
    for applet in busybox_applets(inputs.busybox):
        if applet not in tree and applet != "bin/busybox":
            tree.add_symlink(applet, "/bin/busybox")
    add_program(tree, "usr/sbin/dropbear", inputs.dropbear)
    add_program(tree, "usr/bin/dropbearkey", inputs.dropbearkey)

    add_modules(tree, inputs.kernel, inputs.modules)
    for path, (content, mode) in scripts.etc_files().items():
        tree.add_file(path, data=content, mode=mode)
    return tree


def add_modules(tree: Tree, kernel: Kernel, plan: ModulePlan) -> None:
    base = f"lib/modules/{kernel.release}"
    for rel in plan.files:
        tree.add_file(f"{base}/{plain_name(rel)}", data=module_bytes(kernel.modules_dir, rel))
    # what /init loads, in order; modules.dep keeps busybox modprobe usable by hand
    tree.add_file(f"{base}/tinystack.load", data="".join(plain_name(r) + "\n" for r in plan.files))
    dep_lines = (
        f"{plain_name(rel)}: {' '.join(plain_name(d) for d in plan.deps[rel])}".rstrip() + "\n"
        for rel in plan.files
    )
    tree.add_file(f"{base}/modules.dep", data="".join(dep_lines))
    builtin = kernel.modules_dir / "modules.builtin"
    if builtin.is_file():
        tree.add_file(f"{base}/modules.builtin", source=builtin)


def cpio_bytes(tree: Tree) -> tuple[bytes, str]:
    """The uncompressed newc archive and its sha256 (reproducible: fixed owners and mtimes)."""
    raw = io.BytesIO()
    digest = tree.write_cpio(raw)
    return raw.getvalue(), digest


def compress(archive: bytes) -> bytes:
    """gzip without a timestamp, so the same archive always compresses the same."""
    return gzip.compress(archive, compresslevel=6, mtime=0)
