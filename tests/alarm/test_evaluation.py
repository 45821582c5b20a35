"""The alarm service without a cloud: the evaluation rules (thresholds, trends,
composites, events), the complex-query language, and the evaluator against a real
database with stand-in statistics and notifier — a transition is notified once, also
across a restart, and a concurrent change wins."""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ipaddress import ip_network
from pathlib import Path
from typing import Any

import pytest

from tests.support import make_runtime
from tinystack.alarm.evaluator.notifier import Notifier
from tinystack.alarm.evaluator.statistics import InsufficientData
from tinystack.alarm.evaluator.threshold import Evaluator
from tinystack.alarm.service import SERVICE, build_deps
from tinystack.alarm.services import alarms, evaluation, query, rules
from tinystack.alarm.services.deps import Deps
from tinystack.alarm.services.evaluation import Outcome, Verdict
from tinystack.alarm.services.records import ALARM, OK, UNKNOWN, AlarmRecord, Caller
from tinystack.common.exceptions import BadRequest
from tinystack.common.outbound import AddressFilter

RULE = {"metric": "cpu", "resource_id": "r1", "resource_type": "generic",
        "aggregation_method": "mean", "threshold": 50.0, "comparison_operator": "gt",
        "granularity": 60, "evaluation_periods": 3}  # fmt: skip
ME = Caller("u1", "p1")


def test_threshold_verdicts() -> None:
    rule = rules.threshold_rule(RULE)
    assert evaluation.threshold(rule, [60, 70, 80]) == Verdict(ALARM, None, (60, 70, 80), 3)
    assert evaluation.threshold(rule, [60, 1, 2, 3]).state == OK  # the last three only
    mixed = evaluation.threshold(rule, [1, 2, 99])
    assert (mixed.state, mixed.trending, mixed.outside) == (None, ALARM, 1)
    short = evaluation.threshold(rule, [99, 99])
    assert (short.state, short.unknown_reason) == (UNKNOWN, "3 datapoints are unknown")


class Stats:
    """Statistics that answer what the test says, or have no data."""

    def __init__(self) -> None:
        self.values: list[float] | None = None

    def fetch(self, rule: Mapping[str, Any], now: datetime) -> list[float]:
        if self.values is None:
            raise InsufficientData("metric cpu for resource r1 does not exists")
        return self.values


class Notified:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str]] = []

    def notify(self, alarm: AlarmRecord, previous: str, outcome: Outcome) -> None:
        self.sent.append((alarm.alarm_id, previous, outcome.state))


@pytest.fixture
def deps(tmp_path: Path) -> Deps:
    return build_deps(make_runtime(tmp_path, SERVICE))


def _evaluator(deps: Deps, stats: Stats, notified: Notified) -> Evaluator:
    return Evaluator(deps, stats, notified)  # type: ignore[arg-type]


def test_evaluator_notifies_each_transition_once(deps: Deps) -> None:
    body = {"name": "a", "type": "gnocchi_resources_threshold",
            "gnocchi_resources_threshold_rule": RULE, "alarm_actions": ["log://"]}  # fmt: skip
    made = alarms.create(deps, ME, body)
    stats, notified = Stats(), Notified()
    first = _evaluator(deps, stats, notified)
    first.evaluate_all()  # no data: stays insufficient data, nothing sent
    assert notified.sent == []
    stats.values = [90, 91, 92]
    assert first.evaluate_all() == 1
    assert first.evaluate_all() == 0  # still in alarm: not again
    restarted = _evaluator(deps, stats, notified)  # a new process reads the stored state
    assert restarted.evaluate_all() == 0
    assert notified.sent == [(made.alarm_id, UNKNOWN, ALARM)]
    stats.values = [90, 10, 91]  # samples disagree: an alarm stays as it is
    assert restarted.evaluate_all() == 0
    stats.values = None
    restarted.evaluate_all()
    assert notified.sent[-1] == (made.alarm_id, ALARM, UNKNOWN)
    now = alarms.get(deps, made.alarm_id, None)
    assert now.state_reason == "metric cpu for resource r1 does not exists"


def test_a_concurrent_change_wins(deps: Deps) -> None:
    body = {"name": "a", "type": "gnocchi_resources_threshold",
            "gnocchi_resources_threshold_rule": RULE}  # fmt: skip
    read = alarms.create(deps, ME, body)
    alarms.set_state(deps, ME, read, OK)  # the API changes it after the evaluator read it
    assert not alarms.transition(deps, read, ALARM, "late", datetime(2026, 1, 1))
    assert alarms.get(deps, read.alarm_id, None).state == OK


