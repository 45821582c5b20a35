"""Request bodies: JSON parsing, Neutron's envelopes, item validation, ``If-Match``."""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Any

from fastapi import Depends
from pydantic import BaseModel, ValidationError
from starlette.requests import Request

from tinystack.common.exceptions import BadRequest
from tinystack.network.api.resource import Resource
from tinystack.network.exception import http_bad_request


async def read_json(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        raise BadRequest("Resource body required", code="BadRequest")
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest(
            "Malformed request body: the body is not valid JSON.", code="MalformedRequestBody"
        ) from None


JsonBody = Annotated[Any, Depends(read_json)]


def unwrap(body: Any, res: Resource, bulk: bool = True) -> tuple[list[Any], bool]:
    """The item(s) of ``{"network": {...}}`` or ``{"networks": [...]}``; True when bulk."""
    if not isinstance(body, dict):
        raise http_bad_request(f"Body must be a JSON object with '{res.singular}'")
    if bulk and res.plural in body:
        items = body[res.plural]
        if not isinstance(items, list) or not items:
            raise http_bad_request(f"Resources required: '{res.plural}' must be a non-empty list")
        return items, True
    if res.singular not in body:
        raise BadRequest(f"Unable to find '{res.singular}' in request body", code="BadRequest")
    return [body[res.singular]], False


def validate(model: type[BaseModel], data: Any) -> dict[str, Any]:
    """Parse ``data`` with ``model``; only the attributes the client set (as API names)."""
    if not isinstance(data, dict):
        raise http_bad_request("Invalid input: the resource must be a JSON object")
    try:
        parsed = model.model_validate(data)
    except ValidationError as exc:
        raise http_bad_request(_message(exc)) from None
    return parsed.model_dump(by_alias=True, exclude_unset=True)


def _message(exc: ValidationError) -> str:
    errors = exc.errors()
    extra = [str(e["loc"][-1]) for e in errors if e["type"] == "extra_forbidden"]
    if extra:
        return f"Unrecognized attribute(s) '{', '.join(extra)}'"
    err = errors[0]
    name = ".".join(str(p) for p in err["loc"])
    return f"Invalid input for {name}. Reason: {err['msg']}."


def revision(request: Request) -> int | None:
    """The ``If-Match: revision_number=N`` constraint, if any."""
    found: int | None = None
    for raw in request.headers.getlist("if-match"):
        for etag in raw.split(","):
            tag = etag.strip().strip('"')
            if not tag.startswith("revision_number="):
                continue
            if found is not None:
                raise BadRequest(
                    "Bad if-match request: Multiple revision_number etags are not supported.",
                    code="BadRequest",
                )
            try:
                found = int(tag.split("=", 1)[1])
            except ValueError:
                raise BadRequest(
                    "Bad if-match request: Revision number etag must be in the format of "
                    "revision_number=<int>.",
                    code="BadRequest",
                ) from None
    return found


def check_uuids(name: str, values: list[str] | str | None) -> None:
    """Neutron's ``type:uuid_list``/``type:uuid_or_none`` (400 naming the attribute): each
    item a UUID, and a list without duplicates."""
    items = [values] if isinstance(values, str) else values or []
    for item in items:
        try:
            uuid.UUID(item)
        except ValueError:
            raise http_bad_request(
                f"Invalid input for {name}. Reason: '{item}' is not a valid UUID."
            ) from None
    if len(set(items)) != len(items):
        dups = sorted({i for i in items if items.count(i) > 1})
        raise http_bad_request(
            f"Invalid input for {name}. Reason: Duplicate items in the list: '{', '.join(dups)}'."
        )
