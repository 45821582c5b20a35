"""The networks of a fresh cloud: ``public`` (external, flat), the demo's ``private`` and a router.

Project ids come from identity over its REST API (as the network service
user), so this runs once the APIs serve. It is idempotent: what exists (by
name) is kept, and once the public network and the router exist identity is
not asked at all.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import select

from tinystack.common.clients.session import Session
from tinystack.common.cloud import CatalogEntry, ServiceCredentials
from tinystack.network import models
from tinystack.network.services import listing
from tinystack.network.services.authz import allow_all, internal_context
from tinystack.network.services.deps import Deps
from tinystack.network.services.networks import NetworkSpec, RequestedSegment
from tinystack.network.services.records import NetworkRecord
from tinystack.network.services.routers import GatewayRequest, RouterSpec
from tinystack.network.services.subnets import SubnetSpec

T = TypeVar("T")
LOG = logging.getLogger(__name__)
ProjectLookup = Callable[[str], str | None]


def identity_lookup(auth_url: str, creds: ServiceCredentials) -> ProjectLookup:
    """Resolve project names in the default domain through identity's API, with the
    service token of one session kept by the returned function."""
    session = Session(auth_url, creds, [CatalogEntry("identity", "keystone", auth_url)])

    def lookup(name: str) -> str | None:
        resp = session.request(
            "identity", "GET", "/projects", params={"name": name, "domain_id": "default"}
        )
        projects = resp.json().get("projects", [])
        return str(projects[0]["id"]) if projects else None

    return lookup


def _done(services: Deps) -> bool:
    opts = services.opts
    with services.db.reader() as session:
        public = session.scalars(
            select(models.Network.id).where(
                models.Network.name == opts.public_network, models.Network.external.is_(True)
            )
        ).first()
        router = session.scalars(
            select(models.Router.id).where(models.Router.name == opts.router_name)
        ).first()
    return public is not None and router is not None


def _find(items: list[T]) -> T | None:
    return items[0] if items else None


def bootstrap(services: Deps, lookup: ProjectLookup) -> bool:
    """Create what is missing; False when it was all there already."""
    opts = services.opts
    if not opts.bootstrap_networks or _done(services):
        return False
    admin_project = lookup(opts.admin_project)
    demo_project = lookup(opts.demo_project)
    if admin_project is None:
        LOG.warning("project %s not found: no public network created", opts.admin_project)
        return False
    public = _public_network(services, admin_project)
    if demo_project is None:
        LOG.warning("project %s not found: no private network created", opts.demo_project)
        return True
    _private_topology(services, demo_project, public)
    return True


def _public_network(services: Deps, project_id: str) -> NetworkRecord:
    opts = services.opts
    ctx = internal_context(project_id)
    query = listing.ListQuery(filters={"name": [opts.public_network], "router:external": ["true"]})
    net = _find(services.networks.list_items(ctx, query))
    if net is None:
        net = services.networks.create(
            ctx,
            NetworkSpec(
                name=opts.public_network,
                project_id=project_id,
                external=True,
                provider=RequestedSegment("flat", opts.public_physical_network),
            ),
        )
    if not net.subnets:
        start, _, end = opts.floating_range.partition("-")
        services.subnets.create(
            ctx,
            SubnetSpec(
                name=f"{opts.public_network}-subnet",
                network_id=net.id,
                project_id=project_id,
                ip_version=4,
                cidr=opts.public_cidr,
                gateway_ip=opts.public_gateway,
                allocation_pools=[{"start": start.strip(), "end": end.strip()}],
                enable_dhcp=False,
                given=frozenset({"gateway_ip"}),
            ),
            allow_all,
        )
    return net


def _private_topology(services: Deps, project_id: str, public: NetworkRecord) -> None:
    opts = services.opts
    ctx = internal_context(project_id)
    query = listing.ListQuery(filters={"name": [opts.private_network], "project_id": [project_id]})
    net = _find(services.networks.list_items(ctx, query))
    if net is None:
        net = services.networks.create(
            ctx, NetworkSpec(name=opts.private_network, project_id=project_id)
        )
    subnet_id = net.subnets[0] if net.subnets else None
    if subnet_id is None:
        subnet = services.subnets.create(
            ctx,
            SubnetSpec(
                name=f"{opts.private_network}-subnet",
                network_id=net.id,
                project_id=project_id,
                ip_version=4,
                cidr=opts.private_cidr,
            ),
            allow_all,
        )
        subnet_id = subnet.id
    query = listing.ListQuery(filters={"name": [opts.router_name], "project_id": [project_id]})
    router = _find(services.routers.list_items(ctx, query))
    if router is None:
        router = services.routers.create(
            ctx,
            RouterSpec(
                name=opts.router_name,
                project_id=project_id,
                gateway=GatewayRequest(network_id=public.id),
            ),
        )
        services.router_interfaces.add(ctx, router.id, subnet_id, None, allow_all)
