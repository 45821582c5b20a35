"""The config drive: an ISO 9660 filesystem labelled ``config-2`` in the OpenStack layout.

``openstack/<version>/{meta_data.json,user_data,network_data.json,vendor_data.json,
vendor_data2.json}`` for every metadata version (``latest`` included, each file from the
version that introduced it) and the EC2 ``ec2/<version>/meta-data.json`` and
``user-data``, written by ``xorriso -as mkisofs`` (or genisoimage/mkisofs when xorriso is
missing). The content comes from :mod:`tinystack.compute.metadata.content`, the builders
the metadata API serves from.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from tinystack.compute.metadata.content import (
    EC2_VERSIONS,
    OPENSTACK_VERSIONS,
    ec2_meta_data,
    meta_data,
    network_data,
    openstack_file,
    openstack_files,
    user_data_bytes,
)
from tinystack.compute.objects import VIF, InstanceMeta
from tinystack.compute.virt.driver import DriverError

__all__ = [
    "EC2_VERSIONS",
    "OPENSTACK_VERSIONS",
    "make",
    "meta_data",
    "network_data",
    "ec2_meta_data",
    "user_data_bytes",
    "write_tree",
]


def write_tree(
    root: Path,
    instance: InstanceMeta,
    vifs: list[VIF],
    admin_password: str | None = None,
) -> None:
    user_data = user_data_bytes(instance.user_data)
    for version in OPENSTACK_VERSIONS:
        d = root / "openstack" / version
        d.mkdir(parents=True)
        for name in openstack_files(version, user_data is not None):
            content = openstack_file(name, version, instance, vifs, admin_password)
            if content is not None:
                (d / name).write_bytes(content)
    for version in EC2_VERSIONS:
        d = root / "ec2" / version
        d.mkdir(parents=True)
        (d / "meta-data.json").write_text(json.dumps(ec2_meta_data(instance, vifs, version)))
        if user_data is not None:
            (d / "user-data").write_bytes(user_data)


def iso_tool() -> list[str]:
    if shutil.which("xorriso"):
        return ["xorriso", "-as", "mkisofs"]
    for name in ("genisoimage", "mkisofs"):
        if shutil.which(name):
            return [name]
    raise DriverError("no ISO 9660 tool (xorriso, genisoimage or mkisofs) for the config drive")


def make(
    target: Path,
    instance: InstanceMeta,
    vifs: list[VIF],
    admin_password: str | None = None,
) -> Path:
    """Write the instance's config drive ISO to ``target``."""
    with tempfile.TemporaryDirectory(prefix="tsq-cd-", dir=target.parent) as tmp:
        tree = Path(tmp) / "tree"
        write_tree(tree, instance, vifs, admin_password)
        part = target.with_name(target.name + ".part")
        cmd = [*iso_tool(), "-quiet", "-V", "config-2", "-J", "-r", "-l"]
        cmd += ["-publisher", "tinystack", "-o", str(part), str(tree)]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise DriverError(f"cannot make the config drive: {exc}") from exc
        if proc.returncode != 0:
            part.unlink(missing_ok=True)
            raise DriverError(f"cannot make the config drive: {proc.stderr.strip()[-500:]}")
        os.replace(part, target)
    return target
