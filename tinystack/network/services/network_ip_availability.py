"""Network IP availability: total and used addresses per network and subnet."""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tinystack.network import ipam, models
from tinystack.network.exception import not_found
from tinystack.network.services import listing
from tinystack.network.services.records import NetworkIpAvailabilityRecord, SubnetIpAvailability

if TYPE_CHECKING:
    from tinystack.network.services.deps import Deps


class NetworkIpAvailability:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    def _records(
        self, session: Session, networks: list[models.Network]
    ) -> list[NetworkIpAvailabilityRecord]:
        ids = [n.id for n in networks]
        subnets: dict[str, list[models.Subnet]] = defaultdict(list)
        used: dict[str, int] = {}
        if ids:
            for subnet in session.scalars(
                select(models.Subnet)
                .where(models.Subnet.network_id.in_(ids))
                .order_by(models.Subnet.created_at, models.Subnet.id)
            ):
                subnets[subnet.network_id].append(subnet)
            used = dict(
                session.execute(
                    select(models.IPAllocation.subnet_id, func.count())
                    .where(models.IPAllocation.network_id.in_(ids))
                    .group_by(models.IPAllocation.subnet_id)
                ).all()
            )
        return [
            NetworkIpAvailabilityRecord(
                network_id=net.id,
                network_name=net.name,
                project_id=net.project_id,
                subnets=tuple(
                    SubnetIpAvailability(
                        subnet_id=s.id,
                        subnet_name=s.name,
                        cidr=s.cidr,
                        ip_version=s.ip_version,
                        total_ips=ipam.pool_size(s.allocation_pools),
                        used_ips=used.get(s.id, 0),
                    )
                    for s in subnets[net.id]
                ),
            )
            for net in networks
        ]

    def list_items(self, filters: dict[str, list[str]]) -> list[NetworkIpAvailabilityRecord]:
        stmt = select(models.Network).order_by(models.Network.id)
        if "network_id" in filters:
            stmt = stmt.where(models.Network.id.in_(filters["network_id"]))
        if "network_name" in filters:
            stmt = stmt.where(models.Network.name.in_(filters["network_name"]))
        for key in ("project_id", "tenant_id"):
            if key in filters:
                stmt = stmt.where(models.Network.project_id.in_(filters[key]))
        with self.deps.db.reader() as session:
            items = self._records(session, list(session.scalars(stmt)))
        if "ip_version" in filters:
            versions = {listing.to_int(v) for v in filters["ip_version"]}
            items = [i for i in items if any(s.ip_version in versions for s in i.subnets)]
        return items

    def show(self, network_id: str) -> NetworkIpAvailabilityRecord:
        with self.deps.db.reader() as session:
            net = session.get(models.Network, network_id)
            if net is None:
                raise not_found("network", network_id)
            return self._records(session, [net])[0]
