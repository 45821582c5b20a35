"""Locations through ``PATCH /v2/images/{id}`` (Glance's ``show_multiple_locations``).

Upstream deprecates this interface (the 2.17 location API replaces it), so it is off
unless ``[image] show_multiple_locations`` is set. When on, an image shows its
``locations`` to callers that pass ``get_image_location``, and a JSON patch may

- ``add`` ``/locations/-`` (or ``/locations/<n>``) a location: ``set_image_location``;
  a queued image becomes active with it (its size from the store, no hashing; the
  ``validation_data`` given become its checksum and hash), an active one gains a copy
  whose validation data must match its own;
- ``replace`` ``/locations``: only the metadata of the present locations (same URLs in
  the same order), or every location of a queued image that has none;
- ``remove`` ``/locations/<n>``: ``delete_image_location`` (admin), never the last one;
  the data of a store that owns it is deleted after the commit.

New URLs must be ones the read-only ``http`` store serves and must pass the import
filter, as the 2.17 location API's do: the service fetches them, and a caller may not
point an image at data of the service's own stores (another image's file).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from tinystack.common.auth.context import RequestContext
from tinystack.common.exceptions import BadRequest, Conflict, Forbidden
from tinystack.common.rpc.payload import JSON
from tinystack.image import models
from tinystack.image.policies import images as image_rules
from tinystack.image.services import _access, _locations, import_filter
from tinystack.image.services.deps import Deps
from tinystack.image.services.image_attributes import Change
from tinystack.image.services.image_locations import HASH_LENGTHS
from tinystack.image.store.base import StoreError

_HEX = re.compile(r"^[0-9a-fA-F]*$")
_LOCATION_KEYS = {"url", "metadata", "validation_data"}
_VALIDATION_KEYS = ("checksum", "os_hash_algo", "os_hash_value")


@dataclass(frozen=True, slots=True)
class NewLocation:
    """A location from a patch, checked; ``size`` is known for new URLs."""

    url: str
    metadata: dict[str, JSON]
    validation: dict[str, str]
    store: str | None = None
    size: int | None = None
    #: the URL is data of one of the service's own stores: only ever kept, never added
    owned: bool = False


def shown(deps: Deps, ctx: RequestContext, image: models.Image) -> bool:
    """Whether ``locations`` is part of the image's view for this caller."""
    if not deps.opts.show_multiple_locations:
        return False
    return ctx.allowed(image_rules.GET_IMAGE_LOCATION, _access.target(ctx, image))


def _location(raw: object) -> NewLocation:
    if not isinstance(raw, dict):
        raise BadRequest(f"Invalid location: {raw!r} is not of type 'object'")
    extra = set(raw) - _LOCATION_KEYS
    if extra:
        raise BadRequest(f"Invalid location: additional properties {sorted(extra)} not allowed")
    url, metadata = raw.get("url"), raw.get("metadata")
    if not isinstance(url, str) or not url or len(url) > 255:
        raise BadRequest("Invalid location: 'url' must be a string of 1 to 255 characters")
    if not isinstance(metadata, dict):
        raise BadRequest("Invalid location: 'metadata' is a required object")
    meta: dict[str, JSON] = {k: v for k, v in metadata.items() if k != "store"}
    return NewLocation(url, meta, _validation(raw.get("validation_data")))


def _validation(data: object) -> dict[str, str]:
    if data is None:
        return {}
    if not isinstance(data, dict) or set(data) - set(_VALIDATION_KEYS):
        raise BadRequest("Invalid validation_data")
    if "os_hash_algo" not in data or "os_hash_value" not in data:
        raise BadRequest("validation_data needs os_hash_algo and os_hash_value")
    values = {k: data[k] for k in _VALIDATION_KEYS if k in data}
    if not all(isinstance(v, str) for v in values.values()):
        raise BadRequest("Invalid validation_data: values must be strings")
    return {k: str(v) for k, v in values.items()}


