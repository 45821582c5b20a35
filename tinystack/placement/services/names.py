"""Names to ids of the small name tables the other service modules filter by."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.orm import Session

from tinystack.placement.exception import TraitNotFound
from tinystack.placement.services.deps import Deps


def trait_ids(
    deps: Deps, session: Session, names: Iterable[str], prefix: str = ""
) -> dict[str, int]:
    """Ids of the named traits; 400 naming the ones that do not exist."""
    wanted = set(names)
    found = deps.traits.ids_of(session, wanted)
    missing = wanted - found.keys()
    if missing:
        raise TraitNotFound(missing, prefix)
    return found
