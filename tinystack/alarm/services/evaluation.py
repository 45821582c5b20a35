"""How an alarm's state follows from what its rule sees (Aodh's evaluators, as pure
functions): threshold statistics, ``and``/``or`` composites of them, and events.

:func:`outcome` decides whether an evaluation changes (or, with ``repeat_actions``,
refreshes) the alarm, and with which reason; the evaluator agent writes it and
notifies the actions of the new state.
"""

from __future__ import annotations

import fnmatch
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tinystack.alarm.services.records import ALARM, OK, UNKNOWN, AlarmRecord
from tinystack.alarm.services.rules import EventRule, ThresholdRule

COMPARATORS: dict[str, Callable[[Any, Any], bool]] = {
    "gt": operator.gt, "lt": operator.lt, "ge": operator.ge,
    "le": operator.le, "eq": operator.eq, "ne": operator.ne,
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Verdict:
    """What one evaluation found: a clear ``state`` (or None) and, when the samples
    disagree, the ``trending`` state of the most recent one."""

    state: str | None
    trending: str | None
    statistics: tuple[float, ...] = ()
    outside: int = 0
    unknown_reason: str = ""


@dataclass(frozen=True, slots=True)
class Outcome:
    state: str
    reason: str
    reason_data: dict[str, Any] = field(default_factory=dict)


def unknown(reason: str, statistics: Sequence[float] = ()) -> Verdict:
    return Verdict(UNKNOWN, None, tuple(statistics), 0, reason)


def threshold(rule: ThresholdRule, statistics: Sequence[float]) -> Verdict:
    """The last ``evaluation_periods`` values against the threshold."""
    periods = rule.evaluation_periods
    values = tuple(statistics[-periods:])
    if len(values) < periods:
        return unknown(f"{periods} datapoints are unknown", values)
    compare = COMPARATORS[rule.comparison_operator]
    breached = [compare(v, rule.threshold) for v in values]
    outside = sum(breached)
    if all(breached) or not any(breached):
        return Verdict(ALARM if all(breached) else OK, None, values, outside)
    return Verdict(None, ALARM if breached[-1] else OK, values, outside)


def _threshold_reason(alarm: AlarmRecord, verdict: Verdict, state: str) -> Outcome:
    if state == UNKNOWN:
        last = verdict.statistics[-1] if verdict.statistics else None
        periods = alarm.rule.get("evaluation_periods", 1)
        data = {"type": "threshold", "disposition": "unknown", "count": periods,
                "most_recent": last}  # fmt: skip
        return Outcome(UNKNOWN, verdict.unknown_reason, data)
    disposition = "inside" if state == OK else "outside"
    count = len(verdict.statistics) - verdict.outside if state == OK else verdict.outside
    last = verdict.statistics[-1] if verdict.statistics else None
    lead = "Transition to" if alarm.state != state else "Remaining as"
    reason = f"{lead} {state} due to {count} samples {disposition} threshold, most recent: {last}"
    data = {"type": "threshold", "disposition": disposition, "count": count, "most_recent": last}
    return Outcome(state, reason, data)


def outcome(alarm: AlarmRecord, verdict: Verdict) -> Outcome | None:
    """The state the alarm moves to (or stays in and re-notifies), or None."""
    current, repeat = alarm.state, alarm.repeat_actions
    if verdict.trending is not None:
        if current == UNKNOWN or repeat:
            kept = verdict.trending if current == UNKNOWN else current
            return _threshold_reason(alarm, verdict, kept)
        return None
    found = verdict.state
    if found == UNKNOWN and current != UNKNOWN:
        return _threshold_reason(alarm, verdict, UNKNOWN)
    if found is not None and (found != current or repeat):
        return _threshold_reason(alarm, verdict, found)
    return None


def combine(tree: Mapping[str, object], leaf: Callable[[Mapping[str, object]], Verdict]) -> str:
    """A composite rule's state: leaves in alarm are true, ok false, unknown unknown;
    ``and``/``or`` as three-valued logic; unknown is ``insufficient data``."""

    def value(node: Mapping[str, Any]) -> bool | None:
        if "and" in node or "or" in node:
            joiner = "and" if "and" in node else "or"
            parts = [value(part) for part in node[joiner]]
            decisive = joiner == "or"  # a true part decides an or, a false one an and
            if decisive in parts:
                return decisive
            return None if None in parts else not decisive
        verdict = leaf(node)
        state = verdict.state or verdict.trending
        return None if state in (None, UNKNOWN) else state == ALARM

    found = value(tree)
    return UNKNOWN if found is None else (ALARM if found else OK)


def composite_outcome(alarm: AlarmRecord, state: str) -> Outcome | None:
    if state == alarm.state and not alarm.repeat_actions:
        return None
    lead = "Transition to" if state != alarm.state else "Remaining as"
    reason = f"{lead} {state} due to the composite rule evaluating {state}"
    return Outcome(state, reason, {"type": "composite"})


def _coerce(value: object, kind: str) -> object:
    if kind == "integer":
        return int(str(value))
    if kind == "float":
        return float(str(value))
    if kind == "boolean":
        return str(value).lower() in ("true", "1", "yes")
    return str(value)


def event_matches(rule: EventRule, event_type: str, traits: Mapping[str, object]) -> bool:
    """An event alarm's rule against one notification (its payload's fields are the
    event's traits, ``traits.<name>`` in a query; ``event_type`` matches as a glob)."""
    if not fnmatch.fnmatch(event_type, rule.event_type):
        return False
    for query in rule.query:
        name = query.field.removeprefix("traits.")
        value = event_type if name == "event_type" else traits.get(name)
        if value is None:
            return False
        kind = query.type or ("string" if isinstance(value, str) else "float")
        try:
            if not COMPARATORS[query.op](_coerce(value, kind), _coerce(query.value, kind)):
                return False
        except (TypeError, ValueError):
            return False
    return True
