"""Local networks: connectivity within one host only, no segmentation."""

from __future__ import annotations

from sqlalchemy.orm import Session

from tinystack.network.plugins.type_base import Segment, TypeDriver, require


class LocalTypeDriver(TypeDriver):
    network_type = "local"

    def validate_provider_segment(self, segment: Segment) -> None:
        require(
            segment.physical_network is None,
            "provider:physical_network prohibited for local provider network",
        )
        require(
            segment.segmentation_id is None,
            "provider:segmentation_id prohibited for local provider network",
        )

    def reserve_provider_segment(
        self, session: Session, segment: Segment, network_id: str
    ) -> Segment:
        return segment

    def allocate_tenant_segment(self, session: Session, network_id: str) -> Segment | None:
        return Segment("local")

    def get_mtu(self, physical_network: str | None) -> int:
        return int(self.opts.global_physnet_mtu)

    def release_segment(self, session: Session, segment: Segment) -> None:
        pass
