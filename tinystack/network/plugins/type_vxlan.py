"""VXLAN networks: overlay segments identified by VNIs from configured ranges."""

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

MIN_VNI, MAX_VNI = 1, 2**24 - 1
#: outer IPv4 (20) + UDP (8) + VXLAN (8) + inner Ethernet (14) headers
VXLAN_OVERHEAD = 50


class VxlanTypeDriver(TypeDriver):
    network_type = "vxlan"

    def __init__(self, opts: Options) -> None:
        super().__init__(opts)
        self.ranges = [parse_range(e, MIN_VNI, MAX_VNI, "VNI") for e in opts.vni_ranges]

    def validate_provider_segment(self, segment: Segment) -> None:
        require(
            segment.physical_network is None,
            "provider:physical_network specified for VXLAN network",
        )
        if segment.segmentation_id is not None:
            require(
                MIN_VNI <= segment.segmentation_id <= MAX_VNI,
                f"segmentation_id out of range ({MIN_VNI} through {MAX_VNI})",
            )

    def reserve_provider_segment(
        self, session: Session, segment: Segment, network_id: str
    ) -> Segment:
        if segment.segmentation_id is None:
            allocated = self.allocate_tenant_segment(session, network_id)
            if allocated is None:
                raise no_network_available()
            return allocated
        if not claim(session, segment, network_id):
            raise in_use(
                "TunnelIdInUse",
                f"Unable to create the network. The tunnel ID {segment.segmentation_id} is in use.",
            )
        return segment

    def allocate_tenant_segment(self, session: Session, network_id: str) -> Segment | None:
        vni = first_free(session, "vxlan", "", self.ranges, network_id)
        return Segment("vxlan", None, vni) if vni is not None else None

    def get_mtu(self, physical_network: str | None) -> int:
        return int(self.opts.global_physnet_mtu) - VXLAN_OVERHEAD
