"""The figures reliability runs leave for ``benchmarks/reliability_report.py``: one JSON
section per kind of run (``fuzz.json``, ``rbac.json``, and whatever other runs add:
``chaos.json``), each ``{"title": str, "figures": {name: number or text}, "at": iso}``,
in ``$TINYSTACK_RELIABILITY_DIR`` (default: ``<tmp>/tinystack-reliability``)."""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any


def directory() -> Path:
    default = Path(tempfile.gettempdir()) / "tinystack-reliability"
    return Path(os.environ.get("TINYSTACK_RELIABILITY_DIR") or default)


def write_section(name: str, title: str, figures: dict[str, Any]) -> Path:
    """Write (replace) the section ``name``; returns its file."""
    folder = directory()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    section = {
        "title": title,
        "figures": figures,
        "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(section, indent=2) + "\n")
    tmp.replace(path)
    return path


def read_sections() -> dict[str, dict[str, Any]]:
    sections = {}
    for path in sorted(directory().glob("*.json")):
        try:
            sections[path.stem] = json.loads(path.read_text())
        except ValueError:
            continue
    return sections
