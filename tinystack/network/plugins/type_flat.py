"""Flat networks: one untagged network per physical network."""

from __future__ import annotations

from sqlalchemy.orm import Session

from tinystack.network.exception import in_use
from tinystack.network.plugins.type_base import Segment, TypeDriver, claim, require


class FlatTypeDriver(TypeDriver):
    network_type = "flat"

    def _allowed(self, physnet: str) -> bool:
        allowed = list(self.opts.flat_networks)
        return "*" in allowed or physnet in allowed

    def validate_provider_segment(self, segment: Segment) -> None:
        require(
            segment.segmentation_id is None,
            "provider:segmentation_id prohibited for flat provider network",
        )
        require(bool(segment.physical_network), "physical_network required for flat network")
        require(
            self._allowed(segment.physical_network or ""),
            f"physical_network '{segment.physical_network}' unknown for flat provider network",
        )

    def reserve_provider_segment(
        self, session: Session, segment: Segment, network_id: str
    ) -> Segment:
        if not claim(session, segment, network_id):
            raise in_use(
                "FlatNetworkInUse",
                "Unable to create the flat network. "
                f"Physical network {segment.physical_network} is in use.",
            )
        return segment

    def allocate_tenant_segment(self, session: Session, network_id: str) -> Segment | None:
        return None

    def get_mtu(self, physical_network: str | None) -> int:
        return self.physnet_mtu(physical_network)
