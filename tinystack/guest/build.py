"""Build ``tinystack-test.qcow2``: kernel + initramfs -> hybrid ISO (grub-mkrescue) -> qcow2.

No root and no loop devices: the initramfs is written by Python, the ISO by
``grub-mkrescue`` (xorriso) and the qcow2 by ``qemu-img convert``. The ISO stays
in a ``tsguest-build-*`` temporary directory; only the qcow2 and its stamp
(``tinystack-test.stamp``, JSON) land in the output directory, which is the
image service's bootstrap directory by default (it registers every ``*.qcow2``
there as a public image named after the file: ``tinystack-test``). A build is
skipped when the stamp says the image was made from the same inputs.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from tinystack.guest import hostdeps, initramfs, scripts
from tinystack.guest.kernel import Kernel, find_kernel, plan_modules

IMAGE_NAME = "tinystack-test"
IMAGE_FILE = f"{IMAGE_NAME}.qcow2"
STAMP_FILE = f"{IMAGE_NAME}.stamp"
#: bump when the build changes in a way the inputs digest cannot see
BUILD_VERSION = 1


class BuildError(RuntimeError):
    """A build step failed."""


@dataclass(frozen=True)
class BuildResult:
    image: Path
    #: False when an up-to-date image was already there
    built: bool
    seconds: float
    size: int
    inputs_sha256: str
    kernel_release: str
    initramfs_size: int = 0
    iso_size: int = 0


def collect_inputs(kernel: Kernel | None = None) -> initramfs.Inputs:
    busybox = hostdeps.busybox_path()
    if busybox is None:
        raise hostdeps.MissingHostPackages(["busybox-static"])
    if not (hostdeps.DROPBEAR.exists() and hostdeps.DROPBEARKEY.exists()):
        raise hostdeps.MissingHostPackages(["dropbear-bin"])
    kernel = kernel or find_kernel()
    return initramfs.Inputs(
        kernel=kernel,
        modules=plan_modules(kernel.modules_dir),
        busybox=busybox,
        dropbear=hostdeps.DROPBEAR,
        dropbearkey=hostdeps.DROPBEARKEY,
    )


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _tool_version(cmd: list[str]) -> str:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    except OSError:
        return "absent"
    return (out.stdout or out.stderr).strip().splitlines()[0] if out.stdout or out.stderr else ""


def inputs_digest(cpio_sha256: str, vmlinuz_sha256: str, grub_cfg: str) -> str:
    parts = {
        "version": BUILD_VERSION,
        "initramfs": cpio_sha256,
        "kernel": vmlinuz_sha256,
        "grub_cfg": grub_cfg,
        "grub": _tool_version(["grub-mkrescue", "--version"]),
        "grub_modules": _sha256_file(hostdeps.GRUB_PC_DIR / "moddep.lst")
        if (hostdeps.GRUB_PC_DIR / "moddep.lst").is_file()
        else "",
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def read_stamp(output_dir: Path) -> dict[str, object] | None:
    try:
        data = json.loads((output_dir / STAMP_FILE).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def is_up_to_date(output_dir: Path, digest: str) -> bool:
    stamp = read_stamp(output_dir)
    image = output_dir / IMAGE_FILE
    if stamp is None or not image.is_file():
        return False
    return stamp.get("inputs_sha256") == digest and stamp.get("size") == image.stat().st_size


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _run(cmd: list[str], what: str, timeout: float = 300) -> None:
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BuildError(f"{what} failed: {exc}") from exc
    if proc.returncode != 0:
        raise BuildError(
            f"{what} failed ({proc.returncode}): {(proc.stderr or proc.stdout)[-2000:]}"
        )


def make_iso(kernel: Path, initrd: bytes, grub_cfg: str, workdir: Path) -> Path:
    """A hybrid (El Torito + MBR) BIOS-bootable ISO holding kernel, initrd and grub.cfg."""
    root = workdir / "iso"
    (root / "boot" / "grub").mkdir(parents=True)
    shutil.copyfile(kernel, root / "boot" / "vmlinuz")
    (root / "boot" / "initrd.gz").write_bytes(initrd)
    (root / "boot" / "grub" / "grub.cfg").write_text(grub_cfg)
    iso = workdir / f"{IMAGE_NAME}.iso"
    cmd = ["grub-mkrescue", "-d", str(hostdeps.GRUB_PC_DIR), "-o", str(iso)]
    cmd += ["--locales=", "--fonts=", "--themes=", "--compress=xz", str(root)]
    cmd += ["--", "-volid", "TINYSTACK_TEST"]
    _run(cmd, "grub-mkrescue")
    return iso


def build_test_image(
    output_dir: Path,
    *,
    force: bool = False,
    kernel: Kernel | None = None,
    log: Callable[[str], None] = lambda msg: None,
) -> BuildResult:
    """Build ``output_dir/tinystack-test.qcow2`` unless an up-to-date one is there."""
    started = time.monotonic()
    needed = [p for p in hostdeps.BUILD_PACKAGES if kernel is None or not p.startswith("linux-")]
    missing = hostdeps.missing_packages(needed)
    if missing:
        raise hostdeps.MissingHostPackages(missing)
    output_dir.mkdir(parents=True, exist_ok=True)
    with _locked(output_dir / f".{IMAGE_NAME}.lock"):
        inputs = collect_inputs(kernel)
        tree = initramfs.build_tree(inputs)
        archive, cpio_sha = initramfs.cpio_bytes(tree)
        grub_cfg = scripts.grub_cfg()
        digest = inputs_digest(cpio_sha, _sha256_file(inputs.kernel.vmlinuz), grub_cfg)
        image = output_dir / IMAGE_FILE
        release = inputs.kernel.release
        if not force and is_up_to_date(output_dir, digest):
            log(f"{image} is up to date")
            size = image.stat().st_size
            return BuildResult(image, False, time.monotonic() - started, size, digest, release)
        log(f"building {image} (kernel {release}, {len(inputs.modules.files)} modules)")
        initrd = initramfs.compress(archive)
        with tempfile.TemporaryDirectory(prefix="tsguest-build-") as tmp:
            iso = make_iso(inputs.kernel.vmlinuz, initrd, grub_cfg, Path(tmp))
            iso_size = iso.stat().st_size
            partial = output_dir / f".{IMAGE_FILE}.part"
            cmd = ["qemu-img", "convert", "-f", "raw", "-O", "qcow2", str(iso), str(partial)]
            try:
                _run(cmd, "qemu-img convert")
                os.replace(partial, image)
            finally:
                partial.unlink(missing_ok=True)
        result = BuildResult(
            image,
            True,
            time.monotonic() - started,
            image.stat().st_size,
            digest,
            release,
            initramfs_size=len(initrd),
            iso_size=iso_size,
        )
        _write_stamp(output_dir, result, inputs)
        log(f"built {image} ({result.size / 1e6:.1f} MB) in {result.seconds:.1f}s")
        return result


def _write_stamp(output_dir: Path, result: BuildResult, inputs: initramfs.Inputs) -> None:
    data = {
        k: str(v) if isinstance(v, Path) else v for k, v in asdict(result).items() if k != "built"
    }
    data["build_version"] = BUILD_VERSION
    data["modules"] = inputs.modules.names()
    data["built_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    tmp = output_dir / f".{STAMP_FILE}.part"
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, output_dir / STAMP_FILE)