def test_a_put_without_a_state_keeps_the_evaluators_transition(
    deps: Deps, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A PUT that names no state read the alarm before the evaluator moved it, and wrote
    the old state back as "Manually set via API" with no transition recorded (the
    chaos alarm round found it): the state is the locked row's, not the stale read's."""
    body = {"name": "a", "type": "gnocchi_resources_threshold",
            "gnocchi_resources_threshold_rule": RULE}  # fmt: skip
    stale = alarms.create(deps, ME, body)
    assert alarms.transition(deps, stale, ALARM, "evaluated", datetime(2026, 1, 1))
    real_get = alarms.get
    monkeypatch.setattr(alarms, "get", lambda *args: stale)  # read before the transition
    aimed = {**body, "gnocchi_resources_threshold_rule": {**RULE, "threshold": 5.0}}
    assert alarms.replace(deps, ME, stale.alarm_id, aimed).state == ALARM
    monkeypatch.setattr(alarms, "get", real_get)
    now = alarms.get(deps, stale.alarm_id, None)
    assert (now.state, now.state_reason) == (ALARM, "evaluated")
    # a PUT that names a state still sets it
    assert alarms.replace(deps, ME, stale.alarm_id, {**aimed, "state": OK}).state == OK
    assert alarms.get(deps, stale.alarm_id, None).state_reason == "Manually set via API"


def test_repeat_actions_notify_every_evaluation(deps: Deps) -> None:
    body = {"name": "a", "type": "gnocchi_resources_threshold", "repeat_actions": True,
            "gnocchi_resources_threshold_rule": RULE}  # fmt: skip
    alarms.create(deps, ME, body)
    stats, notified = Stats(), Notified()
    stats.values = [90, 91, 92]
    run = _evaluator(deps, stats, notified)
    run.evaluate_all()
    run.evaluate_all()
    assert [s[2] for s in notified.sent] == [ALARM, ALARM]


def test_composite_is_three_valued() -> None:
    leaves = {"a": Verdict(ALARM, None), "o": Verdict(OK, None), "u": Verdict(UNKNOWN, None),
              "t": Verdict(None, ALARM)}  # fmt: skip

    def state(tree: dict[str, Any]) -> str:
        return evaluation.combine(tree, lambda node: leaves[str(node["id"])])

    assert state({"and": [{"id": "a"}, {"id": "t"}]}) == ALARM
    assert state({"and": [{"id": "a"}, {"id": "o"}]}) == OK
    assert state({"and": [{"id": "a"}, {"id": "u"}]}) == UNKNOWN
    assert state({"and": [{"id": "o"}, {"id": "u"}]}) == OK
    assert state({"or": [{"id": "u"}, {"id": "a"}]}) == ALARM
    assert state({"or": [{"id": "o"}, {"and": [{"id": "a"}, {"id": "u"}]}]}) == UNKNOWN


def test_composite_rules_are_checked(deps: Deps) -> None:
    leaf = {"type": "gnocchi_resources_threshold", **RULE}
    tree = {"or": [leaf, {"and": [leaf, leaf]}]}
    made = alarms.create(deps, ME, {"name": "c", "type": "composite", "composite_rule": tree})
    assert made.rule["or"][1]["and"][0]["threshold"] == 50.0
    with pytest.raises(BadRequest, match="Invalid composite rule"):
        alarms.create(deps, ME, {"name": "c", "type": "composite",
                                 "composite_rule": {"xor": [leaf]}})  # fmt: skip


def test_event_rules_match_types_and_traits() -> None:
    rule = rules.event_rule({"event_type": "compute.instance.*", "query": [
        {"field": "traits.instance_id", "op": "eq", "value": "i1", "type": "string"},
        {"field": "traits.memory_mb", "op": "ge", "value": "512", "type": "integer"}]})  # fmt: skip
    traits = {"instance_id": "i1", "memory_mb": 1024}
    assert evaluation.event_matches(rule, "compute.instance.delete.end", traits)
    assert not evaluation.event_matches(rule, "volume.delete.end", traits)
    assert not evaluation.event_matches(rule, "compute.instance.delete.end", {"instance_id": "i1"})
    assert not evaluation.event_matches(rule, "compute.instance.x", {**traits, "memory_mb": 256})


def test_complex_queries() -> None:
    rows = [{"name": "a", "state": "ok", "n": 1}, {"name": "b", "state": "alarm", "n": 2},
            {"name": "c", "state": "alarm", "n": 3}]  # fmt: skip
    fields = ("name", "state", "n")
    got = query.run(list(rows), {"filter": '{"and": [{"=": {"state": "alarm"}}, {">": {"n": 2}}]}'},
                    fields)  # fmt: skip
    assert [r["name"] for r in got] == ["c"]
    got = query.run(list(rows), {"filter": '{"not": {"in": {"name": ["a"]}}}',
                                 "orderby": '[{"n": "desc"}]', "limit": 1}, fields)  # fmt: skip
    assert [r["name"] for r in got] == ["c"]
    for bad in ('{"~": {"n": 1}}', '{"=": {"color": 1}}', "not json"):
        with pytest.raises(BadRequest):
            query.run(list(rows), {"filter": bad}, fields)


def test_webhooks_reach_only_permitted_addresses(deps: Deps) -> None:
    """A webhook to loopback is refused by default ([DEFAULT] outbound_*_networks) and
    delivered once the operator allows that address."""
    received: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            received.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/hook"
        body = {"name": "w", "type": "gnocchi_resources_threshold",
                "gnocchi_resources_threshold_rule": RULE, "alarm_actions": [url]}  # fmt: skip
        alarm = alarms.create(deps, ME, body)
        for opts, expected in (
            (deps.opts, []),  # loopback is denied by default
            (replace(deps.opts, outbound=AddressFilter(allowed=(ip_network("127.0.0.1/32"),))),
             ["/hook"]),
        ):  # fmt: skip
            notifier = Notifier(opts)
            notifier.notify(alarm, OK, Outcome(ALARM, "crossed"))
            notifier.pool.shutdown(wait=True)
            assert received == expected
    finally:
        server.shutdown()
        server.server_close()


def test_by_resources_rule_checked_and_scoped() -> None:
    doc = {"metric": "cpu", "resource_type": "instance", "query": '{"=": {"host": "h1"}}',
           "aggregation_method": "rate:mean", "threshold": 5}  # fmt: skip
    checked = rules.check(rules.BY_RESOURCES, doc)
    typed = rules.threshold_rule(checked)
    assert (typed.metric, typed.resource_type, typed.granularity) == ("cpu", "instance", 60)
    scoped = rules.scoped(rules.BY_RESOURCES, checked, "p1")
    mine = {"or": [{"=": {"created_by_project_id": "p1"}}, {"=": {"project_id": "p1"}}]}
    assert json.loads(str(scoped["query"])) == {"and": [mine, {"=": {"host": "h1"}}]}
    leaf = {"type": rules.BY_RESOURCES, **checked}
    inside: Any = rules.scoped(rules.COMPOSITE, {"or": [leaf, {"and": [leaf]}]}, "p1")
    assert json.loads(inside["or"][1]["and"][0]["query"])["and"][0] == mine
    assert rules.scoped(rules.RESOURCES, RULE, "p1") == RULE
    for bad in ("{not json", "[1]", ""):
        with pytest.raises(BadRequest):
            rules.check(rules.BY_RESOURCES, {**doc, "query": bad})


def test_prometheus_rule_checked_and_scoped() -> None:
    checked = rules.check(rules.PROMETHEUS, {"query": "up", "threshold": "2"})
    assert checked == {"query": "up", "threshold": 2.0, "comparison_operator": "eq"}
    assert rules.threshold_rule(checked).promql == "up"
    for bad in ({"threshold": 1}, {"query": "up"}, {"query": "up", "threshold": "x"}):
        with pytest.raises(BadRequest):
            rules.check(rules.PROMETHEUS, bad)
    scope = rules.scoped_promql
    p = 'project_id="p1"'
    assert scope("cpu", "p1") == f"cpu{{{p}}}"
    assert scope('cpu{host="h"} > 2', "p1") == f'cpu{{{p},host="h"}} > 2'
    assert scope("sum by (host) (rate(cpu{}[5m]))", "p1") == f"sum by (host) (rate(cpu{{{p}}}[5m]))"
    assert scope("avg(a) without (x) / on(y) b offset 5m", "p1") == (
        f"avg(a{{{p}}}) without (x) / on(y) b{{{p}}} offset 5m"
    )
    assert scope('{__name__=~"c.*"}', "p1") == f'{{{p},__name__=~"c.*"}}'
    for text in ("cpu{{a}}", "cpu @ 5", "cpu[5m:1m]"):
        with pytest.raises(BadRequest):
            scope(text, "p1")
