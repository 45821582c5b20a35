"""Linux bridge mechanism: a tap on a per-network bridge (``brq`` + network id prefix).

With a live Linux bridge agent on the host, the segment must be one the agent
can wire (its ``interface_mappings``/``bridge_mappings`` for flat and VLAN,
``tunnel_types`` for VXLAN). Without one, the port is bound anyway unless
``require_agent_for_binding`` is set, so that compute can plug it before a data
plane runs (the emulation mode).
"""

from __future__ import annotations

from typing import Any

from tinystack.network.plugins.mech_base import Binding, BindingRequest, MechanismDriver
from tinystack.network.plugins.type_base import Segment

AGENT_TYPE = "Linux bridge agent"
VIF_TYPE = "bridge"
SUPPORTED_TYPES = ("flat", "vlan", "vxlan", "local")


def bridge_name(network_id: str) -> str:
    return "brq" + network_id[:11]


def _agent_wires(configurations: dict[str, Any], segment: Segment) -> bool:
    if segment.network_type == "local":
        return True
    if segment.network_type == "vxlan":
        return "vxlan" in configurations.get("tunnel_types", [])
    mappings = {
        **configurations.get("interface_mappings", {}),
        **configurations.get("bridge_mappings", {}),
    }
    return segment.physical_network in mappings


class LinuxBridgeMechanism(MechanismDriver):
    name = "linuxbridge"
    agent_type = AGENT_TYPE

    def try_bind(self, request: BindingRequest, require_agent: bool) -> Binding | None:
        if request.vnic_type != "normal":
            return None
        agents = [a for a in request.agents if a.agent_type == self.agent_type]
        for segment in request.segments:
            if segment.network_type not in SUPPORTED_TYPES:
                continue
            if agents:
                if not any(_agent_wires(a.configurations, segment) for a in agents):
                    continue
            elif require_agent:
                return None
            details = {
                "port_filter": True,
                "connectivity": "l2",
                "bridge_name": bridge_name(request.network_id),
            }
            return Binding(VIF_TYPE, details, segment, self.name)
        return None
