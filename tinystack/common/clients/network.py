"""Networking (Neutron v2.0) client: networks, ports and security groups for compute.

When the catalog has no network service, :meth:`NetworkClient.available` is False
and compute behaves as upstream without Neutron: it allocates nothing.
"""

from __future__ import annotations

import time
from typing import Any

from tinystack.common.clients.session import ClientError, ClientNotFound, Session

#: how long the service's extension list is trusted (upstream Nova refreshes it as often)
EXTENSIONS_TTL = 600.0


class NetworkClient:
    def __init__(self, session: Session) -> None:
        self.session = session
        self._extensions: tuple[float, frozenset[str]] | None = None

    def available(self) -> bool:
        return self.session.has_service("network")

    def has_extension(self, alias: str) -> bool:
        """Whether the service lists the API extension ``alias`` (the list is kept
        ``EXTENSIONS_TTL`` seconds, as Nova keeps Neutron's)."""
        now = time.monotonic()
        if self._extensions is None or now - self._extensions[0] > EXTENSIONS_TTL:
            listed = self._get("/v2.0/extensions").get("extensions", [])
            self._extensions = (now, frozenset(str(e.get("alias")) for e in listed))
        return alias in self._extensions[1]

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        token: str | None = None,
        params: Any = None,
        ok: tuple[int, ...] = (200, 201, 202, 204),
    ) -> dict[str, Any]:
        """Any request; the decoded answer ({} when it has no body)."""
        response = self.session.request(
            "network", method, path, json_body=body, params=params, token=token, ok=ok
        )
        result: dict[str, Any] = response.json() if response.content else {}
        return result

    def _get(self, path: str, params: Any = None, token: str | None = None) -> dict[str, Any]:
        response = self.session.request("network", "GET", path, params=params, token=token)
        result: dict[str, Any] = response.json()
        return result

    def list_networks(self, *, token: str | None = None, **filters: Any) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._get("/v2.0/networks", filters, token)["networks"]
        return result

    def get_network(self, network_id: str, *, token: str | None = None) -> dict[str, Any] | None:
        try:
            result: dict[str, Any] = self._get(f"/v2.0/networks/{network_id}", token=token)
        except ClientNotFound:
            return None
        return dict(result["network"])

    def auto_allocated_network(self, project_id: str, *, token: str | None = None) -> str | None:
        """The project's auto-allocated network (created on first use), if the service has it."""
        try:
            found = self._get(f"/v2.0/auto-allocated-topology/{project_id}", token=token)
        except ClientError as exc:
            if exc.status in (400, 404, 409, 501):
                return None
            raise
        network_id = (found.get("auto_allocated_topology") or {}).get("id")
        return str(network_id) if network_id else None

    def can_auto_allocate(self, project_id: str, *, token: str | None = None) -> bool:
        """Whether the network service could make the project's auto-allocated topology
        (its ``fields=dry-run`` check: 409 when the deployment lacks the defaults)."""
        try:
            self._get(f"/v2.0/auto-allocated-topology/{project_id}", {"fields": "dry-run"}, token)
        except ClientError as exc:
            if exc.status in (400, 404, 409, 501):
                return False
            raise
        return True

    def list_ports(self, *, token: str | None = None, **filters: Any) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._get("/v2.0/ports", filters, token)["ports"]
        return result

    def get_port(self, port_id: str, *, token: str | None = None) -> dict[str, Any] | None:
        try:
            result = self._get(f"/v2.0/ports/{port_id}", token=token)
        except ClientNotFound:
            return None
        return dict(result["port"])

    def create_port(self, body: dict[str, Any], *, token: str | None = None) -> dict[str, Any]:
        response = self.session.request(
            "network", "POST", "/v2.0/ports", json_body={"port": body}, token=token, ok=(201,)
        )
        return dict(response.json()["port"])

    def update_port(
        self, port_id: str, body: dict[str, Any], *, token: str | None = None
    ) -> dict[str, Any]:
        response = self.session.request(
            "network", "PUT", f"/v2.0/ports/{port_id}", json_body={"port": body}, token=token
        )
        return dict(response.json()["port"])

    def delete_port(self, port_id: str, *, token: str | None = None) -> bool:
        try:
            self.session.request("network", "DELETE", f"/v2.0/ports/{port_id}", token=token)
        except ClientNotFound:
            return False
        return True

    def list_subnets(self, *, token: str | None = None, **filters: Any) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._get("/v2.0/subnets", filters, token)["subnets"]
        return result

    def list_security_groups(
        self, *, token: str | None = None, **filters: Any
    ) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._get("/v2.0/security-groups", filters, token)[
            "security_groups"
        ]
        return result
