"""Keep a process's revocation list in step with identity when identity runs elsewhere.

In the embedded deployment identity and every other service share one
:class:`RevocationList`. A service running in its own process instead polls
identity's ``GET /v3/OS-REVOKE/events`` with its service user's token.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime
from typing import Any

import httpx

from tinystack.common.auth.revocation import MATCH_FIELDS, RevocationEvent, RevocationList
from tinystack.common.service import ServiceCredentials

LOG = logging.getLogger(__name__)


def _ts(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def parse_events(body: dict[str, Any]) -> list[RevocationEvent]:
    events = []
    for item in body.get("events", []):
        events.append(
            RevocationEvent(
                issued_before=_ts(item["issued_before"]),
                revoked_at=_ts(item.get("revoked_at") or item["issued_before"]),
                **{f: item.get(f) for f in MATCH_FIELDS},
            )
        )
    return events


class RevocationPoller:
    def __init__(self, auth_url: str, creds: ServiceCredentials, revocations: RevocationList,
                 interval: float = 2.0) -> None:  # fmt: skip
        self.auth_url = auth_url.rstrip("/")
        self.creds = creds
        self.revocations = revocations
        self.interval = interval
        self._token: str | None = None
        self._token_expires = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _service_token(self, client: httpx.Client) -> str:
        if self._token and time.time() < self._token_expires - 60:
            return self._token
        body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": self.creds.username, "domain": {"name": self.creds.domain_name},
            "password": self.creds.password}}},
            "scope": {"project": {"name": self.creds.project_name,
                                  "domain": {"name": self.creds.domain_name}}}}}  # fmt: skip
        resp = client.post(f"{self.auth_url}/auth/tokens?nocatalog", json=body)
        resp.raise_for_status()
        self._token = resp.headers["x-subject-token"]
        self._token_expires = _ts(resp.json()["token"]["expires_at"])
        return self._token

    def poll_once(self, client: httpx.Client) -> int:
        token = self._service_token(client)
        resp = client.get(f"{self.auth_url}/OS-REVOKE/events", headers={"X-Auth-Token": token})
        resp.raise_for_status()
        events = parse_events(resp.json())
        self.revocations.replace(events)
        return len(events)

    def _run(self) -> None:
        with httpx.Client(timeout=10) as client:
            while not self._stop.is_set():
                try:
                    self.poll_once(client)
                except (httpx.HTTPError, KeyError, ValueError) as exc:
                    LOG.warning("could not refresh revocation events from %s: %s",
                                self.auth_url, exc)  # fmt: skip
                    self._token = None
                self._stop.wait(self.interval)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="revocation-poller", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
