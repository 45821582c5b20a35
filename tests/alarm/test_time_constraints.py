"""Alarms' time constraints without a cloud: the cron matcher (fields, names, steps,
either-day semantics, time zones across a DST change), the windows, Aodh's validation
and defaults, and the evaluator skipping an alarm outside every window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import cast
from zoneinfo import ZoneInfo

import pytest

from tests.alarm.test_evaluation import ME, RULE, Notified, Stats, _evaluator
from tests.support import make_runtime
from tinystack.alarm.service import SERVICE, build_deps
from tinystack.alarm.services import alarms, constraints, cron
from tinystack.alarm.services.deps import Deps
from tinystack.alarm.services.records import ALARM, UNKNOWN, TimeConstraint
from tinystack.common.exceptions import BadRequest


def _at(text: str, zone: str = "UTC") -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone))


def test_cron_fields() -> None:
    every = cron.parse("*/15 9-17 * jan-mar,dec mon-fri")
    assert every.minutes == {0, 15, 30, 45} and every.hours == set(range(9, 18))
    assert every.months == {1, 2, 3, 12} and every.weekdays == {1, 2, 3, 4, 5}
    assert cron.parse("0 0 * * 7").weekdays == {0}  # 7 is Sunday too
    assert cron.parse("5/20 * * * *").minutes == {5, 25, 45}
    assert cron.parse("@hourly") == cron.parse("0 * * * *")
    # both day fields restricted: either matches; one of them a star: both must
    either = cron.parse("0 0 13 * fri")
    assert either.matches_day(_at("2026-03-13").date())  # a Friday the 13th
    assert either.matches_day(_at("2026-03-06").date())  # a Friday
    assert either.matches_day(_at("2026-04-13").date())  # a Monday the 13th
    assert not either.matches_day(_at("2026-04-14").date())
    assert not cron.parse("0 0 */2 * *").matches_day(_at("2026-04-14").date())
    for bad in ("* * * *", "60 * * * *", "* 24 * * *", "* * 0 * *", "* * * 13 *",
                "* * * * 8", "5-1 * * * *", "*/0 * * * *", "x * * * *", "* * * foo *"):  # fmt: skip
        with pytest.raises(cron.CronError):
            cron.parse(bad)


def test_latest_start() -> None:
    weekly = cron.parse("30 8 * * mon")
    now = _at("2026-03-12T10:00:00")  # a Thursday
    earliest = now - timedelta(days=30)
    assert weekly.latest_start(now, earliest) == _at("2026-03-09T08:30:00")
    assert weekly.latest_start(now, now - timedelta(days=2)) is None
    leap = cron.parse("0 0 29 2 *")
    assert leap.latest_start(now, now - timedelta(days=3000)) == _at("2024-02-29T00:00:00")
    assert cron.parse("0 0 30 2 *").latest_start(now, now - timedelta(days=10**5)) is None


def _window(start: str, duration: int, timezone: str = "", name: str = "w") -> list[TimeConstraint]:
    return [{"name": name, "description": "", "start": start, "duration": duration,
             "timezone": timezone}]  # fmt: skip


def test_windows() -> None:
    daily = _window("0 9 * * *", 3600)
    assert constraints.within(daily, _at("2026-03-12T09:00:00"))
    assert constraints.within(daily, _at("2026-03-12T10:00:00"))
    assert not constraints.within(daily, _at("2026-03-12T10:00:01"))
    assert not constraints.within(daily, _at("2026-03-12T08:59:59"))
    assert constraints.within(daily, datetime(2026, 3, 12, 9, 30))  # naive is UTC
    # a start within the minute of now opens its window however short (minute precision)
    assert constraints.within(_window("0 9 * * *", 0), _at("2026-03-12T09:00:59"))
    assert not constraints.within(_window("0 9 * * *", 30), _at("2026-03-12T09:01:00"))
    # across midnight, and in a zone: 09:00 in Paris is 08:00 UTC in winter, 07:00 in
    # summer (the clocks went forward on 2026-03-29)
    assert constraints.within(_window("0 23 * * *", 7200), _at("2026-03-13T00:30:00"))
    paris = _window("0 9 * * *", 600, "Europe/Paris")
    assert constraints.within(paris, _at("2026-03-27T08:05:00"))
    assert not constraints.within(paris, _at("2026-03-30T08:05:00"))
    assert constraints.within(paris, _at("2026-03-30T07:05:00"))
    # any open window will do; none at all: always evaluated
    both = [*_window("0 9 * * *", 60), *_window("0 21 * * *", 60, name="x")]
    assert constraints.within(both, _at("2026-03-12T21:00:30"))
    assert constraints.within([], _at("2026-03-12T21:00:30"))
    assert constraints.within(_window("0 0 29 2 *", 10**15), _at("2026-03-12T21:00:30"))
    assert not constraints.within(_window("0 0 30 2 *", 10**15), _at("2026-03-12T21:00:30"))


def test_validation_and_defaults() -> None:
    stored = constraints.check([{"name": "night", "start": "0 23 * * *", "duration": "3600"}])
    described = "Time constraint at 0 23 * * * lasting for 3600 seconds"
    assert stored == [{"name": "night", "start": "0 23 * * *", "duration": 3600, "timezone": "",
                       "description": described}]  # fmt: skip
    cases = [
        ([{"start": "* * * * *", "duration": 1}],
         "Invalid input for field/attribute name. Value: 'None'. Mandatory field missing."),
        ([{"name": "a", "duration": 1}],
         "Invalid input for field/attribute start. Value: 'None'. Mandatory field missing."),
        ([{"name": "a", "start": "* * * * *"}],
         "Invalid input for field/attribute duration. Value: 'None'. Mandatory field missing."),
        ([{"name": "a", "start": "61 * * * *", "duration": 1}],
         "Invalid input for field/attribute start. Value: '61 * * * *'."),
        ([{"name": "a", "start": "* * * * *", "duration": -1}],
         "Invalid input for field/attribute duration. Value: '-1'. Value should be greater"),
        ([{"name": "a", "start": "* * * * *", "duration": 1, "timezone": "Mars/Olympus"}],
         "Timezone Mars/Olympus is not valid"),
        ([{"name": "a", "start": "* * * * *", "duration": 1}] * 2,
         "Time constraint names must be unique for a given alarm."),
    ]  # fmt: skip
    for given, message in cases:
        with pytest.raises(BadRequest) as refused:
            constraints.check(given)
        assert refused.value.message.startswith(message), refused.value.message


@pytest.fixture
def deps(tmp_path: Path) -> Deps:
    return build_deps(make_runtime(tmp_path, SERVICE))


def test_evaluator_skips_alarms_outside_their_windows(deps: Deps) -> None:
    now = datetime.now(UTC)
    later = now + timedelta(hours=3)  # a daily window that opens in 3 hours, lasting 1 minute
    closed = _window(f"{later.minute} {later.hour} * * *", 60)
    body = {"type": "gnocchi_resources_threshold", "gnocchi_resources_threshold_rule": RULE}
    open_ = alarms.create(deps, ME, {**body, "name": "open",
                                     "time_constraints": _window("* * * * *", 0)})  # fmt: skip
    shut = alarms.create(deps, ME, {**body, "name": "shut", "time_constraints": closed})
    shown = cast(list[TimeConstraint], alarms.as_dict(shut)["time_constraints"])
    assert shown[0]["duration"] == 60
    stats, notified = Stats(), Notified()
    stats.values = [90, 91, 92]
    assert _evaluator(deps, stats, notified).evaluate_all() == 1
    assert notified.sent == [(open_.alarm_id, UNKNOWN, ALARM)]
    after = alarms.get(deps, shut.alarm_id, None)
    assert (after.state, after.evaluate_timestamp) == (UNKNOWN, None)  # not even evaluated
    with pytest.raises(BadRequest, match="names must be unique"):
        alarms.replace(deps, ME, shut.alarm_id, {**body, "name": "shut",
                                                 "time_constraints": closed * 2})  # fmt: skip
