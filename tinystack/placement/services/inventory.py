"""Inventories: how much of each resource class a provider has, and the unit rules."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tinystack.common.exceptions import BadRequest, NotFound
from tinystack.common.timeutils import utcnow
from tinystack.placement import models
from tinystack.placement.exception import (
    ConcurrentUpdate,
    InvalidInventoryCapacity,
    InventoryInUse,
)
from tinystack.placement.services.deps import Deps
from tinystack.placement.services.resource_provider import (
    Provider,
    get,
    get_in_session,
    lock_provider,
)
from tinystack.placement.services.rows import MAX_INT

LOG = logging.getLogger(__name__)
_INV = models.INV_TBL
_ALLOC = models.ALLOC_TBL
GENERATION_CONFLICT = "resource provider generation conflict"


@dataclass(frozen=True, slots=True)
class Inventory:
    resource_class: str
    total: int
    reserved: int = 0
    min_unit: int = 1
    max_unit: int = MAX_INT
    step_size: int = 1
    allocation_ratio: float = 1.0
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def capacity(self) -> int:
        return int((self.total - self.reserved) * self.allocation_ratio)

    def values(self) -> dict[str, object]:
        return {
            "total": self.total,
            "reserved": self.reserved,
            "min_unit": self.min_unit,
            "max_unit": self.max_unit,
            "step_size": self.step_size,
            "allocation_ratio": self.allocation_ratio,
        }


def check_capacity(
    inventories: list[Inventory],
    provider_uuid: str,
    reserved_can_be_total: bool,
    action: str = "update",
) -> None:
    """400 when reserved leaves no room (equal to total is allowed from microversion 1.26)."""
    for inv in inventories:
        if inv.capacity < 0 or (inv.capacity == 0 and not reserved_can_be_total):
            relation = "greater than" if reserved_can_be_total else "greater than or equal to"
            raise InvalidInventoryCapacity(
                f"Unable to {action} inventory for resource provider {provider_uuid}: Invalid "
                f"inventory for '{inv.resource_class}' on resource provider '{provider_uuid}'. "
                f"The reserved value is {relation} total."
            )


def _rows(deps: Deps, session: Session, provider_id: int) -> dict[str, Inventory]:
    rows = session.execute(sa.select(_INV).where(_INV.c.resource_provider_id == provider_id))
    result = {}
    for row in rows:
        name = deps.resource_classes.name_of(session, row.resource_class_id)
        result[name] = Inventory(
            resource_class=name,
            total=row.total,
            reserved=row.reserved,
            min_unit=row.min_unit,
            max_unit=row.max_unit,
            step_size=row.step_size,
            allocation_ratio=row.allocation_ratio,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )
    return result


def get_all(deps: Deps, uuid: str) -> tuple[Provider, dict[str, Inventory]]:
    with deps.read() as session:
        provider = get_in_session(session, uuid)
        return provider, _rows(deps, session, provider.id)


def _class_id(deps: Deps, session: Session, provider: Provider, name: str) -> int:
    rc_id = deps.resource_classes.id_of(session, name)
    if rc_id is None:
        raise BadRequest(
            f"Unknown resource class in inventory for resource provider {provider.uuid}: "
            f"No such resource class {name}."
        )
    return rc_id


def _usage(session: Session, provider_id: int, rc_ids: list[int]) -> dict[int, int]:
    rows = session.execute(
        sa.select(_ALLOC.c.resource_class_id, sa.func.sum(_ALLOC.c.used))
        .where(_ALLOC.c.resource_provider_id == provider_id, _ALLOC.c.resource_class_id.in_(rc_ids))
        .group_by(_ALLOC.c.resource_class_id)
    )
    return {rc: int(used or 0) for rc, used in rows}


def _write(
    deps: Deps, session: Session, provider: Provider, wanted: list[Inventory], replace_all: bool
) -> None:
    """Make the provider's inventory ``wanted`` (plus the untouched rest unless replace_all)."""
    existing = {
        row.resource_class_id: row.id
        for row in session.execute(
            sa.select(_INV.c.id, _INV.c.resource_class_id).where(
                _INV.c.resource_provider_id == provider.id
            )
        )
    }
    by_id = {_class_id(deps, session, provider, inv.resource_class): inv for inv in wanted}
    to_delete = set(existing) - set(by_id) if replace_all else set()
    if to_delete:
        in_use = _usage(session, provider.id, sorted(to_delete))
        if in_use:
            names = ", ".join(deps.resource_classes.name_of(session, rc) for rc in sorted(in_use))
            raise InventoryInUse(
                f"update conflict: Inventory for '{names}' on resource provider "
                f"'{provider.uuid}' in use."
            )
        session.execute(_INV.delete().where(_INV.c.id.in_([existing[r] for r in to_delete])))
    now = utcnow()
    updates = [rc for rc in by_id if rc in existing]
    usage = _usage(session, provider.id, updates) if updates else {}
    for rc_id, inv in by_id.items():
        if rc_id in existing:
            session.execute(
                _INV.update()
                .where(_INV.c.id == existing[rc_id])
                .values(**inv.values(), updated_at=now)
            )
            if usage.get(rc_id, 0) > inv.capacity:
                LOG.warning(
                    "resource provider %s is now over capacity for %s",
                    provider.uuid,
                    inv.resource_class,
                )
        else:
            session.execute(
                _INV.insert().values(
                    resource_provider_id=provider.id,
                    resource_class_id=rc_id,
                    created_at=now,
                    **inv.values(),
                )
            )


