"""The type manager: picks the type driver for provider requests and tenant networks."""

from __future__ import annotations

from sqlalchemy.orm import Session

from tinystack.network.conf import Options
from tinystack.network.exception import invalid_input, no_network_available
from tinystack.network.plugins.type_base import Segment, TypeDriver
from tinystack.network.plugins.type_flat import FlatTypeDriver
from tinystack.network.plugins.type_local import LocalTypeDriver
from tinystack.network.plugins.type_vlan import VlanTypeDriver
from tinystack.network.plugins.type_vxlan import VxlanTypeDriver

DRIVERS: dict[str, type[TypeDriver]] = {
    "flat": FlatTypeDriver,
    "vlan": VlanTypeDriver,
    "vxlan": VxlanTypeDriver,
    "local": LocalTypeDriver,
}


class TypeManager:
    def __init__(self, opts: Options) -> None:
        self.drivers: dict[str, TypeDriver] = {}
        for name in opts.type_drivers:
            if name not in DRIVERS:
                raise ValueError(f"unknown network type driver {name!r}")
            self.drivers[name] = DRIVERS[name](opts)
        self.tenant_types = [t for t in opts.tenant_network_types if t in self.drivers]

    def driver(self, network_type: str) -> TypeDriver:
        driver = self.drivers.get(network_type)
        if driver is None:
            raise invalid_input(f"network_type value '{network_type}' not supported")
        return driver

    def validate(self, segment: Segment) -> None:
        self.driver(segment.network_type).validate_provider_segment(segment)

    def create_segments(
        self, session: Session, network_id: str, requested: list[Segment]
    ) -> list[Segment]:
        """Reserve the requested segments, or allocate one tenant segment."""
        if requested:
            seen = set()
            for segment in requested:
                self.validate(segment)
                key = (segment.network_type, segment.physical_network, segment.segmentation_id)
                if segment.segmentation_id is not None and key in seen:
                    raise invalid_input("Duplicate segment in the segments list")
                seen.add(key)
            return [
                self.driver(s.network_type).reserve_provider_segment(session, s, network_id)
                for s in requested
            ]
        for network_type in self.tenant_types:
            found = self.drivers[network_type].allocate_tenant_segment(session, network_id)
            if found is not None:
                return [found]
        raise no_network_available()

    def release(self, session: Session, segments: list[Segment]) -> None:
        for segment in segments:
            driver = self.drivers.get(segment.network_type)
            if driver is not None:
                driver.release_segment(session, segment)

    def mtu(self, segments: list[Segment]) -> int:
        values = [
            self.drivers[s.network_type].get_mtu(s.physical_network)
            for s in segments
            if s.network_type in self.drivers
        ]
        return min(values) if values else 0
