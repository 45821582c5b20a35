"""Port binding: ask the mechanism drivers, in order, to bind a port on its host."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from tinystack.network import models
from tinystack.network.conf import Options
from tinystack.network.plugins.mech_base import (
    Binding,
    BindingRequest,
    HostAgent,
    MechanismDriver,
)
from tinystack.network.plugins.mech_linuxbridge import LinuxBridgeMechanism
from tinystack.network.plugins.type_base import Segment

UNBOUND = "unbound"
BINDING_FAILED = "binding_failed"


class PortBinder:
    def __init__(self, opts: Options, drivers: list[MechanismDriver] | None = None) -> None:
        self.opts = opts
        self.drivers = drivers if drivers is not None else [LinuxBridgeMechanism()]

    def live_agents(self, session: Session, host: str) -> list[HostAgent]:
        cutoff = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(
            seconds=int(self.opts.agent_down_time)
        )
        rows = session.scalars(
            select(models.Agent).where(
                models.Agent.host == host,
                models.Agent.admin_state_up.is_(True),
                models.Agent.heartbeat_timestamp >= cutoff,
            )
        )
        return [HostAgent(r.agent_type, dict(r.configurations or {})) for r in rows]

    def bind(self, session: Session, port: models.Port, segments: list[Segment]) -> None:
        """Set the port's vif type and details for its ``binding:host_id``."""
        if not port.binding_host_id:
            port.binding_vif_type = UNBOUND
            port.binding_vif_details = {}
            return
        result = self.try_drivers(self._request(session, port, segments))
        if result is None:
            port.binding_vif_type = BINDING_FAILED
            port.binding_vif_details = {}
            return
        port.binding_vif_type = result.vif_type
        port.binding_vif_details = result.vif_details

    def host_segment(
        self, session: Session, port: models.Port, segments: list[Segment]
    ) -> Segment | None:
        """The segment of a multi-segment network the port is bound to on its host: the
        first one the host's agent can wire, as :meth:`bind` chose it (None: unbound)."""
        if not port.binding_host_id or port.binding_vif_type in (UNBOUND, BINDING_FAILED):
            return None
        if len(segments) < 2:
            return segments[0] if segments else None
        return self.choose_segment(session, port, segments)

    def choose_segment(
        self, session: Session, port: models.Port, segments: list[Segment]
    ) -> Segment | None:
        """The segment the mechanism drivers would bind the port to on its host."""
        result = self.try_drivers(self._request(session, port, segments))
        return result.segment if result is not None else None

    def _request(
        self, session: Session, port: models.Port, segments: list[Segment]
    ) -> BindingRequest:
        return BindingRequest(
            port_id=port.id,
            network_id=port.network_id,
            host=port.binding_host_id,
            vnic_type=port.binding_vnic_type,
            profile=dict(port.binding_profile or {}),
            segments=segments,
            agents=self.live_agents(session, port.binding_host_id),
        )

    def try_drivers(self, request: BindingRequest) -> Binding | None:
        require_agent = bool(self.opts.require_agent_for_binding)
        for driver in self.drivers:
            result = driver.try_bind(request, require_agent)
            if result is not None:
                return result
        return None
