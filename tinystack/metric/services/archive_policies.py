"""Archive policies: how a metric's measures are rolled up (granularities × points) and
with which aggregation methods; Gnocchi's defaults ``low``, ``medium``, ``high``,
``bool`` are created on first start."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tinystack.common.exceptions import BadRequest, Conflict
from tinystack.metric import models
from tinystack.metric.services import _rows
from tinystack.metric.services.deps import Deps
from tinystack.metric.services.records import ArchiveItem, ArchivePolicyRecord

#: what an archive policy may aggregate with (plus ``rate:`` of each)
METHODS = ("mean", "min", "max", "sum", "std", "count", "last")
_UNITS = {
    "s": 1, "sec": 1, "second": 1, "seconds": 1,
    "m": 60, "min": 60, "minute": 60, "minutes": 60,
    "h": 3600, "hour": 3600, "hours": 3600,
    "d": 86400, "day": 86400, "days": 86400,
    "w": 604800, "week": 604800, "weeks": 604800,
    "y": 31536000, "year": 31536000, "years": 31536000,
}  # fmt: skip
_SPAN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$")
_CLOCK = re.compile(r"^\s*(?:(\d+) days?, )?(\d+):(\d\d):(\d\d(?:\.\d+)?)\s*$")
_DAY, _HOUR, _MINUTE = 86400.0, 3600.0, 60.0

DEFAULTS: dict[str, tuple[int, tuple[tuple[float, float], ...], tuple[str, ...] | None]] = {
    # name: (back window, ((granularity, timespan), ...), methods or the default ones)
    "low": (0, ((300, 30 * _DAY),), None),
    "medium": (0, ((60, 7 * _DAY), (3600, 365 * _DAY)), None),
    "high": (0, ((1, _HOUR), (60, 7 * _DAY), (3600, 365 * _DAY)), None),
    "bool": (3600, ((1, 365 * _DAY),), ("last",)),
}


def parse_timespan(value: object, what: str) -> float:
    """Seconds from a number, ``"5m"``/``"1 day"`` or ``"1 day, 0:00:00"``."""
    if isinstance(value, bool):
        raise BadRequest(f"Invalid value for {what}: {value}")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and (m := _SPAN.match(value.lower())) and m[2] in ("", *_UNITS):
        seconds = float(m[1]) * _UNITS.get(m[2], 1)
    elif isinstance(value, str) and (c := _CLOCK.match(value)):
        seconds = int(c[1] or 0) * _DAY + int(c[2]) * _HOUR + int(c[3]) * _MINUTE + float(c[4])
    else:
        raise BadRequest(f"Invalid value for {what}: {value}")
    if seconds <= 0:
        raise BadRequest(f"Invalid value for {what}: must be positive")
    return seconds


@dataclass(frozen=True, slots=True)
class DefinitionItem:
    """One item of a definition as given: two of granularity, points and timespan."""

    granularity: str | float | None = None
    points: int | str | None = None
    timespan: str | float | None = None


def parse_definition(items: Sequence[DefinitionItem]) -> tuple[ArchiveItem, ...]:
    """Gnocchi's rule: each item gives two of granularity, points and timespan."""
    if not items:
        raise BadRequest("Invalid input: an archive policy needs a definition")
    parsed = []
    for item in items:
        granularity, points, timespan = item.granularity, item.points, item.timespan
        if isinstance(points, str) and points.isdigit():  # the CLI sends "-d points:6" as text
            points = int(points)
        if points is not None and (not isinstance(points, int) or points <= 0):
            raise BadRequest("Invalid input: points must be a positive integer")
        span = parse_timespan(timespan, "timespan") if timespan is not None else None
        if granularity is None:
            if span is None or points is None:
                raise BadRequest("Invalid input: two of granularity, points, timespan needed")
            gran = span / points
        else:
            gran = parse_timespan(granularity, "granularity")
        if points is None:
            if span is None:
                raise BadRequest("Invalid input: two of granularity, points, timespan needed")
            points = int(span // gran)
        elif span is not None and abs(points * gran - span) > 1e-6:
            raise BadRequest("Invalid input: timespan ≠ points × granularity")
        parsed.append(ArchiveItem(gran, int(points)))
    grans = [p.granularity for p in parsed]
    if len(set(grans)) != len(grans):
        raise BadRequest("Invalid input: more than one archive policy item per granularity")
    return tuple(sorted(parsed, key=lambda p: p.granularity))


def parse_methods(methods: Sequence[str] | None, defaults: Sequence[str]) -> tuple[str, ...]:
    """Gnocchi's syntax: a list of methods, or ``+m``/``-m`` changes of the defaults."""
    if not methods:
        return tuple(defaults)
    chosen = set(defaults) if all(m[:1] in "+-" for m in methods) else set()
    for method in methods:
        name = method.lstrip("+-")
        if name.removeprefix("rate:") not in METHODS:
            raise BadRequest(f"Invalid input: unknown aggregation method {name}")
        if method.startswith("-"):
            chosen.discard(name)
        else:
            chosen.add(name)
    return tuple(sorted(chosen))


def record(row: models.ArchivePolicy) -> ArchivePolicyRecord:
    return ArchivePolicyRecord(
        name=row.name,
        back_window=row.back_window,
        definition=tuple(
            ArchiveItem(float(d["granularity"]), int(d["points"])) for d in row.definition
        ),
        aggregation_methods=tuple(row.aggregation_methods),
    )


def _store(definition: tuple[ArchiveItem, ...]) -> list[dict[str, Any]]:
    return [{"granularity": d.granularity, "points": d.points} for d in definition]


def create(
    deps: Deps,
    name: str,
    definition: Sequence[DefinitionItem],
    back_window: int = 0,
    methods: Sequence[str] | None = None,
) -> ArchivePolicyRecord:
    items = parse_definition(definition)
    chosen = parse_methods(methods, deps.opts.default_aggregation_methods)
    if back_window < 0:
        raise BadRequest("Invalid input: back_window must be positive")

    def tx(session: Session) -> ArchivePolicyRecord:
        if session.get(models.ArchivePolicy, name) is not None:
            raise Conflict(f"Archive policy {name} already exists")
        row = models.ArchivePolicy(
            name=name,
            back_window=back_window,
            definition=_store(items),
            aggregation_methods=list(chosen),
        )
        session.add(row)
        return record(row)

    return deps.db.write(tx)


def get(deps: Deps, name: str) -> ArchivePolicyRecord:
    with deps.db.reader() as session:
        return record(_rows.archive_policy(session, name))


def list_all(deps: Deps) -> list[ArchivePolicyRecord]:
    with deps.db.reader() as session:
        rows = session.scalars(select(models.ArchivePolicy).order_by(models.ArchivePolicy.name))
        return [record(r) for r in rows]


def update(deps: Deps, name: str, definition: Sequence[DefinitionItem]) -> ArchivePolicyRecord:
    """A new definition; as Gnocchi, only the points of the existing granularities change."""
    items = parse_definition(definition)

    def tx(session: Session) -> ArchivePolicyRecord:
        row = _rows.archive_policy(session, name)
        old = {d.granularity for d in record(row).definition}
        if {d.granularity for d in items} != old:
            raise BadRequest(
                f"Archive policy {name} does not support change: Cannot add or drop granularities"
            )
        row.definition = _store(items)
        return record(row)

    return deps.db.write(tx)


def delete(deps: Deps, name: str) -> None:
    def tx(session: Session) -> None:
        row = _rows.archive_policy(session, name)
        used = session.scalar(
            select(func.count()).where(models.Metric.archive_policy_name == name)
        ) or session.scalar(
            select(func.count()).where(models.ArchivePolicyRule.archive_policy_name == name)
        )
        if used:
            raise BadRequest(f"Archive policy {name} is still in use")
        session.delete(row)

    deps.db.write(tx)


def ensure_defaults(deps: Deps) -> None:
    """Gnocchi's default archive policies, created once."""
    for name, (back_window, items, methods) in DEFAULTS.items():
        definition = [DefinitionItem(granularity=g, timespan=t) for g, t in items]
        try:
            create(deps, name, definition, back_window, methods)
        except Conflict:
            pass
