"""The parts of the image build that need no QEMU: cpio, module plan, initramfs content."""

from __future__ import annotations

import gzip
import io
import lzma
import shutil
import subprocess
from pathlib import Path

import pytest

from tinystack.guest import hostdeps, initramfs, kernel
from tinystack.guest.cpio import Tree, read_cpio_names

# --- cpio --------------------------------------------------------------------------------


def test_tree_creates_parents_and_lists_sorted() -> None:
    tree = Tree()
    tree.add_file("etc/init.d/rcS", data="#!/bin/sh\n", mode=0o755)
    tree.add_symlink("/bin/sh", "/bin/busybox")
    tree.add_chardev("dev/console", 5, 1)
    tree.add_dir("home/cirros", uid=1000, gid=1000)
    assert tree.listing() == [
        "drwxr-xr-x 0:0 /bin",
        "lrwxrwxrwx 0:0 /bin/sh -> /bin/busybox",
        "drwxr-xr-x 0:0 /dev",
        "crw------- 0:0 /dev/console [5,1]",
        "drwxr-xr-x 0:0 /etc",
        "drwxr-xr-x 0:0 /etc/init.d",
        "-rwxr-xr-x 0:0 /etc/init.d/rcS",
        "drwxr-xr-x 0:0 /home",
        "drwxr-xr-x 1000:1000 /home/cirros",
    ]


def test_tree_rejects_bad_paths_and_file_parents() -> None:
    tree = Tree()
    with pytest.raises(ValueError):
        tree.add_file("../etc/passwd", data="x")
    tree.add_file("a", data="x")
    with pytest.raises(ValueError):
        tree.add_file("a/b", data="y")
    with pytest.raises(ValueError):
        tree.add_file("c", data="x", source=Path("/etc/hostname"))


