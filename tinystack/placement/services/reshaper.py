"""The reshaper: move inventory and allocations between providers in one transaction."""

from __future__ import annotations

from sqlalchemy.orm import Session

from tinystack.common.exceptions import BadRequest
from tinystack.placement.exception import (
    RESOURCE_PROVIDER_NOT_FOUND,
    ConcurrentUpdate,
    ProviderNotFound,
)
from tinystack.placement.services import allocation as alloc_obj
from tinystack.placement.services import inventory as inv_obj
from tinystack.placement.services.allocation import ConsumerRequest
from tinystack.placement.services.deps import Deps
from tinystack.placement.services.inventory import Inventory
from tinystack.placement.services.resource_provider import Provider, get_in_session

#: provider uuid -> (the generation the caller saw, the provider's complete new inventory)
NewInventories = dict[str, tuple[int, list[Inventory]]]


def reshape(deps: Deps, inventories: NewInventories, requests: list[ConsumerRequest]) -> None:
    """Set inventories and allocations together; inventory is only removed at the very end.

    First every provider gets the union of its old and new inventory, then the
    consumers' allocations are replaced (checked against that union), then the
    inventory becomes exactly the new one, which fails if allocations remain on
    a class being removed.
    """
    for uuid, (_generation, invs) in inventories.items():
        inv_obj.check_capacity(invs, uuid, reserved_can_be_total=True)

    def _reshape(session: Session) -> None:
        providers: dict[str, Provider] = {}
        for uuid, (generation, _invs) in inventories.items():
            try:
                provider = get_in_session(session, uuid)
            except ProviderNotFound as exc:
                raise BadRequest(
                    f"Resource provider {uuid} in inventories not found: {exc.message}",
                    code=RESOURCE_PROVIDER_NOT_FOUND,
                ) from None
            if provider.generation != generation:
                raise ConcurrentUpdate(
                    f"resource provider generation conflict for provider {uuid}: actual: "
                    f"{provider.generation}, given: {generation}"
                )
            providers[uuid] = provider
        for uuid, (_gen, invs) in inventories.items():
            providers[uuid] = inv_obj.reshape_write(deps, session, providers[uuid], invs, False)
        touched = alloc_obj.write_allocations(deps, session, requests, known=providers)
        providers.update({u: p for u, p in touched.items() if u in providers})
        for uuid, (_gen, invs) in inventories.items():
            inv_obj.reshape_write(deps, session, providers[uuid], invs, True)

    deps.write(_reshape)
