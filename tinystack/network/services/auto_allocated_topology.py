"""Auto-allocated topologies ("get me a network"): a project's network, subnets from the
default subnet pools and a router with its gateway on the default external network,
made on first request and returned afterwards.

The pieces are made through the resource services (so quotas, IPAM and the agents'
notifications are the usual ones), owned by the project; the ``auto_allocated_topologies``
row, keyed by project, is written last, so of two racing requests one wins and the other
removes what it made and answers the winner's network. Missing defaults are a deployment
error (409 ``AutoAllocationFailure``), as upstream; a dry run only checks them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tinystack.common.exceptions import TinystackError
from tinystack.network import models
from tinystack.network.exception import conflict, not_found
from tinystack.network.services import listing
from tinystack.network.services.authz import allow_all, internal_context
from tinystack.network.services.networks import NetworkSpec
from tinystack.network.services.routers import GatewayRequest, RouterSpec
from tinystack.network.services.subnets import SubnetSpec

if TYPE_CHECKING:
    from tinystack.network.services.deps import Deps

NAME = "auto_allocated_network"
ROUTER_NAME = "auto_allocated_router"


@dataclass(frozen=True, slots=True)
class Defaults:
    """What a topology is made from: the default external network and the IP versions
    that have a default subnet pool."""

    external_network_id: str
    ip_versions: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Topology:
    project_id: str
    network_id: str
    router_id: str | None


def _failure(reason: str) -> Exception:
    return conflict("AutoAllocationFailure", f"Deployment error: {reason}.")


class AutoAllocatedTopologies:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    def defaults(self) -> Defaults:
        """The defaults a topology needs, or AutoAllocationFailure (409)."""
        with self.deps.db.reader() as session:
            external = session.scalars(
                select(models.Network.id).where(
                    models.Network.is_default.is_(True), models.Network.external.is_(True)
                )
            ).first()
            versions = sorted(
                set(
                    session.scalars(
                        select(models.SubnetPool.ip_version).where(
                            models.SubnetPool.is_default.is_(True)
                        )
                    )
                )
            )
        if external is None:
            raise _failure("No default router:external network")
        if not versions:
            raise _failure("No default subnetpools defined")
        return Defaults(external, tuple(versions))

    def find(self, project_id: str) -> Topology | None:
        with self.deps.db.reader() as session:
            row = session.get(models.AutoAllocatedTopology, project_id)
            if row is None:
                return None
            return Topology(row.project_id, row.network_id, row.router_id)

    def get(self, project_id: str) -> Topology:
        """The project's topology, made now if it has none."""
        found = self.find(project_id)
        if found is not None:
            return found
        made = self._build(project_id, self.defaults())

        def tx(session: Session) -> None:
            session.add(
                models.AutoAllocatedTopology(
                    project_id=project_id, network_id=made.network_id, router_id=made.router_id
                )
            )

        try:
            self.deps.db.write(tx)
        except IntegrityError:  # another request made one first: keep that one
            self._remove(made)
            winner = self.find(project_id)
            assert winner is not None
            return winner
        return made

    def delete(self, project_id: str) -> None:
        found = self.find(project_id)
        if found is None:
            raise not_found("auto_allocated_topology", project_id)
        self._remove(found)

        def tx(session: Session) -> None:
            row = session.get(models.AutoAllocatedTopology, project_id)
            if row is not None:
                session.delete(row)

        self.deps.db.write(tx)

    def _build(self, project_id: str, defaults: Defaults) -> Topology:
        ctx = internal_context(project_id)
        deps = self.deps
        net = deps.networks.create(ctx, NetworkSpec(project_id=project_id, name=NAME))
        router_id = None
        try:
            subnets = [
                deps.subnets.create(
                    ctx,
                    SubnetSpec(
                        name=f"auto_allocated_subnet_v{version}",
                        network_id=net.id,
                        project_id=project_id,
                        ip_version=version,
                        use_default_subnet_pool=True,
                        ipv6_ra_mode="slaac" if version == 6 else None,
                        ipv6_address_mode="slaac" if version == 6 else None,
                        given=frozenset({"name"}),
                    ),
                    allow_all,
                )
                for version in defaults.ip_versions
            ]
            gateway = GatewayRequest(network_id=defaults.external_network_id)
            router = deps.routers.create(
                ctx,
                RouterSpec(
                    project_id=project_id,
                    name=ROUTER_NAME,
                    gateway=gateway,
                    given=frozenset({"name", "external_gateway_info"}),
                ),
            )
            router_id = router.id
            for subnet in subnets:
                deps.router_interfaces.add(ctx, router.id, subnet.id, None, allow_all)
        except Exception:
            self._remove(Topology(project_id, net.id, router_id))
            raise
        return Topology(project_id, net.id, router_id)

    def _remove(self, topology: Topology) -> None:
        """Take a topology apart: interfaces, router, network (with its subnets)."""
        ctx = internal_context(topology.project_id)
        deps = self.deps
        if topology.router_id is not None:
            query = listing.ListQuery(filters={"network_id": [topology.network_id]})
            for subnet in deps.subnets.list_items(ctx, query):
                try:
                    deps.router_interfaces.remove(
                        ctx, topology.router_id, subnet.id, None, allow_all
                    )
                except TinystackError:  # not attached (a build that failed half-way)
                    continue
            deps.routers.delete(ctx, topology.router_id, allow_all)
        deps.networks.delete(ctx, topology.network_id, allow_all)
