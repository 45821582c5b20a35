"""An alarm's time constraints (Aodh's): windows that open at each start of a cron
expression, in a time zone, and last ``duration`` seconds. An alarm that has some is
evaluated only while at least one window is open; the periodic evaluator skips it
otherwise (as Aodh's threshold, composite and Prometheus evaluators do; event alarms
are not constrained)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tinystack.alarm.services import cron
from tinystack.alarm.services.records import TimeConstraint
from tinystack.alarm.services.rules import invalid
from tinystack.common.exceptions import BadRequest

_KEYS = ("name", "description", "start", "duration", "timezone")


def _zone(name: str) -> tzinfo:
    if not name:
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise BadRequest(f"Timezone {name} is not valid") from None


def _one(given: object) -> TimeConstraint:
    if not isinstance(given, dict):
        raise invalid("time_constraints", given, "Wrong type. Expected 'AlarmTimeConstraint'")
    unknown = sorted(set(given) - set(_KEYS))
    if unknown:
        raise invalid(unknown[0], given[unknown[0]], "Unknown attribute.")
    for key in ("name", "start", "duration"):
        if given.get(key) is None:
            raise invalid(key, None, "Mandatory field missing.")
    name, start, duration = given["name"], given["start"], given["duration"]
    if not isinstance(name, str):
        raise invalid("name", name, "Wrong type. Expected 'str'")
    if not isinstance(start, str):
        raise invalid("start", start, "Wrong type. Expected 'str'")
    try:
        cron.parse(start)
    except cron.CronError as exc:
        raise invalid("start", start, str(exc)) from None
    if isinstance(duration, str) and duration.lstrip("-").isdigit():
        duration = int(duration)
    if isinstance(duration, bool) or not isinstance(duration, int):
        raise invalid("duration", duration, "Wrong type. Expected 'int'")
    if duration < 0:
        raise invalid("duration", duration, "Value should be greater or equal to 0")
    timezone = given.get("timezone") or ""
    if not isinstance(timezone, str):
        raise invalid("timezone", timezone, "Wrong type. Expected 'str'")
    _zone(timezone)
    description = given.get("description") or (
        f"Time constraint at {start} lasting for {duration} seconds"
    )
    return TimeConstraint(name=name, description=str(description), start=start,
                          duration=duration, timezone=timezone)  # fmt: skip


def check(given: object) -> list[TimeConstraint]:
    """The constraints as stored (Aodh's defaults filled in); 400 with Aodh's wording
    if one is bad or two share a name."""
    if given is None:
        return []
    if not isinstance(given, list):
        raise invalid("time_constraints", given, "Wrong type. Expected '[AlarmTimeConstraint]'")
    found = [_one(item) for item in given]
    names = [tc["name"] for tc in found]
    if len(set(names)) < len(names):
        raise BadRequest("Time constraint names must be unique for a given alarm.")
    return found


def within(constraints: Sequence[TimeConstraint], now: datetime) -> bool:
    """Whether ``now`` (naive: UTC) is inside at least one window; true without any."""
    if not constraints:
        return True
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    for tc in constraints:
        local = now.astimezone(_zone(tc["timezone"]))
        # no start is looked for further back than cron's calendar takes to repeat
        duration = timedelta(days=min(int(tc["duration"]) / 86400, cron.HORIZON_DAYS))
        # a start in the minute of ``now`` opens its window however short (cron's precision)
        minute = local.replace(second=0, microsecond=0)
        floor = min(local - duration, minute)
        if cron.parse(tc["start"]).latest_start(local, floor) is not None:
            return True
    return False
