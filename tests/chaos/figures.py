"""The reliability figures the chaos, broker, database and soak tests leave for the
report script (``benchmarks/reliability_report.py``): one JSON file per section in
``$TINYSTACK_RELIABILITY_DIR`` (default ``<checkout>/test-artifacts/reliability``),
``{"section": name, "updated": iso time, "figures": {figure: value}}``. This module
writes ``chaos.json`` (rounds survived, leaks found, 5xx seen) and ``soak.json`` (RSS
slope, growth of fds, threads and connections, p99)."""

from __future__ import annotations

import datetime
import fcntl
import json
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def directory() -> Path:
    default = ROOT / "test-artifacts" / "reliability"
    return Path(os.environ.get("TINYSTACK_RELIABILITY_DIR") or default)


def record(section: str, figures: dict[str, object]) -> Path:
    """Merge ``figures`` into ``<section>.json``."""
    path = directory() / f"{section}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            held = dict(json.loads(path.read_text()).get("figures", {}))
        except (OSError, ValueError):
            held = {}
        held.update(figures)
        if section == "chaos":
            rounds = held.get("rounds", {})
            held["chaos rounds survived"] = sum(r["survived"] for r in rounds.values())
            held["leaks found"] = sum(r["leaks"] for r in rounds.values())
            held["5xx found"] = sum(r["server_errors"] for r in rounds.values())
        now = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
        body = {"section": section, "updated": now, "figures": held}
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(body, indent=2, sort_keys=True) + "\n")
        tmp.replace(path)
    return path


def record_round(name: str, survived: int, leaks: int, server_errors: int) -> Path:
    """One kind of chaos round (``name``): how many rounds ran clean, how many leaks and
    5xx answers were seen; ``chaos.json`` keeps the totals over every kind."""
    path = directory() / "chaos.json"
    try:
        rounds = dict(json.loads(path.read_text())["figures"].get("rounds", {}))
    except (OSError, ValueError, KeyError):
        rounds = {}
    rounds[name] = {"survived": survived, "leaks": leaks, "server_errors": server_errors}
    return record("chaos", {"rounds": rounds})
