"""Resource providers and their trees (parent, root)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tinystack.common.exceptions import BadRequest
from tinystack.common.timeutils import utcnow
from tinystack.placement import models
from tinystack.placement.exception import (
    CannotDeleteParent,
    ConcurrentUpdate,
    DuplicateName,
    ProviderInUse,
    ProviderNotFound,
    ResourceClassNotFound,
)
from tinystack.placement.services import filters
from tinystack.placement.services.deps import Deps
from tinystack.placement.services.names import trait_ids
from tinystack.placement.services.rows import bump_generation, insert_id

_RP = models.RP_TBL
_ROOT = _RP.alias("root_rp")
_PARENT = _RP.alias("parent_rp")
UNSET = object()


@dataclass(frozen=True, slots=True)
class Provider:
    id: int
    uuid: str
    name: str
    generation: int
    root_provider_uuid: str
    parent_provider_uuid: str | None
    root_id: int
    parent_id: int | None
    created_at: datetime | None = None
    updated_at: datetime | None = None

    def bumped(self, session: Session) -> Provider:
        """Increment the generation (compare-and-swap); the caller's txn retries on a race."""
        generation = bump_generation(session, _RP, self.id, self.generation)
        return dataclasses.replace(self, generation=generation, updated_at=utcnow())


@dataclass
class ProviderFilter:
    name: str | None = None
    uuid: str | None = None
    in_tree: str | None = None
    member_of: list[set[str]] = field(default_factory=list)
    forbidden_aggs: set[str] = field(default_factory=set)
    required: list[set[str]] = field(default_factory=list)
    forbidden_traits: set[str] = field(default_factory=set)
    resources: dict[str, int] = field(default_factory=dict)


def _select() -> sa.Select[Any]:
    return sa.select(
        _RP.c.id,
        _RP.c.uuid,
        _RP.c.name,
        _RP.c.generation,
        _ROOT.c.uuid.label("root_provider_uuid"),
        _PARENT.c.uuid.label("parent_provider_uuid"),
        _RP.c.root_provider_id.label("root_id"),
        _RP.c.parent_provider_id.label("parent_id"),
        _RP.c.created_at,
        _RP.c.updated_at,
    ).select_from(
        _RP.join(_ROOT, _RP.c.root_provider_id == _ROOT.c.id).outerjoin(
            _PARENT, _RP.c.parent_provider_id == _PARENT.c.id
        )
    )


def _provider(row: sa.Row[Any]) -> Provider:
    return Provider(**row._mapping)


def get_in_session(session: Session, uuid: str) -> Provider:
    row = session.execute(_select().where(_RP.c.uuid == uuid)).first()
    if row is None:
        raise ProviderNotFound(f"No resource provider with uuid {uuid} found")
    return _provider(row)


def get(deps: Deps, uuid: str) -> Provider:
    with deps.read() as session:
        return get_in_session(session, uuid)


_BY_UUIDS = _select().where(_RP.c.uuid.in_(sa.bindparam("uuids", expanding=True)))


def get_many(session: Session, uuids: Sequence[str]) -> dict[str, Provider]:
    wanted = sorted(set(uuids))
    if not wanted:
        return {}
    rows = session.execute(_BY_UUIDS, {"uuids": wanted})
    return {row.uuid: _provider(row) for row in rows}


def lock_provider(
    session: Session, uuid: str, generation: int | None, message: str | None = None
) -> Provider:
    """Load a provider for a write, checking the caller's view of its generation."""
    provider = get_in_session(session, uuid)
    if generation is not None and generation != provider.generation:
        raise ConcurrentUpdate(
            message
            or "Resource provider's generation already changed. Please update the generation "
            "and try again."
        )
    return provider


def list_all(deps: Deps, flt: ProviderFilter) -> list[Provider]:
    with deps.read() as session:
        clauses = _filter_clauses(deps, session, flt)
        if clauses is None:
            return []
        rows = session.execute(_select().where(*clauses).order_by(_RP.c.id))
        return [_provider(r) for r in rows]


