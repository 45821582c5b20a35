"""VLAN networks: 802.1Q ids per physical network, tenant ids from configured ranges."""

from __future__ import annotations

from sqlalchemy.orm import Session

from tinystack.network.conf import Options
from tinystack.network.exception import in_use, no_network_available
from tinystack.network.plugins.type_base import (
    Segment,
    TypeDriver,
    claim,
    first_free,
    parse_range,
    require,
)

MIN_VLAN, MAX_VLAN = 1, 4094


def parse_vlan_ranges(entries: list[str]) -> dict[str, list[tuple[int, int]]]:
    """``physnet`` or ``physnet:min:max`` entries -> {physnet: [ranges]}."""
    out: dict[str, list[tuple[int, int]]] = {}
    for entry in entries:
        name, _, rest = entry.strip().partition(":")
        if not name:
            raise ValueError(f"invalid network_vlan_ranges entry {entry!r}")
        ranges = out.setdefault(name, [])
        if rest:
            ranges.append(parse_range(rest, MIN_VLAN, MAX_VLAN, "VLAN"))
    return out


class VlanTypeDriver(TypeDriver):
    network_type = "vlan"

    def __init__(self, opts: Options) -> None:
        super().__init__(opts)
        self.ranges = parse_vlan_ranges(list(opts.network_vlan_ranges))

    def validate_provider_segment(self, segment: Segment) -> None:
        physnet = segment.physical_network
        require(bool(physnet), "physical_network required for VLAN provider network")
        require(
            physnet in self.ranges,
            f"physical_network '{physnet}' unknown for VLAN provider network",
        )
        if segment.segmentation_id is not None:
            require(
                MIN_VLAN <= segment.segmentation_id <= MAX_VLAN,
                f"segmentation_id out of range ({MIN_VLAN} through {MAX_VLAN})",
            )

    def reserve_provider_segment(
        self, session: Session, segment: Segment, network_id: str
    ) -> Segment:
        physnet = segment.physical_network or ""
        if segment.segmentation_id is None:
            vlan = first_free(session, "vlan", physnet, self.ranges.get(physnet, []), network_id)
            if vlan is None:
                raise no_network_available()
            return Segment("vlan", physnet, vlan)
        if not claim(session, segment, network_id):
            raise in_use(
                "VlanIdInUse",
                f"Unable to create the network. The VLAN {segment.segmentation_id} "
                f"on physical network {physnet} is in use.",
            )
        return segment

    def allocate_tenant_segment(self, session: Session, network_id: str) -> Segment | None:
        for physnet, ranges in self.ranges.items():
            vlan = first_free(session, "vlan", physnet, ranges, network_id)
            if vlan is not None:
                return Segment("vlan", physnet, vlan)
        return None

    def get_mtu(self, physical_network: str | None) -> int:
        return self.physnet_mtu(physical_network)