def _check_new_values(values: dict[str, str]) -> None:
    """The shape of validation data that will become the image's own."""
    checksum = values.get("checksum")
    if checksum is not None and (len(checksum) != 32 or not _HEX.match(checksum)):
        raise BadRequest(f"checksum ({checksum}) is not a valid hexadecimal value")
    algo, value = values.get("os_hash_algo"), values.get("os_hash_value", "")
    if algo is not None:
        if algo not in HASH_LENGTHS or algo == "md5":
            raise BadRequest(f"os_hash_algo {algo} is not supported")
        if len(value) != HASH_LENGTHS[algo] or not _HEX.match(value):
            raise BadRequest(f"os_hash_value ({value}) is not a valid {algo} value")


def prepare(deps: Deps, changes: Sequence[Change]) -> dict[int, list[NewLocation]]:
    """Check the locations of ``changes`` (by position) and learn the new URLs' sizes
    (a remove maps to no locations; absent when the option is off).

    Done before the transaction: the store answers over the network.
    """
    prepared: dict[int, list[NewLocation]] = {}
    for position, change in enumerate(changes):
        if change.name != "locations":
            continue
        if change.op == "remove":
            if deps.opts.show_multiple_locations:
                prepared[position] = []
            continue
        if not deps.opts.show_multiple_locations:
            verb = "add" if change.op == "add" else "update"
            raise Forbidden(f"It's not allowed to {verb} locations if locations are invisible.")
        raw = change.value if change.op == "replace" else [change.value]
        if not isinstance(raw, list):
            raise BadRequest("Invalid locations: the value must be a list of locations")
        prepared[position] = [_located(deps, _location(item)) for item in raw]
    return prepared


def _located(deps: Deps, loc: NewLocation) -> NewLocation:
    """The location with its store; new data must be a web server's (see the docstring)."""
    try:
        store = deps.stores.for_location(loc.url)
    except StoreError:
        raise BadRequest(f"Invalid location {loc.url}: no store handles it") from None
    if not store.read_only:
        return NewLocation(loc.url, loc.metadata, loc.validation, store.id, owned=True)
    if not import_filter.allowed(deps.opts, loc.url):
        raise BadRequest(f"Invalid location {loc.url}: the URI does not pass filtering")
    try:
        size = store.size(loc.url)
    except StoreError as exc:
        raise BadRequest(f"Invalid location {loc.url}: {exc}") from None
    return NewLocation(loc.url, loc.metadata, loc.validation, store.id, size)


def apply(
    ctx: RequestContext,
    image: models.Image,
    change: Change,
    new: list[NewLocation] | None,
    gone: list[tuple[str, str | None]],
) -> None:
    """Apply one ``locations`` change; removed copies are appended to ``gone``."""
    _access.authorize(ctx, image_rules.MODIFY_IMAGE, image)
    if change.op == "remove":
        if new is None:  # prepare() found the option off
            raise Forbidden("It's not allowed to remove locations if locations are invisible.")
        _remove(ctx, image, change.index, gone)
        return
    if new is None:
        raise Forbidden("It's not allowed to update locations if locations are invisible.")
    _access.authorize(ctx, image_rules.SET_IMAGE_LOCATION, image)
    if image.status not in ("active", "queued"):
        verb = "add" if change.op == "add" else "replace"
        raise Forbidden(f"It's not allowed to {verb} locations if image status is {image.status}.")
    if change.op == "replace":
        _replace(image, new)
    else:
        _add(image, new[0], change.index)


def _active(image: models.Image) -> list[models.ImageLocation]:
    return [loc for loc in image.locations if loc.status == "active"]


