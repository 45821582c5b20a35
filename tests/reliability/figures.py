"""The figures reliability runs leave for ``benchmarks/reliability_report.py``: one JSON
file per section in ``$TINYSTACK_RELIABILITY_DIR`` (default
``<checkout>/test-artifacts/reliability``), ``{"section": name, "title": text,
"updated": iso time, "figures": {figure: value}}``. This module writes ``fuzz.json``
(schema fuzzing) and ``rbac.json`` (the RBAC matrix); the chaos, broker and soak runs
write theirs (``chaos.json``, ``soak.json``) in the same shape, and the report prints
every section it finds."""

from __future__ import annotations

import datetime
import json
import os
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def directory() -> Path:
    default = ROOT / "test-artifacts" / "reliability"
    return Path(os.environ.get("TINYSTACK_RELIABILITY_DIR") or default)


def write_section(name: str, title: str, figures: dict[str, Any]) -> Path:
    """Write (replace) the section ``name``; returns its file."""
    folder = directory()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    now = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    section = {"section": name, "title": title, "updated": now, "figures": figures}
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(section, indent=2) + "\n")
    tmp.replace(path)
    return path


def read_sections() -> dict[str, dict[str, Any]]:
    """Every section in the directory, by name."""
    sections = {}
    for path in sorted(directory().glob("*.json")):
        try:
            sections[path.stem] = json.loads(path.read_text())
        except ValueError:
            continue
    return sections
