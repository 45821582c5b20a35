"""This node's device directories (the default layout's d1..dN)."""

from __future__ import annotations

from pathlib import Path

from tinystack.object_store.ring.layout import device_names


def prepare_devices(devices: Path, count: int) -> None:
    """Create the default devices' directories on first start (a device removed later
    stays removed: its servers answer 507 and the proxy uses handoffs)."""
    marker = devices / ".prepared"
    if marker.exists():
        return
    for name in device_names(count):
        (devices / name).mkdir(parents=True, exist_ok=True)
    marker.touch()
