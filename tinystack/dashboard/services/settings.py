"""Skyline's settings (the flavor families, GPU and USB models the console offers) and
its public configuration."""

from __future__ import annotations

from tinystack.dashboard.services.records import Document

_CATEGORIES = ("general_purpose", "compute_optimized", "memory_optimized", "high_clock_speed")
_GPU = ("compute_optimized_type_with_gpu", "visualization_compute_optimized_type_with_gpu")

SETTINGS: dict[str, object] = {
    "flavor_families": [
        {
            "architecture": "x86_architecture",
            "categories": [{"name": n, "properties": []} for n in _CATEGORIES],
        },
        {
            "architecture": "heterogeneous_computing",
            "categories": [{"name": n, "properties": []} for n in _GPU],
        },
    ],
    "gpu_models": ["nvidia_t4"],
    "usb_models": ["usb_c"],
}


def all_settings() -> list[Document]:
    return [
        {"key": key, "value": value, "hidden": False, "restart_service": False}
        for key, value in SETTINGS.items()
    ]


def one(key: str) -> Document | None:
    if key not in SETTINGS:
        return None
    return {"key": key, "value": SETTINGS[key], "hidden": False, "restart_service": False}
