"""The real machine's resources, as the resource tracker reports them."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path
from typing import Any


def memory_mb() -> int:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) // 1024
    except OSError:
        pass
    return 0


def vcpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def disk_gb(path: Path) -> int:
    path.mkdir(parents=True, exist_ok=True)
    return int(shutil.disk_usage(path).total // 1024**3)


def cpu_info() -> dict[str, Any]:
    model, vendor = "unknown", "unknown"
    flags: list[str] = []
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            key, value = key.strip(), value.strip()
            if key == "model name" and model == "unknown":
                model = value
            elif key == "vendor_id" and vendor == "unknown":
                vendor = value
            elif key == "flags" and not flags:
                flags = value.split()
    except OSError:
        pass
    n = vcpus()
    return {
        "arch": platform.machine() or "x86_64",
        "model": model,
        "vendor": vendor,
        "topology": {"cells": 1, "sockets": 1, "cores": n, "threads": 1},
        "features": sorted(flags)[:200],
    }


@lru_cache(maxsize=4)
def qemu_version(binary: str) -> int:
    """QEMU's version as upstream reports it: major * 1,000,000 + minor * 1,000 + micro."""
    try:
        out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30)
        words = out.stdout.split()
        text = words[words.index("version") + 1]
        parts = [int("".join(c for c in p if c.isdigit()) or 0) for p in text.split(".")[:3]]
    except (OSError, ValueError, IndexError, subprocess.TimeoutExpired):
        return 0
    parts += [0] * (3 - len(parts))
    return parts[0] * 1_000_000 + parts[1] * 1_000 + parts[2]
