"""Keep a process's revocation list in step with identity when identity runs elsewhere.

In the embedded deployment identity and every other service share one
:class:`RevocationList`. A service running in its own process instead polls
identity's ``GET /v3/OS-REVOKE/events`` through its service :class:`Session` (the one
service-token implementation: password auth, cached token, re-issued on 401).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping

from tinystack.common.auth.revocation import (
    MATCH_FIELDS,
    WIRE_NAMES,
    RevocationEvent,
    RevocationList,
)
from tinystack.common.clients.session import ClientError, Session
from tinystack.common.timeutils import parse_isotime

LOG = logging.getLogger(__name__)


def _ts(value: str) -> float:
    return parse_isotime(value).timestamp()


def parse_events(body: Mapping[str, object]) -> list[RevocationEvent]:
    """The events of an ``OS-REVOKE/events`` response body."""
    items = body.get("events", [])
    if not isinstance(items, list):
        raise ValueError("OS-REVOKE/events: 'events' is not a list")
    events = []
    for item in items:
        events.append(
            RevocationEvent(
                issued_before=_ts(item["issued_before"]),
                revoked_at=_ts(item.get("revoked_at") or item["issued_before"]),
                **{f: item.get(WIRE_NAMES.get(f, f)) for f in MATCH_FIELDS},
            )
        )
    return events


class RevocationPoller:
    """Replaces ``revocations`` with identity's events every ``interval`` seconds.

    The poller owns ``session`` and closes it when stopped.
    """

    def __init__(
        self, session: Session, revocations: RevocationList, interval: float = 2.0
    ) -> None:
        self.session = session
        self.revocations = revocations
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def poll_once(self) -> int:
        resp = self.session.request("identity", "GET", "/OS-REVOKE/events", ok=(200,))
        events = parse_events(resp.json())
        self.revocations.replace(events)
        return len(events)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once()
            except (ClientError, KeyError, TypeError, ValueError) as exc:
                LOG.warning(
                    "could not refresh revocation events from %s: %s", self.session.auth_url, exc
                )
            self._stop.wait(self.interval)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="revocation-poller", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.session.close()
