"""``trust+http`` actions without a cloud: how a trust is written into, found in, shown
without and taken out of an action, and an alarm's own trust reused on a replace (the
trusts identity creates and deletes are tested on a cloud, tests/telemetry)."""

from __future__ import annotations

from pathlib import Path

from tests.support import make_runtime
from tinystack.alarm.service import SERVICE, build_deps
from tinystack.alarm.services import trusts
from tinystack.alarm.services.records import Caller

OWNED = "trust+http://t1:delegation@hooks.example:8080/alarm?x=1"


def test_actions_parts() -> None:
    assert trusts.is_trust(OWNED) and not trusts.is_trust("http://hooks.example/")
    assert trusts.scrubbed(OWNED) == "trust+http://hooks.example:8080/alarm?x=1"
    given = "trust+https://mine@hooks.example/a"  # a trust the user named: shown, not owned
    assert trusts.scrubbed(given) == given
    assert list(trusts.owned_ids([OWNED, given, "log://"])) == ["t1"]
    assert trusts.target(OWNED) == ("t1", "http://hooks.example:8080/alarm?x=1")
    assert trusts.target(given) == ("mine", "https://hooks.example/a")


def test_a_replace_reuses_the_alarm_trust(tmp_path: Path) -> None:
    deps = build_deps(make_runtime(tmp_path, SERVICE))  # no credentials: no new trust
    caller = Caller("u1", "p1")
    actions = {"alarm_actions": ["trust+http://hooks.example/a"],
               "ok_actions": ["trust+http://hooks.example/b", "log://"]}  # fmt: skip
    created, unused = trusts.delegate(deps, caller, actions, [OWNED])
    assert (created, unused) == (set(), set())
    assert actions == {"alarm_actions": ["trust+http://t1:delegation@hooks.example/a"],
                       "ok_actions": ["trust+http://t1@hooks.example/b", "log://"]}  # fmt: skip
    dropped = {"alarm_actions": ["log://"]}
    assert trusts.delegate(deps, caller, dropped, [OWNED]) == (set(), {"t1"})
