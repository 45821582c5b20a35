"""Endpoint filters (``OS-EP-FILTER``): endpoint groups and the endpoints a project sees.

An endpoint group selects endpoints by service, region and interface. A project associated
with endpoints (directly or through groups) gets a catalog of just those, in its tokens
and in ``/v3/auth/catalog``; a project without associations sees every endpoint (unless
``[endpoint_filter] return_all_endpoints_if_no_filter`` is false).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from tinystack.common.exceptions import Conflict, NotFound, ValidationError
from tinystack.common.timeutils import new_hex_id
from tinystack.identity import models
from tinystack.identity.services import _rows, convert
from tinystack.identity.services.deps import Deps
from tinystack.identity.services.records import Endpoint, Project

FILTER_KEYS = ("service_id", "region_id", "interface")


@dataclass(frozen=True, slots=True)
class EndpointGroup:
    id: str
    name: str
    description: str | None
    filters: dict[str, str]


@dataclass(frozen=True, slots=True)
class EndpointGroupFields:
    name: str | None = None
    description: str | None = None
    filters: dict[str, str] | None = None
    #: which of the attributes the request set (an update changes only those)
    given: frozenset[str] = frozenset()


def _group(row: models.EndpointGroup) -> EndpointGroup:
    return EndpointGroup(
        id=row.id,
        name=row.name,
        description=row.description,
        filters={str(k): str(v) for k, v in row.filters.items()},
    )


def _group_row(session: Session, group_id: str) -> models.EndpointGroup:
    row = session.get(models.EndpointGroup, group_id)
    if row is None:
        raise NotFound(f"Could not find endpoint group: {group_id}.")
    return row


def _check_filters(filters: dict[str, str] | None) -> dict[str, str]:
    if not filters:
        raise ValidationError("filters field is required and cannot be empty")
    if set(filters) - set(FILTER_KEYS):
        raise ValidationError(
            "Invalid input for field 'endpoint_group': expecting service_id or region_id "
            "or interface."
        )
    return filters


def _invalidate(deps: Deps) -> None:
    deps.clear_caches()


# -- endpoint groups -------------------------------------------------------------------------


def create_group(deps: Deps, data: EndpointGroupFields) -> EndpointGroup:
    filters = _check_filters(data.filters)
    if not data.name:
        raise ValidationError("'name' is a required property")

    def tx(session: Session) -> EndpointGroup:
        row = models.EndpointGroup(
            id=new_hex_id(), name=data.name, description=data.description, filters=filters
        )
        session.add(row)
        return _group(row)

    return deps.db.write(tx)


def list_groups(deps: Deps, name: str | None) -> list[EndpointGroup]:
    with deps.db.reader() as session:
        query = select(models.EndpointGroup).order_by(models.EndpointGroup.name)
        if name is not None:
            query = query.where(models.EndpointGroup.name == name)
        return [_group(r) for r in session.scalars(query)]


def show_group(deps: Deps, group_id: str) -> EndpointGroup:
    with deps.db.reader() as session:
        return _group(_group_row(session, group_id))


def update_group(deps: Deps, group_id: str, data: EndpointGroupFields) -> EndpointGroup:
    if "filters" in data.given:
        _check_filters(data.filters)
    if "name" in data.given and not data.name:
        raise ValidationError("name cannot be empty")

    def tx(session: Session) -> EndpointGroup:
        row = _group_row(session, group_id)
        if "name" in data.given and data.name:
            row.name = data.name
        if "description" in data.given:
            row.description = data.description
        if "filters" in data.given and data.filters:
            row.filters = dict(data.filters)
        return _group(row)

    group = deps.db.write(tx)
    _invalidate(deps)
    return group


def delete_group(deps: Deps, group_id: str) -> None:
    def tx(session: Session) -> None:
        session.delete(_group_row(session, group_id))

    deps.db.write(tx)
    _invalidate(deps)


def _matching(session: Session, filters: dict[str, str]) -> list[models.Endpoint]:
    query = select(models.Endpoint)
    for key, value in filters.items():
        if key in FILTER_KEYS:
            query = query.where(getattr(models.Endpoint, key) == value)
    return list(session.scalars(query.order_by(models.Endpoint.id)))


def group_endpoints(deps: Deps, group_id: str) -> list[Endpoint]:
    with deps.db.reader() as session:
        row = _group_row(session, group_id)
        return [convert.endpoint(e) for e in _matching(session, row.filters)]


def group_projects(deps: Deps, group_id: str) -> list[Project]:
    with deps.db.reader() as session:
        _group_row(session, group_id)
        query = select(models.ProjectEndpointGroup.project_id).where(
            models.ProjectEndpointGroup.endpoint_group_id == group_id
        )
        rows = [session.get(models.Project, p) for p in session.scalars(query)]
        return [convert.project(p) for p in rows if p is not None]


# -- projects and endpoint groups ------------------------------------------------------------


def add_group_to_project(deps: Deps, group_id: str, project_id: str) -> None:
    def tx(session: Session) -> None:
        _rows.project(session, project_id)
        _group_row(session, group_id)
        if session.get(models.ProjectEndpointGroup, (group_id, project_id)) is not None:
            raise Conflict("Conflict occurred attempting to store project_endpoint_group.")
        session.add(models.ProjectEndpointGroup(endpoint_group_id=group_id, project_id=project_id))

    deps.db.write(tx)
    _invalidate(deps)


def check_group_in_project(deps: Deps, group_id: str, project_id: str) -> None:
    with deps.db.reader() as session:
        _rows.project(session, project_id)
        _group_row(session, group_id)
        if session.get(models.ProjectEndpointGroup, (group_id, project_id)) is None:
            raise NotFound(
                f"Could not find endpoint group {group_id} associated with project {project_id}."
            )


def remove_group_from_project(deps: Deps, group_id: str, project_id: str) -> None:
    def tx(session: Session) -> None:
        _rows.project(session, project_id)
        _group_row(session, group_id)
        row = session.get(models.ProjectEndpointGroup, (group_id, project_id))
        if row is None:
            raise NotFound(
                f"Could not find endpoint group {group_id} associated with project {project_id}."
            )
        session.delete(row)

    deps.db.write(tx)
    _invalidate(deps)


def project_groups(deps: Deps, project_id: str) -> list[EndpointGroup]:
    with deps.db.reader() as session:
        _rows.project(session, project_id)
        query = (
            select(models.EndpointGroup)
            .join(
                models.ProjectEndpointGroup,
                models.ProjectEndpointGroup.endpoint_group_id == models.EndpointGroup.id,
            )
            .where(models.ProjectEndpointGroup.project_id == project_id)
            .order_by(models.EndpointGroup.name)
        )
        return [_group(r) for r in session.scalars(query)]


# -- projects and endpoints ------------------------------------------------------------------


def add_endpoint_to_project(deps: Deps, endpoint_id: str, project_id: str) -> None:
    def tx(session: Session) -> None:
        _rows.endpoint(session, endpoint_id)
        _rows.project(session, project_id)
        if session.get(models.ProjectEndpoint, (endpoint_id, project_id)) is not None:
            raise Conflict("Conflict occurred attempting to store project_endpoint.")
        session.add(models.ProjectEndpoint(endpoint_id=endpoint_id, project_id=project_id))

    deps.db.write(tx)
    _invalidate(deps)


def _association(session: Session, endpoint_id: str, project_id: str) -> models.ProjectEndpoint:
    row = session.get(models.ProjectEndpoint, (endpoint_id, project_id))
    if row is None:
        raise NotFound(f"Endpoint {endpoint_id} not found in project {project_id}")
    return row


def check_endpoint_in_project(deps: Deps, endpoint_id: str, project_id: str) -> None:
    with deps.db.reader() as session:
        _rows.endpoint(session, endpoint_id)
        _rows.project(session, project_id)
        _association(session, endpoint_id, project_id)


def remove_endpoint_from_project(deps: Deps, endpoint_id: str, project_id: str) -> None:
    def tx(session: Session) -> None:
        session.delete(_association(session, endpoint_id, project_id))

    deps.db.write(tx)
    _invalidate(deps)


def endpoint_projects(deps: Deps, endpoint_id: str) -> list[Project]:
    with deps.db.reader() as session:
        _rows.endpoint(session, endpoint_id)
        query = select(models.ProjectEndpoint.project_id).where(
            models.ProjectEndpoint.endpoint_id == endpoint_id
        )
        rows = [session.get(models.Project, p) for p in session.scalars(query)]
        return [convert.project(p) for p in rows if p is not None]


def _project_endpoints(session: Session, project_id: str) -> list[models.Endpoint]:
    """A project's endpoints: those associated directly, then those of its groups."""
    found: dict[str, models.Endpoint] = {}
    direct = select(models.ProjectEndpoint.endpoint_id).where(
        models.ProjectEndpoint.project_id == project_id
    )
    for endpoint_id in session.scalars(direct):
        endpoint = session.get(models.Endpoint, endpoint_id)
        if endpoint is not None:
            found[endpoint.id] = endpoint
    groups = (
        select(models.EndpointGroup)
        .join(
            models.ProjectEndpointGroup,
            models.ProjectEndpointGroup.endpoint_group_id == models.EndpointGroup.id,
        )
        .where(models.ProjectEndpointGroup.project_id == project_id)
    )
    for group in session.scalars(groups):
        for endpoint in _matching(session, group.filters):
            found.setdefault(endpoint.id, endpoint)
    return list(found.values())


def project_endpoints(deps: Deps, project_id: str) -> list[Endpoint]:
    with deps.db.reader() as session:
        _rows.project(session, project_id)
        return [convert.endpoint(e) for e in _project_endpoints(session, project_id)]


def project_endpoint_ids(deps: Deps, project_id: str) -> frozenset[str]:
    """The enabled endpoints a filtered project sees (empty: the project has no filter)."""
    cached = deps.endpoint_filters.get(project_id)
    if cached is not None:
        return cached
    with deps.db.reader() as session:
        found = frozenset(e.id for e in _project_endpoints(session, project_id) if e.enabled)
    deps.endpoint_filters.put(project_id, found)
    return found


def purge_for_project(session: Session, project_id: str) -> None:
    """Drop a deleted project's endpoint associations."""
    session.execute(
        delete(models.ProjectEndpoint).where(models.ProjectEndpoint.project_id == project_id)
    )
    session.execute(
        delete(models.ProjectEndpointGroup).where(
            models.ProjectEndpointGroup.project_id == project_id
        )
    )