def _filter_clauses(
    deps: Deps, session: Session, flt: ProviderFilter
) -> list[filters.Clause] | None:
    """The WHERE clauses for a provider listing; None when nothing can match."""
    clauses: list[filters.Clause] = []
    if flt.name is not None:
        clauses.append(_RP.c.name == flt.name)
    if flt.uuid is not None:
        clauses.append(_RP.c.uuid == flt.uuid)
    if flt.in_tree is not None:
        root_id = session.scalar(sa.select(_RP.c.root_provider_id).where(_RP.c.uuid == flt.in_tree))
        if root_id is None:
            return None
        clauses.append(_RP.c.root_provider_id == root_id)
    if flt.required or flt.forbidden_traits:
        names = {t for s in flt.required for t in s} | flt.forbidden_traits
        ids = trait_ids(deps, session, names, 'Invalid trait(s) in "required" parameter: ')
        clauses += filters.has_traits(_RP.c.id, [{ids[t] for t in s} for s in flt.required])
        if flt.forbidden_traits:
            clauses.append(filters.lacks_traits(_RP.c.id, {ids[t] for t in flt.forbidden_traits}))
    if flt.member_of:
        member_of = filters.resolve_member_of(session, flt.member_of)
        if member_of is None:
            return None
        clauses += [filters.in_any_aggregate(_RP.c.id, any_of) for any_of in member_of]
    if flt.forbidden_aggs:
        bad = filters.aggregate_ids(session, flt.forbidden_aggs)
        if bad:
            clauses.append(~filters.in_any_aggregate(_RP.c.id, bad.values()))
    for rc_name, amount in flt.resources.items():
        rc_id = deps.resource_classes.id_of(session, rc_name)
        if rc_id is None:
            raise ResourceClassNotFound(rc_name, "Invalid resource class in resources parameter: ")
        clauses.append(filters.has_capacity(_RP.c.id, rc_id, amount))
    return clauses


def _check_unique(session: Session, name: str, uuid: str | None, own_id: int | None) -> None:
    conds = [_RP.c.name == name] + ([_RP.c.uuid == uuid] if uuid else [])
    rows = session.execute(sa.select(_RP.c.id, _RP.c.name, _RP.c.uuid).where(sa.or_(*conds)))
    dupes = []
    for row in rows:
        if row.id == own_id:
            continue
        if uuid and row.uuid == uuid:
            dupes.append(f"uuid: {uuid}")
        if row.name == name:
            dupes.append(f"name: {name}")
    if dupes:
        raise DuplicateName(f"Conflicting resource provider {', '.join(dupes)} already exists.")


def create(deps: Deps, name: str, uuid: str, parent_uuid: str | None = None) -> Provider:
    def _create(session: Session) -> Provider:
        _check_unique(session, name, uuid, None)
        parent: Provider | None = None
        if parent_uuid is not None:
            if parent_uuid == uuid:
                raise BadRequest(
                    f'Unable to create resource provider "{name}", {uuid}: parent provider '
                    "UUID cannot be same as UUID. Please set parent provider UUID to None if "
                    "there is no parent."
                )
            try:
                parent = get_in_session(session, parent_uuid)
            except ProviderNotFound:
                raise BadRequest(
                    f'Unable to create resource provider "{name}", {uuid}: parent provider '
                    "UUID does not exist."
                ) from None
        now = utcnow()
        values = {"uuid": uuid, "name": name, "generation": 0, "created_at": now}
        if parent is not None:
            values |= {"parent_provider_id": parent.id, "root_provider_id": parent.root_id}
        try:
            new_id = insert_id(session, _RP.insert().values(**values))
        except IntegrityError:
            raise DuplicateName(
                f"Conflicting resource provider name: {name} already exists."
            ) from None
        if parent is None:
            session.execute(_RP.update().where(_RP.c.id == new_id).values(root_provider_id=new_id))
        return Provider(
            id=new_id,
            uuid=uuid,
            name=name,
            generation=0,
            root_provider_uuid=parent.root_provider_uuid if parent else uuid,
            parent_provider_uuid=parent.uuid if parent else None,
            root_id=parent.root_id if parent else new_id,
            parent_id=parent.id if parent else None,
            created_at=now,
            updated_at=None,
        )

    return deps.write(_create)


def _subtree_ids(session: Session, provider: Provider) -> set[int]:
    """Ids of the provider and every descendant."""
    rows = session.execute(
        sa.select(_RP.c.id, _RP.c.parent_provider_id).where(
            _RP.c.root_provider_id == provider.root_id
        )
    ).all()
    children: dict[int, list[int]] = {}
    for id_, parent_id in rows:
        if parent_id is not None:
            children.setdefault(parent_id, []).append(id_)
    result, todo = set(), [provider.id]
    while todo:
        current = todo.pop()
        result.add(current)
        todo.extend(children.get(current, []))
    return result