def _adopt_validation(image: models.Image, locations: Sequence[NewLocation]) -> None:
    """Validation data must agree with each other and with what the image has; a queued
    image takes the new values."""
    wanted: dict[str, str] = {}
    for loc in locations:
        for key, value in loc.validation.items():
            if wanted.setdefault(key, value) != value:
                raise Conflict(f"Conflicting values for {key}")
    new: dict[str, str] = {}
    for key, value in wanted.items():
        current = getattr(image, key)
        if current == value:
            continue
        if current:
            raise Conflict(f"{key} is already set with a different value")
        new[key] = value
    if not new:
        return
    if image.status != "queued":
        raise BadRequest(
            f"New value(s) for {', '.join(sorted(new))} may only be provided when image "
            "status is 'queued'"
        )
    _check_new_values(new)
    for key, value in new.items():
        setattr(image, key, value)


def _refuse_owned(locations: Sequence[NewLocation]) -> None:
    for loc in locations:
        if loc.owned:
            raise BadRequest(f"Invalid location {loc.url}: only web servers' data may be added")


def _activate(image: models.Image, locations: Sequence[NewLocation]) -> None:
    if image.status == "queued":
        sizes = [loc.size for loc in locations if loc.size is not None]
        if image.size is None and sizes:
            image.size = sizes[0]
        image.status = "active"


def _add(image: models.Image, loc: NewLocation, index: str | None) -> None:
    present = _active(image)
    if index == "-":
        position = len(present)
    elif index is not None and index.isdigit() and int(index) <= len(present):
        position = int(index)
    else:
        raise BadRequest("Invalid position for adding a location.")
    if any(existing.url == loc.url for existing in present):
        raise BadRequest(f"The location {loc.url} already exists")
    _refuse_owned([loc])
    _adopt_validation(image, [loc])
    added = _locations.add(image, loc.url, loc.store, loc.metadata)
    _reorder(image, added, position)
    _activate(image, [loc])


def _reorder(image: models.Image, moved: models.ImageLocation, position: int) -> None:
    ordered = [loc for loc in image.locations if loc is not moved]
    ordered.insert(position, moved)
    for number, loc in enumerate(ordered):
        loc.position = number
    image.locations.sort(key=lambda loc: loc.position)
    _locations.sync(image)


def _replace(image: models.Image, new: list[NewLocation]) -> None:
    present = _active(image)
    if not new:
        if present:
            raise Forbidden("Cannot set locations to empty list.")
        return
    if present:
        if [loc.url for loc in present] != [loc.url for loc in new]:
            raise BadRequest("Cannot replace locations from a non-empty list to a non-empty list.")
        _adopt_validation(image, new)
        for row, loc in zip(present, new, strict=True):
            row.meta = dict(loc.metadata)
        return
    if len({loc.url for loc in new}) != len(new):
        raise BadRequest("The same location appears twice")
    _refuse_owned(new)
    _adopt_validation(image, new)
    for loc in new:
        _locations.add(image, loc.url, loc.store, loc.metadata)
    _activate(image, new)


def _remove(
    ctx: RequestContext, image: models.Image, index: str | None, gone: list[tuple[str, str | None]]
) -> None:
    _access.authorize(ctx, image_rules.DELETE_IMAGE_LOCATION, image)
    if image.status != "active":
        raise Forbidden(f"It's not allowed to remove locations if image status is {image.status}.")
    present = _active(image)
    if index is None or not index.isdigit() or int(index) >= len(present):
        raise BadRequest("Invalid position for removing a location.")
    if len(present) == 1:
        raise Forbidden("Cannot remove last location in the image.")
    row = present[int(index)]
    gone.append((row.url, row.store))
    _locations.remove(image, row)


def attach_view(image: models.Image) -> tuple[tuple[str, dict[str, JSON]], ...]:
    """The image's locations as the view shows them."""
    return tuple((loc.url, _locations.metadata(loc)) for loc in _active(image))


def drop_data(deps: Deps, gone: Sequence[tuple[str, str | None]]) -> None:
    """Delete the data of removed locations from the stores that own it."""
    for url, store_id in gone:
        try:
            store = deps.stores.for_location(url, store_id)
            if not store.read_only:
                store.delete(url)
        except (OSError, StoreError):
            continue
