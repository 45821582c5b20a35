"""Alarm actions: ``log://`` (the cloud's log), ``http(s)://`` webhooks with Aodh's
JSON body, and ``trust+http(s)://`` ones called with a token of the action's trust
(``services/trusts.py``). Sent from a small pool of threads so a slow webhook never holds up an
evaluation; a failed delivery is logged (the host only: a URL may carry credentials),
never retried forever. A webhook goes only to addresses ``[DEFAULT]
outbound_*_networks`` permit (``common/outbound.py``: not loopback or link-local by
default), checked on the resolved name and on the address connected to."""

from __future__ import annotations

import json
import logging
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from tinystack.alarm.conf import Options
from tinystack.alarm.services import trusts
from tinystack.alarm.services.evaluation import Outcome
from tinystack.alarm.services.records import AlarmRecord
from tinystack.common.clients.session import ClientError, Session
from tinystack.common.outbound import Refused

LOG = logging.getLogger(__name__)


class Notifier:
    def __init__(self, opts: Options, session: Session | None = None, threads: int = 4) -> None:
        self.opts = opts
        self.session = session
        self.pool = ThreadPoolExecutor(threads, thread_name_prefix="alarm-notifier")

    def notify(self, alarm: AlarmRecord, previous: str, outcome: Outcome) -> None:
        for action in alarm.actions_for(outcome.state):
            self.pool.submit(self._send, action, alarm, previous, outcome)

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)

    def _send(self, action: str, alarm: AlarmRecord, previous: str, outcome: Outcome) -> None:
        body: dict[str, Any] = {
            "alarm_name": alarm.name,
            "alarm_id": alarm.alarm_id,
            "severity": alarm.severity,
            "previous": previous,
            "current": outcome.state,
            "reason": outcome.reason,
            "reason_data": outcome.reason_data,
        }
        url = urlsplit(action)
        if url.scheme == "log":
            LOG.info("alarm %s (%s) %s -> %s: %s", alarm.name, alarm.alarm_id, previous,
                     outcome.state, outcome.reason)  # fmt: skip
            return
        headers = {"content-type": "application/json",
                   "x-openstack-request-id": f"req-{uuid.uuid4()}"}  # fmt: skip
        if url.scheme.startswith(trusts.PREFIX):
            trust_id, action = trusts.target(action)
            try:
                if self.session is None or not trust_id:
                    raise ClientError("identity", 0, "no trust or no service credentials")
                headers["x-auth-token"], trustor = self.session.trust_token(trust_id)
                if trustor != alarm.user_id:  # not Aodh's check: trust ids are not secrets
                    raise ClientError("identity", 0, "the trust is not the alarm user's")
            except ClientError as exc:
                LOG.warning("alarm %s: no token for its trust action to %s: %s",
                            alarm.alarm_id, url.hostname, exc)  # fmt: skip
                return
            url = urlsplit(action)
        self._post(action, url.query, headers, body, alarm.alarm_id)

    def _post(
        self, action: str, query: str, headers: dict[str, str], body: dict[str, Any], alarm_id: str
    ) -> None:
        verify = self.opts.rest_notifier_ssl_verify
        wanted = parse_qs(query).get("aodh-alarm-ssl-verify")
        if wanted:
            verify = wanted[-1] not in ("0", "false", "False")
        host = urlsplit(action).hostname
        hooks = self.opts.outbound.hooks()
        timeout = self.opts.rest_notifier_timeout
        for attempt in range(self.opts.rest_notifier_max_retries + 1):
            try:
                with httpx.Client(verify=verify, timeout=timeout, event_hooks=hooks) as client:
                    reply = client.post(action, content=json.dumps(body), headers=headers)
            except httpx.HTTPError as exc:
                LOG.warning("alarm %s: webhook to %s failed (try %d): %s", alarm_id,
                            host, attempt + 1, exc)  # fmt: skip
                if isinstance(exc, Refused):
                    return  # the address does not change by trying again
                continue
            LOG.info("alarm %s: webhook to %s answered %s", alarm_id, host,
                     reply.status_code)  # fmt: skip
            return
