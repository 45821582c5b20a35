"""Allocations: claims of consumers on providers' inventory.

Writing allocations is the contended path (the scheduler claims through it).
One write transaction does everything: it checks the consumers' generations,
bumps every involved provider's generation with a compare-and-swap (which also
row-locks the providers on MariaDB/PostgreSQL, so the capacity reads that
follow see every committed claim), checks capacity and unit rules, and replaces
the consumers' allocations. A lost compare-and-swap re-runs the transaction;
two consumers racing for the last unit can never both succeed.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tinystack.common.exceptions import BadRequest, NotFound
from tinystack.common.timeutils import utcnow
from tinystack.placement import models
from tinystack.placement.exception import ConcurrentUpdate, InvalidInventory, RetryTransaction
from tinystack.placement.services import consumer as consumer_obj
from tinystack.placement.services import resource_provider as rp_obj
from tinystack.placement.services.deps import Deps
from tinystack.placement.services.resource_provider import Provider

LOG = logging.getLogger(__name__)
_ALLOC = models.ALLOC_TBL
_INV = models.INV_TBL
_RP = models.RP_TBL
_CONSUMER = models.CONSUMER_TBL

#: resources per provider uuid: {rp_uuid: {resource_class: amount}}
Resources = dict[str, dict[str, int]]


@dataclass
class ConsumerRequest:
    """The allocations one consumer should have after the write (empty: none)."""

    uuid: str
    allocations: Resources
    project_id: str | None = None
    user_id: str | None = None
    generation: int | None = None
    #: microversion 1.28+: ``generation`` must match (None: the consumer must not exist)
    check_generation: bool = False
    consumer_type: str | None = None


@dataclass(frozen=True, slots=True)
class ConsumerAllocations:
    """What ``GET /allocations/{consumer}`` shows."""

    allocations: dict[str, tuple[int, dict[str, int]]] = field(default_factory=dict)
    project_id: str | None = None
    user_id: str | None = None
    generation: int | None = None
    consumer_type: str | None = None
    last_modified: datetime | None = None


@dataclass
class _Claim:
    """Amounts wanted from one (provider, class) by this write, and each single claim."""

    total: int = 0
    amounts: list[int] = field(default_factory=list)


def replace(deps: Deps, requests: list[ConsumerRequest]) -> None:
    """Replace the allocations of every consumer in ``requests`` atomically."""
    deps.write(
        lambda session: write_allocations(deps, session, requests),
        conflict_message="Inventory and/or allocations changed while attempting to allocate: "
        "Another thread concurrently updated the data. Please retry your update",
    )


def write_allocations(
    deps: Deps,
    session: Session,
    requests: list[ConsumerRequest],
    known: dict[str, Provider] | None = None,
) -> dict[str, Provider]:
    """The body of an allocation write; returns the involved providers, bumped.

    ``known`` are providers the caller already loaded (and bumped) in this transaction.
    """
    consumers = consumer_obj.get_many(session, [r.uuid for r in requests])
    _check_consumer_generations(requests, consumers)
    rc_ids = _class_ids(deps, session, requests)
    providers = _providers(session, requests, known or {})
    existing = _existing(session, [r.uuid for r in requests])
    involved = {p for r in requests for p in r.allocations}
    for request in requests:
        if not request.allocations:
            involved |= {rp_id_uuid for _, rp_id_uuid, _, _ in existing.get(request.uuid, [])}
    providers |= dict(rp_obj.get_many(session, list(involved - providers.keys())).items())
    for uuid in sorted(involved, key=lambda u: providers[u].id):
        providers[uuid] = providers[uuid].bumped(session)
    claims = _claims(requests, providers, rc_ids)
    _check_capacity(deps, session, claims, existing, providers)
    if existing:
        session.execute(_ALLOC.delete().where(_ALLOC.c.consumer_id.in_(list(existing))))
    now = utcnow()
    rows = [
        {
            "resource_provider_id": providers[rp_uuid].id,
            "resource_class_id": rc_ids[rc],
            "consumer_id": request.uuid,
            "used": amount,
            "created_at": now,
        }
        for request in requests
        for rp_uuid, resources in request.allocations.items()
        for rc, amount in resources.items()
    ]
    if rows:
        session.execute(_ALLOC.insert(), rows)
    _write_consumers(deps, session, requests, consumers)
    return providers


def _check_consumer_generations(
    requests: list[ConsumerRequest], consumers: dict[str, consumer_obj.Consumer]
) -> None:
    for request in requests:
        if not request.check_generation:
            continue
        current = consumers.get(request.uuid)
        if current is None and request.generation is not None:
            raise ConcurrentUpdate(
                f"consumer generation conflict - expected null but got {request.generation}"
            )
        if current is not None and current.generation != request.generation:
            raise ConcurrentUpdate(
                f"consumer generation conflict - expected {current.generation} but got "
                f"{request.generation}"
            )


def _class_ids(deps: Deps, session: Session, requests: list[ConsumerRequest]) -> dict[str, int]:
    names = {rc for r in requests for res in r.allocations.values() for rc in res}
    found = deps.resource_classes.ids_of(session, names)
    missing = names - found.keys()
    if missing:
        who = f" for consumer {requests[0].uuid}:" if len(requests) == 1 else ""
        raise BadRequest(
            f"Unable to allocate inventory{who} No such resource class {sorted(missing)[0]}."
        )
    return found


def _providers(
    session: Session, requests: list[ConsumerRequest], known: dict[str, Provider]
) -> dict[str, Provider]:
    wanted = {p for r in requests for p in r.allocations} - known.keys()
    found = rp_obj.get_many(session, sorted(wanted)) | known
    for request in requests:
        for rp_uuid in request.allocations:
            if rp_uuid not in found:
                raise BadRequest(
                    f"Allocation for resource provider '{rp_uuid}' that does not exist."
                )
    return found


_EXISTING = (
    sa.select(
        _ALLOC.c.consumer_id,
        _ALLOC.c.resource_provider_id,
        _RP.c.uuid,
        _ALLOC.c.resource_class_id,
        _ALLOC.c.used,
    )
    .join(_RP, _RP.c.id == _ALLOC.c.resource_provider_id)
    .where(_ALLOC.c.consumer_id.in_(sa.bindparam("consumers", expanding=True)))
)


def _existing(session: Session, uuids: list[str]) -> dict[str, list[tuple[int, str, int, int]]]:
    """Current allocations of the consumers: (provider id, provider uuid, class id, used)."""
    rows = session.execute(_EXISTING, {"consumers": sorted(set(uuids))})
    result: dict[str, list[tuple[int, str, int, int]]] = defaultdict(list)
    for consumer, rp_id, rp_uuid, rc_id, used in rows:
        result[consumer].append((rp_id, rp_uuid, rc_id, used))
    return dict(result)


def _claims(
    requests: list[ConsumerRequest], providers: dict[str, Provider], rc_ids: dict[str, int]
) -> dict[tuple[int, int], _Claim]:
    claims: dict[tuple[int, int], _Claim] = defaultdict(_Claim)
    for request in requests:
        for rp_uuid, resources in request.allocations.items():
            for rc, amount in resources.items():
                claim = claims[(providers[rp_uuid].id, rc_ids[rc])]
                claim.total += amount
                claim.amounts.append(amount)
    return claims


_INVENTORY_USAGE = sa.select(
    _INV,
    sa.select(sa.func.coalesce(sa.func.sum(_ALLOC.c.used), 0))
    .where(
        _ALLOC.c.resource_provider_id == _INV.c.resource_provider_id,
        _ALLOC.c.resource_class_id == _INV.c.resource_class_id,
    )
    .scalar_subquery()
    .label("used"),
).where(
    _INV.c.resource_provider_id.in_(sa.bindparam("rps", expanding=True)),
    _INV.c.resource_class_id.in_(sa.bindparam("rcs", expanding=True)),
)


def _check_capacity(
    deps: Deps,
    session: Session,
    claims: dict[tuple[int, int], _Claim],
    existing: dict[str, list[tuple[int, str, int, int]]],
    providers: dict[str, Provider],
) -> None:
    """409 unless every claim fits its inventory (read after the providers were locked)."""
    if not claims:
        return
    rows = session.execute(
        _INVENTORY_USAGE,
        {"rps": sorted({rp for rp, _ in claims}), "rcs": sorted({rc for _, rc in claims})},
    )
    inventories = {(r.resource_provider_id, r.resource_class_id): r for r in rows}
    own: dict[tuple[int, int], int] = defaultdict(int)
    for allocs in existing.values():
        for rp_id, _uuid, rc_id, amount in allocs:
            own[(rp_id, rc_id)] += amount
    uuid_of = {p.id: p.uuid for p in providers.values()}
    for key, claim in sorted(claims.items()):
        rc_name = deps.resource_classes.name_of(session, key[1])
        where = f"'{rc_name}' on resource provider '{uuid_of[key[0]]}'"
        inv = inventories.get(key)
        if inv is None:
            raise InvalidInventory(f"Unable to allocate inventory: Inventory for {where} invalid.")
        for amount in claim.amounts:
            if not (inv.min_unit <= amount <= inv.max_unit and amount % inv.step_size == 0):
                raise InvalidInventory(
                    f"Unable to allocate inventory: Unable to create allocation for {where}. "
                    "The requested amount would violate inventory constraints."
                )
        before = int(inv.used)
        after = before - own.get(key, 0) + claim.total
        capacity = (inv.total - inv.reserved) * inv.allocation_ratio
        if after > capacity and after > before:
            raise InvalidInventory(
                f"Unable to allocate inventory: Unable to create allocation for {where}. "
                "The requested amount would exceed the capacity."
            )


def _write_consumers(
    deps: Deps,
    session: Session,
    requests: list[ConsumerRequest],
    consumers: dict[str, consumer_obj.Consumer],
) -> None:
    """Create, update (generation CAS) or delete the consumer records."""
    now = utcnow()
    emptied = []
    for request in requests:
        current = consumers.get(request.uuid)
        if not request.allocations:
            emptied.append(request.uuid)
            if current is None:
                continue
        project = request.project_id or deps.opts.incomplete_project_id
        user = request.user_id or deps.opts.incomplete_user_id
        values: dict[str, object] = {
            "project_id": consumer_obj.ensure_project(deps, session, project),
            "user_id": consumer_obj.ensure_user(deps, session, user),
        }
        if request.consumer_type is not None:
            values["consumer_type_id"] = consumer_obj.ensure_type(
                deps, session, request.consumer_type
            )
        if current is None:
            session.execute(
                _CONSUMER.insert().values(uuid=request.uuid, generation=1, created_at=now, **values)
            )
            continue
        result = session.execute(
            _CONSUMER.update()
            .where(_CONSUMER.c.id == current.id, _CONSUMER.c.generation == current.generation)
            .values(generation=current.generation + 1, updated_at=now, **values)
        )
        if getattr(result, "rowcount", 1) != 1:
            raise RetryTransaction()
    consumer_obj.delete_unused(session, emptied)


def get_for_consumer(deps: Deps, uuid: str) -> ConsumerAllocations:
    sel = (
        sa.select(
            _RP.c.uuid,
            _RP.c.generation,
            _ALLOC.c.resource_class_id,
            _ALLOC.c.used,
            _ALLOC.c.created_at,
        )
        .join(_RP, _RP.c.id == _ALLOC.c.resource_provider_id)
        .where(_ALLOC.c.consumer_id == uuid)
    )
    allocations: dict[str, tuple[int, dict[str, int]]] = {}
    last_modified: datetime | None = None
    with deps.read() as session:
        rows = session.execute(sel).all()
        if not rows:
            return ConsumerAllocations()
        for rp_uuid, generation, rc_id, used, created in rows:
            _gen, resources = allocations.setdefault(rp_uuid, (generation, {}))
            resources[deps.resource_classes.name_of(session, rc_id)] = used
            if created and (last_modified is None or created > last_modified):
                last_modified = created
        consumer = consumer_obj.get_many(session, [uuid]).get(uuid)
        if consumer is None:
            return ConsumerAllocations(allocations, last_modified=last_modified)
        return ConsumerAllocations(
            allocations,
            project_id=consumer.project_external_id,
            user_id=consumer.user_external_id,
            generation=consumer.generation,
            consumer_type=consumer_obj.type_name(deps, session, consumer.consumer_type_id),
            last_modified=last_modified,
        )


@dataclass(frozen=True, slots=True)
class ProviderAllocations:
    provider: Provider
    #: consumer uuid -> (consumer generation, {class: used})
    allocations: dict[str, tuple[int | None, dict[str, int]]]
    last_modified: datetime | None = None


def get_for_provider(deps: Deps, uuid: str) -> ProviderAllocations:
    with deps.read() as session:
        provider = rp_obj.get_in_session(session, uuid)
        rows = session.execute(
            sa.select(
                _ALLOC.c.consumer_id,
                _CONSUMER.c.generation,
                _ALLOC.c.resource_class_id,
                _ALLOC.c.used,
                _ALLOC.c.created_at,
            )
            .outerjoin(_CONSUMER, _CONSUMER.c.uuid == _ALLOC.c.consumer_id)
            .where(_ALLOC.c.resource_provider_id == provider.id)
        ).all()
        allocations: dict[str, tuple[int | None, dict[str, int]]] = {}
        last_modified: datetime | None = None
        for consumer, generation, rc_id, used, created in rows:
            _gen, resources = allocations.setdefault(consumer, (generation, {}))
            resources[deps.resource_classes.name_of(session, rc_id)] = used
            if created and (last_modified is None or created > last_modified):
                last_modified = created
    return ProviderAllocations(provider, allocations, last_modified)


def delete_for_consumer(deps: Deps, uuid: str) -> None:
    def _delete(session: Session) -> None:
        deleted = session.execute(_ALLOC.delete().where(_ALLOC.c.consumer_id == uuid))
        if not getattr(deleted, "rowcount", 0):
            raise NotFound(f"No allocations for consumer '{uuid}'")
        session.execute(_CONSUMER.delete().where(_CONSUMER.c.uuid == uuid))

    deps.write(_delete)
