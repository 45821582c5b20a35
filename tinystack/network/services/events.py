"""Where the service layer reports changes: agents (RPC casts) and compute."""

from __future__ import annotations

from typing import Protocol

from tinystack.network.services.records import PortRecord


class EventSink(Protocol):
    """What the service layer tells the rest of the cloud after a transaction commits."""

    def port_changed(self, port: PortRecord) -> None: ...

    def port_deleted(self, port: PortRecord) -> None: ...

    def network_changed(self, network_id: str) -> None: ...

    def network_deleted(self, network_id: str) -> None: ...

    def security_groups_changed(self, group_ids: list[str]) -> None: ...

    def routers_changed(self, router_ids: list[str]) -> None: ...

    def router_deleted(self, router_id: str) -> None: ...

    def tunnel_update(self, tunnel_ip: str, tunnel_type: str, host: str | None) -> None: ...

    def port_status_changed(self, port: PortRecord, old: str, new: str) -> None: ...

    def port_active_direct(self, port: PortRecord) -> None:
        """The port is wired on the host it migrates to (its status unchanged)."""


class NullEvents:
    """An :class:`EventSink` that drops everything (no agents, no compute)."""

    def port_changed(self, port: PortRecord) -> None:
        pass

    def port_deleted(self, port: PortRecord) -> None:
        pass

    def network_changed(self, network_id: str) -> None:
        pass

    def network_deleted(self, network_id: str) -> None:
        pass

    def security_groups_changed(self, group_ids: list[str]) -> None:
        pass

    def routers_changed(self, router_ids: list[str]) -> None:
        pass

    def router_deleted(self, router_id: str) -> None:
        pass

    def tunnel_update(self, tunnel_ip: str, tunnel_type: str, host: str | None) -> None:
        pass

    def port_status_changed(self, port: PortRecord, old: str, new: str) -> None:
        pass

    def port_active_direct(self, port: PortRecord) -> None:
        pass
