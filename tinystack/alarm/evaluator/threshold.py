"""The evaluator (Aodh's ``aodh-evaluator``): every ``evaluation_interval`` each enabled
threshold and composite alarm inside its time constraints (if any) is evaluated against
the metric service; a change of
state (or, with ``repeat_actions``, every evaluation that confirms it) is written with
a compare-and-set on the state read, then its actions are notified. A restart starts
from the stored states, so a transition is never notified twice."""

from __future__ import annotations

import logging
import threading
from dataclasses import replace

from tinystack.alarm.evaluator.notifier import Notifier
from tinystack.alarm.evaluator.statistics import InsufficientData, Statistics, leaf_rule
from tinystack.alarm.services import alarms, constraints, evaluation, rules
from tinystack.alarm.services.deps import Deps
from tinystack.alarm.services.records import AlarmRecord
from tinystack.common.timeutils import utcnow

LOG = logging.getLogger(__name__)


class Evaluator:
    def __init__(self, deps: Deps, statistics: Statistics, notifier: Notifier) -> None:
        self.deps = deps
        self.statistics = statistics
        self.notifier = notifier
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="alarm-evaluator", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.wait(self.deps.opts.evaluation_interval):
            try:
                self.evaluate_all()
            except Exception:  # a bad pass must not end the evaluator
                LOG.exception("alarm evaluation pass failed")

    def evaluate_all(self) -> int:
        """One pass over every enabled threshold and composite alarm; how many changed."""
        changed = 0
        kinds = (*rules.THRESHOLDS, rules.PROMETHEUS, rules.COMPOSITE)
        for alarm in alarms.enabled_alarms(self.deps, kinds):
            if self._stop.is_set():
                break
            try:
                changed += self.evaluate(alarm)
            except Exception:
                LOG.exception("evaluating alarm %s failed", alarm.alarm_id)
        return changed

    def _verdict(self, rule: rules.ThresholdRule) -> evaluation.Verdict:
        try:
            values = self.statistics.fetch(rule, utcnow())
        except InsufficientData as exc:
            return evaluation.unknown(str(exc))
        if rule.promql:  # every series' value is a statistic
            rule = replace(rule, evaluation_periods=len(values))
        return evaluation.threshold(rule, values)

    def evaluate(self, alarm: AlarmRecord) -> bool:
        if not constraints.within(alarm.time_constraints, utcnow()):
            LOG.debug("alarm %s is outside its time constraints", alarm.alarm_id)
            return False  # skipped, as Aodh does: not evaluated, its state kept
        if alarm.type == rules.COMPOSITE:
            state = evaluation.combine(alarm.rule, lambda node: self._verdict(leaf_rule(node)))
            found = evaluation.composite_outcome(alarm, state)
        else:
            found = evaluation.outcome(alarm, self._verdict(rules.threshold_rule(alarm.rule)))
        now = utcnow()
        if found is None:
            alarms.mark_evaluated(self.deps, alarm.alarm_id, now)
            return False
        if not alarms.transition(self.deps, alarm, found.state, found.reason, now):
            return False  # changed meanwhile: the next pass sees the new state
        self.notifier.notify(alarm, alarm.state, found)
        return found.state != alarm.state
