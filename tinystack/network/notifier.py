"""Telling others about changes: agents over RPC casts, compute over its REST API.

Compute learns that a port of a server was wired (``network-vif-plugged``),
unwired (``network-vif-unplugged``) or deleted (``network-vif-deleted``) through
``POST /os-server-external-events``, authenticated as the network service's
user. Events are batched for ``send_events_interval`` seconds, as upstream does.
"""

from __future__ import annotations

import abc
import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass

from tinystack.common.clients.session import ClientError, Session
from tinystack.common.cloud import CatalogEntry, ServiceCredentials
from tinystack.common.rpc import Transport
from tinystack.common.rpc.client import VersionCapFn
from tinystack.network.payloads import PortChange, Tunnel
from tinystack.network.rpcapi import AgentNotifier
from tinystack.network.services.records import PortRecord

LOG = logging.getLogger(__name__)
COMPUTE_OWNER_PREFIX = "compute:"


@dataclass(frozen=True, slots=True)
class ServerEvent:
    """A server external event (``network-vif-plugged`` ...) about port ``tag``."""

    name: str
    server_uuid: str
    tag: str
    status: str = "completed"

    def as_body(self) -> dict[str, str]:
        """The event as ``POST /os-server-external-events`` lists it."""
        return {
            "name": self.name,
            "server_uuid": self.server_uuid,
            "tag": self.tag,
            "status": self.status,
        }


class ComputeNotifier(abc.ABC):
    """Delivers server external events to compute."""

    @abc.abstractmethod
    def notify(self, events: list[ServerEvent]) -> None:
        """Queue events for delivery."""

    def start(self) -> None:  # noqa: B027
        """Start background delivery."""

    def stop(self) -> None:  # noqa: B027
        """Deliver what is queued and stop."""


class NullComputeNotifier(ComputeNotifier):
    def notify(self, events: list[ServerEvent]) -> None:
        pass


class RestComputeNotifier(ComputeNotifier):
    """Batches events and posts them to compute with the service token of ``session``."""

    def __init__(
        self,
        auth_url: str,
        credentials: ServiceCredentials,
        compute_url: str,
        interval: float = 2.0,
        timeout: float = 10.0,
    ) -> None:
        catalog = [CatalogEntry("compute", "nova", compute_url)]
        self.session = Session(auth_url, credentials, catalog, timeout=timeout, max_connections=4)
        self.interval = interval
        self._pending: list[ServerEvent] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None

    def notify(self, events: list[ServerEvent]) -> None:
        if not events:
            return
        with self._lock:
            self._pending.extend(events)
        self._wake.set()

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="compute-notifier", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self.flush()
        self.session.close()

    def _run(self) -> None:
        while not self._stopping:
            self._wake.wait()
            if self._stopping:
                return
            time.sleep(self.interval)
            self._wake.clear()
            self.flush()

    def flush(self) -> bool:
        """Send every queued event now; True when they were accepted."""
        with self._lock:
            batch, self._pending = self._pending, []
        if not batch:
            return True
        try:
            resp = self.session.request(
                "compute",
                "POST",
                "/os-server-external-events",
                json_body={"events": [event.as_body() for event in batch]},
                ok=(200, 207, 404),
            )
        except ClientError as exc:
            if exc.status:
                LOG.warning("compute rejected %d events: %s %s", len(batch), exc.status, exc)
            else:
                LOG.warning("could not notify compute of %d events: %s", len(batch), exc)
            return False
        if resp.status_code == 404:
            LOG.debug("compute knows none of the servers of %d events", len(batch))
        return True


def compute_url(catalog: list[CatalogEntry]) -> str | None:
    return next((e.url for e in catalog if e.service_type == "compute"), None)


def make_compute_notifier(
    auth_url: str,
    credentials: ServiceCredentials | None,
    catalog: list[CatalogEntry],
    interval: float,
) -> ComputeNotifier:
    """The REST notifier when compute is in the catalog, else one that drops events."""
    url = compute_url(catalog)
    if not url or not auth_url or credentials is None:
        return NullComputeNotifier()
    return RestComputeNotifier(auth_url, credentials, url, interval=interval)


def vif_event(port: PortRecord, name: str, status: str = "completed") -> ServerEvent | None:
    """The external event for a port of a server, or None for other ports."""
    if not port.device_owner.startswith(COMPUTE_OWNER_PREFIX):
        return None
    if not port.device_id:
        return None
    return ServerEvent(name, port.device_id, port.id, status)


class Events:
    """The service layer's :class:`EventSink`: agent casts plus compute notifications."""

    def __init__(
        self,
        transport: Transport | None,
        compute: ComputeNotifier,
        notify_compute: bool = True,
        caps: Mapping[str, VersionCapFn] | None = None,
    ) -> None:
        """``caps``: agent type -> its ``[upgrade_levels]`` cap."""
        self.compute = compute
        self.notify_compute = notify_compute
        self.agents = AgentNotifier(transport, caps) if transport is not None else None

    def port_changed(self, port: PortRecord) -> None:
        if self.agents is not None:
            change = PortChange(
                id=port.id, network_id=port.network_id, security_groups=port.security_groups
            )
            self.agents.port_update(change)

    def port_deleted(self, port: PortRecord) -> None:
        if self.agents is not None:
            self.agents.port_delete(port.id, port.network_id)
        if self.notify_compute:
            event = vif_event(port, "network-vif-deleted")
            if event:
                self.compute.notify([event])

    def network_changed(self, network_id: str) -> None:
        if self.agents is not None:
            self.agents.network_update(network_id)

    def network_deleted(self, network_id: str) -> None:
        if self.agents is not None:
            self.agents.network_delete(network_id)

    def security_groups_changed(self, group_ids: list[str]) -> None:
        if self.agents is not None:
            self.agents.security_groups_changed(group_ids)

    def tunnel_update(self, tunnel_ip: str, tunnel_type: str, host: str | None) -> None:
        if self.agents is not None:
            self.agents.tunnel_update(Tunnel(ip_address=tunnel_ip, host=host), tunnel_type)

    def routers_changed(self, router_ids: list[str]) -> None:
        if self.agents is not None:
            self.agents.routers_updated(router_ids)

    def router_deleted(self, router_id: str) -> None:
        if self.agents is not None:
            self.agents.router_deleted(router_id)

    def port_active_direct(self, port: PortRecord) -> None:
        """``network-vif-plugged`` for a port the L2 agent of the host it live-migrates to
        (``binding:profile`` ``migrating_to``) has wired: the migration's source waits for
        it before the switch-over (upstream's ``notify_port_active_direct``)."""
        event = vif_event(port, "network-vif-plugged") if self.notify_compute else None
        if event:
            self.compute.notify([event])

    def port_status_changed(self, port: PortRecord, old: str, new: str) -> None:
        if not self.notify_compute or old == new:
            return
        if new == "ACTIVE":
            event = vif_event(port, "network-vif-plugged")
        elif new == "ERROR":
            event = vif_event(port, "network-vif-plugged", "failed")
        elif old == "ACTIVE" and new == "DOWN":
            event = vif_event(port, "network-vif-unplugged")
        else:
            event = None
        if event:
            self.compute.notify([event])
