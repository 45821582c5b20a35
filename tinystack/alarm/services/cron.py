"""Cron expressions of the standard five fields (minute hour day-of-month month
day-of-week), what an alarm's time constraint starts at.

Each field is ``*``, a number, a name (``jan``-``dec``, ``sun``-``sat``), a range
``a-b``, any of them with a step ``/n``, or a comma list of those; day-of-week 7 is
Sunday as 0 is. As in cron (and croniter), when both day fields are restricted a day
matches either one; ``@yearly``/``@annually``, ``@monthly``, ``@weekly``, ``@daily``/
``@midnight`` and ``@hourly`` stand for their expressions. Times are wall-clock times of
the zone given; a window is checked on epoch seconds, so it spans DST changes correctly.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun",
           "jul", "aug", "sep", "oct", "nov", "dec")  # fmt: skip
_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_ALIASES = {"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
            "@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *",
            "@hourly": "0 * * * *"}  # fmt: skip
#: (lowest, highest, names) of each field
_FIELDS = ((0, 59, ()), (0, 23, ()), (1, 31, ()), (1, 12, _MONTHS), (0, 7, _DAYS))
#: how far back a start is looked for: past this, cron's calendar (leap years and
#: weekdays) has repeated, so an expression that matched nothing never will
HORIZON_DAYS = 366 * 29


class CronError(ValueError):
    pass


def _number(text: str, names: tuple[str, ...]) -> int:
    lowered = text.lower()
    if lowered in names:
        return names.index(lowered) + (1 if names is _MONTHS else 0)
    if not text.isdigit():
        raise CronError(f"[{text}] is not acceptable")
    return int(text)


def _field(text: str, low: int, high: int, names: tuple[str, ...]) -> frozenset[int]:
    found: set[int] = set()
    for part in text.split(","):
        body, _, step_text = part.partition("/")
        step = 1
        if step_text:
            if not step_text.isdigit() or int(step_text) == 0:
                raise CronError(f"[{part}] is not acceptable")
            step = int(step_text)
        if body == "*":
            first, last = low, high
        elif "-" in body:
            a, _, b = body.partition("-")
            first, last = _number(a, names), _number(b, names)
        else:
            first = _number(body, names)
            last = high if step_text else first
        if not (low <= first <= high and low <= last <= high) or first > last:
            raise CronError(f"[{part}] is not acceptable, out of range")
        found.update(range(first, last + 1, step))
    return frozenset(found)


@dataclass(frozen=True, slots=True)
class Cron:
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday
    #: whether each day field was restricted (not ``*``): both → either matches
    days_restricted: bool
    weekdays_restricted: bool

    def matches_day(self, day: date) -> bool:
        if day.month not in self.months:
            return False
        by_day = day.day in self.days
        by_weekday = (day.isoweekday() % 7) in self.weekdays
        if self.days_restricted and self.weekdays_restricted:
            return by_day or by_weekday
        return by_day and by_weekday

    def latest_start(self, now: datetime, earliest: datetime) -> datetime | None:
        """The latest minute the expression matches at or before ``now`` (aware, in the
        constraint's zone) and not before ``earliest``; None if there is none."""
        zone = now.tzinfo
        assert zone is not None
        times = sorted(((h, m) for h in self.hours for m in self.minutes), reverse=True)
        limit, floor = now.timestamp(), earliest.timestamp()
        day = now.date()
        for _ in range(HORIZON_DAYS):
            if self.matches_day(day):
                for hour, minute in times:
                    start = _wall(day, hour, minute, zone)
                    if start.timestamp() <= limit:
                        return start if start.timestamp() >= floor else None
            if _wall(day, 0, 0, zone).timestamp() < floor:
                return None
            day -= timedelta(days=1)
        return None


def _wall(day: date, hour: int, minute: int, zone: tzinfo) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone)


def parse(expression: str) -> Cron:
    text = _ALIASES.get(expression.strip().lower(), expression)
    parts = text.split()
    if len(parts) != 5:
        raise CronError("Exactly 5 columns has to be specified for iterator expression.")
    minutes, hours, days, months, weekdays = (
        _field(part, *limits) for part, limits in zip(parts, _FIELDS, strict=True)
    )
    # as in Vixie cron, a field starting with ``*`` (``*/2`` too) is unrestricted
    return Cron(minutes, hours, days, months, frozenset(d % 7 for d in weekdays),
                not parts[2].startswith("*"), not parts[4].startswith("*"))  # fmt: skip