def test_cpio_is_reproducible_and_readable(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.write_bytes(b"from a file\n")
    tree = Tree()
    tree.add_file("init", data="#!/bin/sh\necho hi\n", mode=0o755)
    tree.add_file("data/odd", data=b"12345")
    tree.add_file("data/copied", source=src)
    tree.add_symlink("bin/sh", "busybox")
    tree.add_chardev("dev/console", 5, 1)
    out1, out2 = io.BytesIO(), io.BytesIO()
    assert tree.write_cpio(out1) == tree.write_cpio(out2)
    assert out1.getvalue() == out2.getvalue()
    names = read_cpio_names(out1.getvalue())
    assert names == ["bin", "bin/sh", "data", "data/copied", "data/odd", "dev", "dev/console"] + [
        "init"
    ]
    cpio = shutil.which("cpio")
    busybox = hostdeps.busybox_path()
    lister = (
        [cpio, "-it", "--quiet"] if cpio else [str(busybox), "cpio", "-it"] if busybox else None
    )
    if lister is None:
        pytest.skip("neither cpio nor busybox to cross-check the archive with")
    listed = subprocess.run(lister, input=out1.getvalue(), capture_output=True, check=True)
    assert listed.stdout.decode().split() == names
    extract = tmp_path / "x"
    extract.mkdir()
    if cpio:
        subprocess.run(
            [cpio, "-id", "--quiet", "--no-absolute-filenames", "data/*", "init"],
            input=out1.getvalue(),
            cwd=extract,
            check=True,
        )
        assert (extract / "data" / "odd").read_bytes() == b"12345"
        assert (extract / "data" / "copied").read_bytes() == b"from a file\n"
        assert (extract / "init").stat().st_mode & 0o777 == 0o755


# --- kernel modules ----------------------------------------------------------------------


def fake_modules_dir(tmp_path: Path) -> Path:
    moddir = tmp_path / "6.1.0-99-cloud-amd64"
    deps = {
        "kernel/drivers/virtio/virtio_ring.ko": [],
        "kernel/drivers/virtio/virtio.ko": ["kernel/drivers/virtio/virtio_ring.ko"],
        "kernel/drivers/net/virtio_net.ko": [
            "kernel/drivers/net/net_failover.ko",
            "kernel/net/core/failover.ko",
            "kernel/drivers/virtio/virtio.ko",
            "kernel/drivers/virtio/virtio_ring.ko",
        ],
        "kernel/drivers/net/net_failover.ko": ["kernel/net/core/failover.ko"],
        "kernel/net/core/failover.ko": [],
        "kernel/drivers/char/hw_random/virtio-rng.ko.xz": [
            "kernel/drivers/virtio/virtio.ko",
            "kernel/drivers/virtio/virtio_ring.ko",
        ],
        "kernel/fs/unused.ko": [],
    }
    lines = [f"{mod}: {' '.join(d)}".rstrip() for mod, d in deps.items()]
    moddir.mkdir(parents=True)
    (moddir / "modules.dep").write_text("\n".join(lines) + "\n")
    (moddir / "modules.builtin").write_text("kernel/fs/isofs/isofs.ko\n")
    for mod in deps:
        path = moddir / mod
        path.parent.mkdir(parents=True, exist_ok=True)
        body = f"module {mod}".encode()
        path.write_bytes(lzma.compress(body) if mod.endswith(".xz") else body)
    return moddir


def test_plan_modules_orders_dependencies_first(tmp_path: Path) -> None:
    moddir = fake_modules_dir(tmp_path)
    plan = kernel.plan_modules(moddir, ["virtio_net", "isofs"], ["virtio_rng", "nothere"])
    assert plan.names() == ["virtio_ring", "virtio", "failover", "net_failover", "virtio_net"] + [
        "virtio_rng"
    ]
    assert plan.builtin == ["isofs"]
    assert plan.missing_optional == ["nothere"]
    rng = "kernel/drivers/char/hw_random/virtio-rng.ko.xz"
    assert kernel.module_bytes(moddir, rng) == f"module {rng}".encode()
    assert kernel.plain_name(rng) == "kernel/drivers/char/hw_random/virtio-rng.ko"


def test_plan_modules_fails_on_missing_required(tmp_path: Path) -> None:
    moddir = fake_modules_dir(tmp_path)
    with pytest.raises(kernel.KernelError, match="virtio_blk"):
        kernel.plan_modules(moddir, ["virtio_net", "virtio_blk"], [])


def test_find_kernel_takes_the_newest_with_modules(tmp_path: Path) -> None:
    boot, mods = tmp_path / "boot", tmp_path / "modules"
    boot.mkdir()
    for release in ("6.1.0-9-cloud-amd64", "6.1.0-10-cloud-amd64", "6.1.0-11-cloud-amd64"):
        (boot / f"vmlinuz-{release}").write_bytes(b"k")
    for release in ("6.1.0-9-cloud-amd64", "6.1.0-10-cloud-amd64"):
        (mods / release).mkdir(parents=True)
        (mods / release / "modules.dep").write_text("")
    (boot / "vmlinuz-6.1.0-12-amd64").write_bytes(b"not cloud")
    found = kernel.find_kernel(boot, mods)
    assert found.release == "6.1.0-10-cloud-amd64"
    with pytest.raises(kernel.KernelError, match="linux-image-cloud-amd64"):
        kernel.find_kernel(tmp_path / "empty", mods)


# --- the real initramfs (host packages needed) -------------------------------------------


@pytest.fixture(scope="module")
def real_tree() -> Tree:
    missing = hostdeps.missing_packages(["linux-image-cloud-amd64", "busybox-static"])
    missing += hostdeps.missing_packages(["dropbear-bin"])
    if missing:
        pytest.skip(f"missing Debian packages: {' '.join(missing)}")
    from tinystack.guest.build import collect_inputs

    return initramfs.build_tree(collect_inputs())


def test_real_module_plan_has_the_virtio_load_order() -> None:
    try:
        k = kernel.find_kernel()
    except kernel.KernelError as exc:
        pytest.skip(str(exc))
    names = kernel.plan_modules(k.modules_dir).names()
    virtio = [n for n in names if n in kernel.REQUIRED_MODULES[:9]]
    assert virtio == list(kernel.REQUIRED_MODULES[:9])
    for needed in ("isofs", "sr_mod", "cdrom", "vfat", "ata_piix", "button", "evdev"):
        assert needed in names


def test_real_initramfs_content(real_tree: Tree) -> None:
    listing = "\n".join(real_tree.listing())
    for line in (
        "-rwxr-xr-x 0:0 /init",
        "-rwxr-xr-x 0:0 /bin/busybox",
        "lrwxrwxrwx 0:0 /sbin/init -> /bin/busybox",
        "lrwxrwxrwx 0:0 /sbin/udhcpc -> /bin/busybox",
        "-rwxr-xr-x 0:0 /usr/sbin/dropbear",
        "-rwxr-xr-x 0:0 /usr/bin/dropbearkey",
        "crw------- 0:0 /dev/console [5,1]",
        "drwx------ 0:0 /root",
        "drwxr-xr-x 1000:1000 /home/cirros",
        "drwxrwxrwt 0:0 /tmp",
        "-rw------- 0:0 /etc/shadow",
        "-rwxr-xr-x 0:0 /etc/acpi/PWRF/00000080",
        "-rwxr-xr-x 0:0 /usr/share/udhcpc/default.script",
        "-rw-r--r-- 0:0 /lib/tinystack/functions.sh",
    ):
        assert line in listing
    assert any(line.startswith("lrwxrwxrwx 0:0 /usr/bin/awk ") for line in real_tree.listing())
    assert any(line.startswith("lrwxrwxrwx 0:0 /bin/sh ") for line in real_tree.listing())


def test_real_initramfs_has_dropbears_libraries(real_tree: Tree) -> None:
    assert initramfs.elf_interpreter(hostdeps.DROPBEAR) is not None
    libs = initramfs.shared_libraries(hostdeps.DROPBEAR)
    assert any("libc.so" in lib for lib in libs)
    for lib in libs:
        assert lib.lstrip("/") in real_tree
    busybox = hostdeps.busybox_path()
    assert busybox is not None
    if initramfs.elf_interpreter(busybox) is None:  # busybox-static
        assert initramfs.shared_libraries(busybox) == []


def test_real_initramfs_modules_load_list(real_tree: Tree) -> None:
    k = kernel.find_kernel()
    base = f"lib/modules/{k.release}"
    order = real_tree[f"{base}/tinystack.load"].content().decode().split()
    assert [kernel.module_name(p) for p in order][:9] == list(kernel.REQUIRED_MODULES[:9])
    for path in order:
        assert f"{base}/{path}" in real_tree
    dep = real_tree[f"{base}/modules.dep"].content().decode()
    assert "kernel/drivers/net/virtio_net.ko: " in dep


def test_real_initramfs_archive(real_tree: Tree) -> None:
    raw, digest = initramfs.cpio_bytes(real_tree)
    assert initramfs.cpio_bytes(real_tree)[1] == digest
    names = read_cpio_names(raw)
    assert "init" in names and "dev/console" in names
    packed = initramfs.compress(raw)
    assert packed == initramfs.compress(raw)
    assert gzip.decompress(packed) == raw
    assert len(packed) < 8_000_000
