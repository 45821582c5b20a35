"""The mechanism driver interface: how a port is bound on a host."""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Any

from tinystack.network.plugins.type_base import Segment


@dataclass(frozen=True)
class HostAgent:
    """A live agent on the host being bound to."""

    agent_type: str
    configurations: dict[str, Any]


@dataclass(frozen=True)
class BindingRequest:
    port_id: str
    network_id: str
    host: str
    vnic_type: str
    profile: dict[str, Any]
    segments: list[Segment]
    agents: list[HostAgent] = field(default_factory=list)


@dataclass(frozen=True)
class Binding:
    vif_type: str
    vif_details: dict[str, Any]
    segment: Segment
    driver: str


class MechanismDriver(abc.ABC):
    name: str
    agent_type: str

    @abc.abstractmethod
    def try_bind(self, request: BindingRequest, require_agent: bool) -> Binding | None:
        """The binding on ``request.host``, or None when this driver cannot bind there."""