def _reparent(
    session: Session, provider: Provider, parent_uuid: str | None, allow_reparenting: bool
) -> dict[str, int | None]:
    """The column changes that move ``provider`` under ``parent_uuid`` (or make it a root)."""
    prefix = f"Unable to save resource provider {provider.uuid}: "
    if parent_uuid is None:
        if provider.parent_id is None:
            return {}
        if not allow_reparenting:
            raise BadRequest(prefix + "un-parenting a provider is not currently allowed.")
        new_root: int = provider.id
        changes: dict[str, int | None] = {"parent_provider_id": None, "root_provider_id": new_root}
    else:
        try:
            parent = get_in_session(session, parent_uuid)
        except ProviderNotFound:
            raise BadRequest(prefix + "parent provider UUID does not exist.") from None
        if parent.id == provider.parent_id:
            return {}
        if provider.parent_id is not None and not allow_reparenting:
            raise BadRequest(prefix + "re-parenting a provider is not currently allowed.")
        if parent.id in _subtree_ids(session, provider):
            raise BadRequest(prefix + "creating loop in the provider tree is not allowed.")
        new_root = parent.root_id
        changes = {"parent_provider_id": parent.id, "root_provider_id": new_root}
    subtree = _subtree_ids(session, provider) - {provider.id}
    if subtree and new_root != provider.root_id:
        session.execute(_RP.update().where(_RP.c.id.in_(subtree)).values(root_provider_id=new_root))
    return changes


#: the parsed request: the new name and the new parent (``UNSET`` when not given)
UpdateBody = Callable[[], tuple[str, object]]


def update(deps: Deps, uuid: str, body: UpdateBody, allow_reparenting: bool = False) -> Provider:
    """Rename or re-parent a provider (PUT /resource_providers/{uuid}).

    ``body`` is parsed only once the provider is known to exist (404 before 400).
    """
    get(deps, uuid)
    name, parent_uuid = body()
    return _apply_update(deps, uuid, name, parent_uuid, allow_reparenting)


def _apply_update(
    deps: Deps,
    uuid: str,
    name: str,
    parent_uuid: object = UNSET,
    allow_reparenting: bool = False,
) -> Provider:
    def _update(session: Session) -> Provider:
        provider = get_in_session(session, uuid)
        _check_unique(session, name, None, provider.id)
        values: dict[str, object] = {"name": name, "updated_at": utcnow()}
        if parent_uuid is not UNSET:
            assert parent_uuid is None or isinstance(parent_uuid, str)
            values |= _reparent(session, provider, parent_uuid, allow_reparenting)
        session.execute(_RP.update().where(_RP.c.id == provider.id).values(**values))
        return get_in_session(session, uuid)

    return deps.write(_update)


def delete(deps: Deps, uuid: str) -> None:
    def _delete(session: Session) -> None:
        try:
            provider = get_in_session(session, uuid)
        except ProviderNotFound:
            raise ProviderNotFound(
                f"No resource provider with uuid {uuid} found for delete"
            ) from None
        child = session.scalar(
            sa.select(_RP.c.id).where(_RP.c.parent_provider_id == provider.id).limit(1)
        )
        if child is not None:
            raise CannotDeleteParent(
                f"Unable to delete parent resource provider {uuid}: It has child resource "
                "providers."
            )
        alloc = models.ALLOC_TBL
        used = session.scalar(
            sa.select(alloc.c.id).where(alloc.c.resource_provider_id == provider.id).limit(1)
        )
        if used is not None:
            raise ProviderInUse(
                f"Unable to delete resource provider {uuid}: Resource provider has allocations."
            )
        for table in (models.INV_TBL, models.RP_AGG_TBL, models.RP_TRAIT_TBL):
            session.execute(table.delete().where(table.c.resource_provider_id == provider.id))
        session.execute(_RP.update().where(_RP.c.id == provider.id).values(root_provider_id=None))
        try:
            session.execute(_RP.delete().where(_RP.c.id == provider.id))
        except IntegrityError:
            raise CannotDeleteParent(
                f"Unable to delete parent resource provider {uuid}: It has child resource "
                "providers."
            ) from None

    deps.write(_delete)


def has_trees(session: Session) -> bool:
    """Whether any provider has a parent (nested providers are in use at all)."""
    return (
        session.scalar(sa.select(_RP.c.id).where(_RP.c.parent_provider_id.is_not(None)).limit(1))
        is not None
    )
