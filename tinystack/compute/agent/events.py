"""Waiting for external events (``network-vif-plugged`` and friends) during operations."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable


class EventWaiters:
    """Operations register the events they expect; external events release them.

    A key is ``(instance_uuid, "name-tag")`` as upstream names events
    (``network-vif-plugged-<port id>``). An event arriving before anyone waits is
    remembered briefly, so a fast network service cannot outrun a slow build.
    """

    EARLY_TTL = 600.0

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._expected: dict[tuple[str, str], str | None] = {}
        self._early: dict[tuple[str, str], tuple[float, str]] = {}

    def expect(self, uuid: str, names: Iterable[str]) -> list[tuple[str, str]]:
        keys = [(uuid, name) for name in names]
        with self._cond:
            now = time.monotonic()
            for key in keys:
                early = self._early.pop(key, None)
                if early is not None and now - early[0] < self.EARLY_TTL:
                    self._expected[key] = early[1]
                else:
                    self._expected[key] = None
        return keys

    def deliver(self, uuid: str, name: str, status: str = "completed") -> bool:
        """Release a waiter; returns False if nobody waited (the event is kept for a while)."""
        key = (uuid, name)
        with self._cond:
            if key in self._expected:
                self._expected[key] = status
                self._cond.notify_all()
                return True
            self._early[key] = (time.monotonic(), status)
            if len(self._early) > 10000:
                self._early.clear()
            return False

    def wait(
        self, keys: list[tuple[str, str]], timeout: float
    ) -> dict[tuple[str, str], str | None]:
        """Wait until every key arrived or ``timeout``; returns key -> status (None: missing)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                pending = [k for k in keys if self._expected.get(k) is None]
                remaining = deadline - time.monotonic()
                if not pending or remaining <= 0:
                    break
                self._cond.wait(remaining)
            result = {k: self._expected.pop(k, None) for k in keys}
        return result

    def cancel(self, keys: list[tuple[str, str]]) -> None:
        with self._cond:
            for key in keys:
                self._expected.pop(key, None)
