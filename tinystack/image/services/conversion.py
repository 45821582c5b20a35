"""The ``image_conversion`` import plugin: imported data converted with ``qemu-img``.

Enabled by ``[image] import_plugins = image_conversion``; the target format is
``conversion_output_format`` (Glance's ``[image_conversion] output_format``). Data
already in that format, or in a format qemu-img should not read (iso, the ami
family), passes unchanged. The source format is the one format inspection found,
never what the image claims, so a crafted file cannot make qemu-img follow a
backing file or a data-file. After conversion the image's ``disk_format`` is the
output format, as upstream.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tinystack.image.exception import InvalidImageData

#: formats qemu-img is asked to read (the inspector vouches for each)
CONVERTIBLE = ("qcow2", "vmdk", "vhd", "vhdx", "vdi", "raw")
QEMU_FORMAT = {"vhd": "vpc"}


def available() -> bool:
    return shutil.which("qemu-img") is not None


def needed(detected: str | None, output_format: str) -> bool:
    return detected is not None and detected in CONVERTIBLE and detected != output_format


def convert(source: Path, detected: str, output_format: str, target: Path) -> None:
    """Write ``source`` (``detected`` format) to ``target`` as ``output_format``."""
    if not available():
        raise InvalidImageData("Image conversion is enabled but qemu-img is not installed.")
    command = [
        "qemu-img",
        "convert",
        "-f",
        QEMU_FORMAT.get(detected, detected),
        "-O",
        QEMU_FORMAT.get(output_format, output_format),
        str(source),
        str(target),
    ]
    try:
        subprocess.run(command, check=True, capture_output=True, timeout=3600)
    except subprocess.CalledProcessError as exc:
        message = exc.stderr.decode(errors="replace").strip()
        raise InvalidImageData(f"Image conversion failed: {message}") from None
    except subprocess.TimeoutExpired:
        raise InvalidImageData("Image conversion took too long.") from None
