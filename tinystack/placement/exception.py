"""Placement's domain errors and their stable ``code`` strings.

The codes are part of the API (microversion 1.23 added them to error bodies);
never change their values. Errors without a specific code render as
``placement.undefined_code``.
"""

from __future__ import annotations

from tinystack.common.exceptions import BadRequest, Conflict, NotFound

DEFAULT = "placement.undefined_code"
INVENTORY_INUSE = "placement.inventory.inuse"
CONCURRENT_UPDATE = "placement.concurrent_update"
DUPLICATE_NAME = "placement.duplicate_name"
PROVIDER_IN_USE = "placement.resource_provider.inuse"
PROVIDER_CANNOT_DELETE_PARENT = "placement.resource_provider.cannot_delete_parent"
RESOURCE_PROVIDER_NOT_FOUND = "placement.resource_provider.not_found"
ILLEGAL_DUPLICATE_QUERYPARAM = "placement.query.duplicate_key"
QUERYPARAM_BAD_VALUE = "placement.query.bad_value"
QUERYPARAM_MISSING_VALUE = "placement.query.missing_value"


class ConcurrentUpdate(Conflict):
    """A provider or consumer generation changed under the caller; re-read and retry."""

    code = CONCURRENT_UPDATE


class DuplicateName(Conflict):
    code = DUPLICATE_NAME


class InventoryInUse(Conflict):
    code = INVENTORY_INUSE


class ProviderInUse(Conflict):
    code = PROVIDER_IN_USE


class CannotDeleteParent(Conflict):
    code = PROVIDER_CANNOT_DELETE_PARENT


class ProviderNotFound(NotFound):
    pass


class ResourceClassNotFound(BadRequest):
    """A query or body names a resource class that does not exist (400, as upstream)."""

    def __init__(self, name: str, prefix: str = "") -> None:
        super().__init__(f"{prefix}No such resource class {name}.")
        self.name = name


class TraitNotFound(BadRequest):
    """A query or body names traits that do not exist (400, as upstream)."""

    def __init__(self, names: list[str] | set[str], prefix: str = "") -> None:
        super().__init__(f"{prefix}No such trait(s): {', '.join(sorted(names))}.")
        self.names = set(names)


class InvalidInventory(Conflict):
    """An allocation does not fit the inventory (missing, over capacity, unit rules)."""


class InvalidInventoryCapacity(BadRequest):
    pass


class RetryTransaction(Exception):
    """Internal: a compare-and-swap lost a race; run the whole transaction again."""
