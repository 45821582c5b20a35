"""Unified limits read from identity (``/v3/registered_limits``, ``/v3/limits``), as
oslo.limit reads them for Nova and Glance: a project's limit of a resource is its
project limit when it has one, else the registered default; a resource without a
registered limit is unlimited (-1).

One :class:`LimitsReader` per service (``service_type`` names the service whose limits
these are, found by type in identity's service list), through the common
:class:`~tinystack.common.clients.session.Session` with the service's token; answers are
cached for a few seconds, so a burst of creates asks identity once.
"""

from __future__ import annotations

import threading
import time

from tinystack.common.clients.session import ClientError, Session
from tinystack.common.exceptions import ServiceUnavailable

#: seconds a project's limits (and the registered defaults) are reused
CACHE_SECONDS = 5.0


class LimitsReader:
    def __init__(self, session: Session, service_type: str, ttl: float = CACHE_SECONDS) -> None:
        self.session = session
        self.service_type = service_type
        self.ttl = ttl
        self._lock = threading.Lock()
        self._service_id: str | None = None
        self._cache: dict[str, tuple[float, dict[str, int]]] = {}

    def _get(self, path: str, params: dict[str, str]) -> list[dict[str, object]]:
        try:
            response = self.session.request("identity", "GET", path, params=params)
        except ClientError as exc:
            raise ServiceUnavailable(f"Cannot read unified limits from identity: {exc}") from exc
        key = path.rsplit("/", 1)[-1]
        found = response.json().get(key, [])
        return found if isinstance(found, list) else []

    def service_id(self) -> str | None:
        if self._service_id is None:
            services = self._get("/services", {"type": self.service_type})
            self._service_id = str(services[0]["id"]) if services else None
        return self._service_id

    def defaults(self) -> dict[str, int]:
        """The registered limits of the service: resource name -> default limit."""
        return self._cached("", self._read_defaults)

    def project_limits(self, project_id: str) -> dict[str, int]:
        """The limits of a project: resource name -> limit (registered defaults overlaid
        by the project's own limits)."""
        return self._cached(project_id, lambda: self._read_project(project_id))

    def limit(self, project_id: str, resource_name: str) -> int:
        return self.project_limits(project_id).get(resource_name, -1)

    def _cached(self, key: str, read: object) -> dict[str, int]:
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None and hit[0] > now:
                return dict(hit[1])
        assert callable(read)
        values: dict[str, int] = read()
        with self._lock:
            self._cache[key] = (now + self.ttl, values)
        return dict(values)

    def _read_defaults(self) -> dict[str, int]:
        service_id = self.service_id()
        if service_id is None:
            return {}
        found = self._get("/registered_limits", {"service_id": service_id})
        return {str(r["resource_name"]): int(str(r["default_limit"])) for r in found}

    def _read_project(self, project_id: str) -> dict[str, int]:
        values = self.defaults()
        service_id = self.service_id()
        if service_id is None or not project_id:
            return values
        found = self._get("/limits", {"service_id": service_id, "project_id": project_id})
        for item in found:
            values[str(item["resource_name"])] = int(str(item["resource_limit"]))
        return values

    def forget(self) -> None:
        with self._lock:
            self._cache.clear()
