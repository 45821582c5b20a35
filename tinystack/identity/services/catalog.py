"""The service catalog: regions, services and endpoints."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import select
from sqlalchemy.orm import Session

from tinystack.common.cloud import CatalogEntry
from tinystack.common.exceptions import BadRequest, Conflict, NotFound, ValidationError
from tinystack.common.timeutils import new_hex_id
from tinystack.identity import models
from tinystack.identity.services import _rows, convert, endpoint_filters
from tinystack.identity.services.deps import Deps
from tinystack.identity.services.records import (
    CatalogEndpoint,
    CatalogService,
    Endpoint,
    EndpointFields,
    Region,
    RegionFields,
    Service,
    ServiceFields,
)

INTERFACES = ("public", "internal", "admin")
_CATALOG_KEY = ("catalog",)


def token_catalog(deps: Deps, project_id: str | None = None) -> tuple[CatalogService, ...]:
    """The catalog as tokens show it: enabled services with their enabled endpoints; for a
    project with endpoint filters (OS-EP-FILTER), only its endpoints and their services."""
    full = _substituted(_full_catalog(deps), project_id)
    if project_id is None:
        return full
    allowed = endpoint_filters.project_endpoint_ids(deps, project_id)
    if not allowed:
        return full if deps.opts.return_all_endpoints_if_no_filter else ()
    filtered = (
        replace(s, endpoints=tuple(e for e in s.endpoints if e.id in allowed)) for s in full
    )
    return tuple(s for s in filtered if s.endpoints)


def _substituted(
    services: tuple[CatalogService, ...], project_id: str | None
) -> tuple[CatalogService, ...]:
    """Endpoint URLs with ``%(project_id)s`` / ``%(tenant_id)s`` filled in, as Keystone
    formats them; without a project the endpoints that need one are left out."""
    out = []
    for service in services:
        endpoints = []
        for ep in service.endpoints:
            if "%(" in ep.url:
                if project_id is None:
                    continue
                url = ep.url.replace("%(project_id)s", project_id)
                ep = replace(ep, url=url.replace("%(tenant_id)s", project_id))
            endpoints.append(ep)
        out.append(replace(service, endpoints=tuple(endpoints)))
    return tuple(out)


def _full_catalog(deps: Deps) -> tuple[CatalogService, ...]:
    cached = deps.catalog_cache.get(_CATALOG_KEY)
    if cached is not None:
        return cached
    with deps.db.reader() as session:
        services = session.scalars(select(models.Service).where(models.Service.enabled)).all()
        endpoints = session.scalars(select(models.Endpoint).where(models.Endpoint.enabled)).all()
        by_service: dict[str, list[CatalogEndpoint]] = {}
        for ep in endpoints:
            by_service.setdefault(ep.service_id, []).append(
                CatalogEndpoint(
                    id=ep.id, interface=ep.interface, region_id=ep.region_id, url=ep.url
                )
            )
        result = tuple(
            CatalogService(
                id=s.id, type=s.type, name=s.name or "", endpoints=tuple(by_service.get(s.id, ()))
            )
            for s in services
        )
    deps.catalog_cache.put(_CATALOG_KEY, result)
    return result


def _invalidate(deps: Deps) -> None:
    deps.clear_caches()


# -- regions ---------------------------------------------------------------------------------


def create_region(deps: Deps, data: RegionFields) -> Region:
    def tx(session: Session) -> Region:
        region_id = data.get("id") or new_hex_id()
        if session.get(models.Region, region_id) is not None:
            raise Conflict(f"Duplicate ID, {region_id}.")
        parent = data.get("parent_region_id")
        if parent is not None:
            if session.get(models.Region, parent) is None:
                raise NotFound(f"Could not find region: {parent}.")
        region = models.Region(
            id=region_id,
            description=data.get("description") or "",
            parent_region_id=parent,
            extra=data.get("extra") or {},
        )
        session.add(region)
        return convert.region(region)

    return deps.db.write(tx)


def list_regions(deps: Deps, parent_region_id: str | None) -> list[Region]:
    with deps.db.reader() as session:
        query = select(models.Region).order_by(models.Region.id)
        if parent_region_id is not None:
            query = query.where(models.Region.parent_region_id == parent_region_id)
        return [convert.region(r) for r in session.scalars(query)]


def show_region(deps: Deps, region_id: str) -> Region:
    with deps.db.reader() as session:
        return convert.region(_rows.region(session, region_id))


def update_region(deps: Deps, region_id: str, data: RegionFields) -> Region:
    if "id" in data:
        raise ValidationError("Cannot change ID")

    def tx(session: Session) -> Region:
        region = _rows.region(session, region_id)
        if "parent_region_id" in data:
            parent = data["parent_region_id"]
            if parent is not None:
                if parent == region_id or session.get(models.Region, parent) is None:
                    raise BadRequest(f"Invalid parent region: {parent}.")
                cursor: str | None = parent
                while cursor is not None:
                    if cursor == region_id:
                        raise BadRequest("The update would create a region loop.")
                    cursor = _rows.region(session, cursor).parent_region_id
            region.parent_region_id = parent
        if "description" in data:
            region.description = data["description"] or ""
        if data.get("extra"):
            region.extra = {**region.extra, **data["extra"]}
        return convert.region(region)

    region = deps.db.write(tx)
    _invalidate(deps)
    return region


def delete_region(deps: Deps, region_id: str) -> None:
    """Delete a region and its child regions, as upstream does; refuse while endpoints use them."""

    def tx(session: Session) -> None:
        _rows.region(session, region_id)
        tree = [region_id]
        frontier = [region_id]
        while frontier:
            children = list(
                session.scalars(
                    select(models.Region.id).where(models.Region.parent_region_id.in_(frontier))
                )
            )
            frontier = [c for c in children if c not in tree]
            tree += frontier
        used = session.scalars(
            select(models.Endpoint.region_id).where(models.Endpoint.region_id.in_(tree))
        ).first()
        if used is not None:
            raise Conflict(f"Region {used} is used by endpoints and cannot be deleted.")
        for rid in reversed(tree):
            session.delete(_rows.region(session, rid))
            session.flush()

    deps.db.write(tx)
    _invalidate(deps)


# -- services --------------------------------------------------------------------------------


def create_service(deps: Deps, data: ServiceFields) -> Service:
    def tx(session: Session) -> Service:
        service = models.Service(
            id=new_hex_id(),
            type=data["type"],
            name=data.get("name"),
            description=data.get("description"),
            enabled=data.get("enabled", True),
            extra=data.get("extra") or {},
        )
        session.add(service)
        return convert.service(service)

    service = deps.db.write(tx)
    _invalidate(deps)
    return service


def list_services(deps: Deps, type_: str | None, name: str | None) -> list[Service]:
    with deps.db.reader() as session:
        query = select(models.Service).order_by(models.Service.type)
        if type_ is not None:
            query = query.where(models.Service.type == type_)
        if name is not None:
            query = query.where(models.Service.name == name)
        return [convert.service(s) for s in session.scalars(query)]


def show_service(deps: Deps, service_id: str) -> Service:
    with deps.db.reader() as session:
        return convert.service(_rows.service(session, service_id))


def update_service(deps: Deps, service_id: str, data: ServiceFields) -> Service:
    if "id" in data:
        raise ValidationError("Cannot change ID")

    def tx(session: Session) -> Service:
        service = _rows.service(session, service_id)
        for key in ("type", "name", "description", "enabled"):
            if key in data:
                setattr(service, key, data[key])
        if data.get("extra"):
            service.extra = {**service.extra, **data["extra"]}
        return convert.service(service)

    service = deps.db.write(tx)
    _invalidate(deps)
    return service


def delete_service(deps: Deps, service_id: str) -> None:
    def tx(session: Session) -> None:
        service = _rows.service(session, service_id)
        for ep in session.scalars(
            select(models.Endpoint).where(models.Endpoint.service_id == service_id)
        ):
            session.delete(ep)
        session.delete(service)

    deps.db.write(tx)
    _invalidate(deps)


# -- endpoints -------------------------------------------------------------------------------


def _check_endpoint(session: Session, data: EndpointFields) -> None:
    if "interface" in data and data["interface"] not in INTERFACES:
        raise ValidationError(f"Invalid interface {data['interface']!r}.")
    if "service_id" in data:
        if session.get(models.Service, data["service_id"]) is None:
            raise BadRequest(f"Could not find service: {data['service_id']}.")
    region = data.get("region_id")
    if region is not None and session.get(models.Region, region) is None:
        if not data.get("create_region"):
            raise BadRequest(f"Could not find region: {region}.")
        session.add(models.Region(id=region, description="", extra={}))
        session.flush()


def create_endpoint(deps: Deps, data: EndpointFields) -> Endpoint:
    def tx(session: Session) -> Endpoint:
        _check_endpoint(session, data)
        endpoint = models.Endpoint(
            id=new_hex_id(),
            service_id=data["service_id"],
            interface=data["interface"],
            url=data["url"],
            region_id=data.get("region_id"),
            enabled=data.get("enabled", True),
            extra=data.get("extra") or {},
        )
        session.add(endpoint)
        return convert.endpoint(endpoint)

    endpoint = deps.db.write(tx)
    _invalidate(deps)
    return endpoint


def list_endpoints(
    deps: Deps, service_id: str | None, interface: str | None, region_id: str | None
) -> list[Endpoint]:
    with deps.db.reader() as session:
        query = select(models.Endpoint)
        if service_id is not None:
            query = query.where(models.Endpoint.service_id == service_id)
        if interface is not None:
            query = query.where(models.Endpoint.interface == interface)
        if region_id is not None:
            query = query.where(models.Endpoint.region_id == region_id)
        return [convert.endpoint(e) for e in session.scalars(query)]


def show_endpoint(deps: Deps, endpoint_id: str) -> Endpoint:
    with deps.db.reader() as session:
        return convert.endpoint(_rows.endpoint(session, endpoint_id))


def update_endpoint(deps: Deps, endpoint_id: str, data: EndpointFields) -> Endpoint:
    if "id" in data:
        raise ValidationError("Cannot change ID")

    def tx(session: Session) -> Endpoint:
        endpoint = _rows.endpoint(session, endpoint_id)
        _check_endpoint(session, data)
        for key in ("service_id", "interface", "url", "region_id", "enabled"):
            if key in data:
                setattr(endpoint, key, data[key])
        if data.get("extra"):
            endpoint.extra = {**endpoint.extra, **data["extra"]}
        return convert.endpoint(endpoint)

    endpoint = deps.db.write(tx)
    _invalidate(deps)
    return endpoint


def delete_endpoint(deps: Deps, endpoint_id: str) -> None:
    def tx(session: Session) -> None:
        session.delete(_rows.endpoint(session, endpoint_id))

    deps.db.write(tx)
    _invalidate(deps)


# -- bootstrap -------------------------------------------------------------------------------


def reconcile(deps: Deps, region: str, entries: list[CatalogEntry]) -> None:
    """Make the catalog list each running service once, at its current URL (idempotent)."""

    def tx(session: Session) -> None:
        if session.get(models.Region, region) is None:
            session.add(models.Region(id=region, description="", extra={}))
            session.flush()
        for entry in entries:
            service = session.scalars(
                select(models.Service).where(models.Service.type == entry.service_type)
            ).first()
            if service is None:
                service = models.Service(
                    id=new_hex_id(),
                    type=entry.service_type,
                    name=entry.name,
                    enabled=True,
                    description=entry.description or None,
                    extra={},
                )
                session.add(service)
                session.flush()
            existing = {
                ep.interface: ep
                for ep in session.scalars(
                    select(models.Endpoint).where(
                        models.Endpoint.service_id == service.id,
                        models.Endpoint.region_id == region,
                    )
                )
            }
            for interface in INTERFACES:
                ep = existing.get(interface)
                if ep is None:
                    session.add(
                        models.Endpoint(
                            id=new_hex_id(),
                            service_id=service.id,
                            interface=interface,
                            url=entry.url,
                            region_id=region,
                            enabled=True,
                            extra={},
                        )
                    )
                elif ep.url != entry.url:
                    ep.url = entry.url

    deps.db.write(tx)
    _invalidate(deps)