def set_all(
    deps: Deps,
    uuid: str,
    body: Callable[[], tuple[int, list[Inventory]]],
    reserved_can_be_total: bool,
) -> tuple[Provider, dict[str, Inventory]]:
    """Replace all of a provider's inventory (PUT .../inventories).

    ``body`` (the generation the caller saw and the new inventories) is parsed only once
    the provider is known to exist: a missing provider is a 404 before any body problem.
    """
    get(deps, uuid)
    generation, inventories = body()
    check_capacity(inventories, uuid, reserved_can_be_total)
    return _set_all(deps, uuid, generation, inventories)


def _set_all(
    deps: Deps, uuid: str, generation: int, inventories: list[Inventory]
) -> tuple[Provider, dict[str, Inventory]]:

    def _set(session: Session) -> tuple[Provider, dict[str, Inventory]]:
        provider = lock_provider(session, uuid, generation, GENERATION_CONFLICT)
        _write(deps, session, provider, inventories, replace_all=True)
        provider = provider.bumped(session)
        return provider, _rows(deps, session, provider.id)

    return deps.write(_set, conflict_message=GENERATION_CONFLICT)


def delete_all(deps: Deps, uuid: str) -> None:
    def _delete(session: Session) -> None:
        provider = lock_provider(session, uuid, None)
        _write(deps, session, provider, [], replace_all=True)
        provider.bumped(session)

    deps.write(
        _delete,
        conflict_message=f"Unable to delete inventory for resource provider {uuid} because the "
        "inventory was updated by another process. Please retry your request.",
    )


def add(
    deps: Deps, uuid: str, body: Callable[[], Inventory], reserved_can_be_total: bool
) -> tuple[Provider, Inventory]:
    """Add inventory of a class the provider does not have yet (POST .../inventories).

    ``body`` is parsed only once the provider is known to exist (404 before 400).
    """
    get(deps, uuid)
    inventory = body()
    check_capacity([inventory], uuid, reserved_can_be_total, "create")
    return _add_new(deps, uuid, inventory)


def _add_new(deps: Deps, uuid: str, inventory: Inventory) -> tuple[Provider, Inventory]:

    def _add(session: Session) -> tuple[Provider, Inventory]:
        provider = lock_provider(session, uuid, None)
        rc_id = _class_id(deps, session, provider, inventory.resource_class)
        exists = session.scalar(
            sa.select(_INV.c.id).where(
                _INV.c.resource_provider_id == provider.id, _INV.c.resource_class_id == rc_id
            )
        )
        if exists is not None:
            raise ConcurrentUpdate(
                f"Update conflict: Inventory for {inventory.resource_class} on resource "
                f"provider {uuid} already exists."
            )
        _write(deps, session, provider, [inventory], replace_all=False)
        return provider.bumped(session), _rows(deps, session, provider.id)[inventory.resource_class]

    return deps.write(_add)


def update_one(
    deps: Deps,
    uuid: str,
    body: Callable[[], tuple[int, Inventory]],
    reserved_can_be_total: bool,
) -> tuple[Provider, Inventory]:
    """Update the inventory of one class (PUT .../inventories/{class}).

    ``body`` is parsed only once the provider is known to exist (404 before 400).
    """
    get(deps, uuid)
    generation, inventory = body()
    check_capacity([inventory], uuid, reserved_can_be_total)
    return _update_one(deps, uuid, generation, inventory)


def _update_one(
    deps: Deps, uuid: str, generation: int, inventory: Inventory
) -> tuple[Provider, Inventory]:

    def _update(session: Session) -> tuple[Provider, Inventory]:
        provider = lock_provider(session, uuid, generation, GENERATION_CONFLICT)
        current = _rows(deps, session, provider.id)
        if inventory.resource_class not in current:
            raise BadRequest(
                "No inventory record with resource class for resource provider "
                f"{uuid}: No inventory of class {inventory.resource_class} found."
            )
        _write(deps, session, provider, [inventory], replace_all=False)
        updated = replace(inventory, created_at=current[inventory.resource_class].created_at)
        return provider.bumped(session), replace(updated, updated_at=utcnow())

    return deps.write(_update, conflict_message=GENERATION_CONFLICT)


def delete_one(deps: Deps, uuid: str, resource_class: str) -> None:
    def _delete(session: Session) -> None:
        provider = lock_provider(session, uuid, None)
        rc_id = deps.resource_classes.id_of(session, resource_class)
        row_id = None
        if rc_id is not None:
            row_id = session.scalar(
                sa.select(_INV.c.id).where(
                    _INV.c.resource_provider_id == provider.id, _INV.c.resource_class_id == rc_id
                )
            )
        if rc_id is None or row_id is None:
            raise NotFound(
                f"No inventory of class {resource_class} found for delete: No inventory of "
                f"class {resource_class} found for delete"
            )
        if _usage(session, provider.id, [rc_id]):
            raise ConcurrentUpdate(
                f"Unable to delete inventory of class {resource_class}: Inventory for "
                f"'{resource_class}' on resource provider '{uuid}' in use."
            )
        session.execute(_INV.delete().where(_INV.c.id == row_id))
        provider.bumped(session)

    deps.write(_delete)


def reshape_write(
    deps: Deps, session: Session, provider: Provider, inventories: list[Inventory], final: bool
) -> Provider:
    """Reshaper's inventory steps: first the union of old and new, at the end exactly new."""
    if not final and not inventories:
        return provider
    _write(deps, session, provider, inventories, replace_all=final)
    return provider.bumped(session)
