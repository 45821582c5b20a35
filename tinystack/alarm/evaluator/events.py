"""Event alarms (Aodh's ``aodh-listener``): each notification on the bus is an event
(its payload's fields are the traits) of the project it names; an enabled ``event``
alarm of that project whose rule matches goes to ``alarm`` and notifies — once, unless
``repeat_actions``. The listener reads its own copy of the notifications (a pool of its
own), beside the metric service's agent."""

from __future__ import annotations

import logging
from typing import Any

from tinystack.alarm.evaluator.notifier import Notifier
from tinystack.alarm.services import alarms, evaluation, rules
from tinystack.alarm.services.deps import Deps
from tinystack.alarm.services.records import ALARM
from tinystack.common.notifier import Notification, NotificationListener
from tinystack.common.rpc import Transport
from tinystack.common.timeutils import utcnow

LOG = logging.getLogger(__name__)
POOL = "alarm-listener"
_PROJECT_KEYS = ("tenant_id", "project_id", "owner")


def _project(notification: Notification) -> str | None:
    for key in _PROJECT_KEYS:
        value = notification.payload.get(key)
        if isinstance(value, str) and value:
            return value
    value = notification.context.get("project_id") or notification.context.get("tenant")
    return str(value) if value else None


def _traits(notification: Notification) -> dict[str, Any]:
    return {k: v for k, v in notification.payload.items()
            if isinstance(v, str | int | float | bool) or v is None}  # fmt: skip


class EventListener:
    def __init__(self, deps: Deps, transport: Transport, notifier: Notifier) -> None:
        self.deps = deps
        self.notifier = notifier
        self.listener = NotificationListener(transport, self.handle, pool=POOL)

    def start(self) -> None:
        self.listener.start()

    def stop(self) -> None:
        self.listener.stop()

    def handle(self, notification: Notification) -> None:
        project = _project(notification)
        if project is None:
            return
        traits = _traits(notification)
        for alarm in alarms.enabled_alarms(self.deps, (rules.EVENT,)):
            if alarm.project_id != project:
                continue
            if alarm.state == ALARM and not alarm.repeat_actions:
                continue
            rule = rules.event_rule(alarm.rule)
            if not evaluation.event_matches(rule, notification.event_type, traits):
                continue
            reason = (f"Event <id={notification.message_id},event_type="
                      f"{notification.event_type}> hits the query <query="
                      f"{alarm.rule.get('query') or []}>.")  # fmt: skip
            event = {"message_id": notification.message_id,
                     "event_type": notification.event_type,
                     "generated": notification.timestamp, "traits": traits}  # fmt: skip
            found = evaluation.Outcome(ALARM, reason, {"type": "event", "event": event})
            if alarms.transition(self.deps, alarm, ALARM, reason, utcnow()):
                self.notifier.notify(alarm, alarm.state, found)
