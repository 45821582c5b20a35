"""Checks on compute request bodies that the pydantic models cannot say alone."""

from __future__ import annotations

from typing import Any

from tinystack.common.exceptions import BadRequest
from tinystack.compute.api.microversion import Version


def body_part(body: Any, key: str) -> dict[str, Any]:
    """``body[key]``, which must be an object."""
    if not isinstance(body, dict) or key not in body:
        raise BadRequest(f"Invalid input for field/attribute {key}. '{key}' is a required property")
    part = body[key]
    if not isinstance(part, dict):
        raise BadRequest(
            f"Invalid input for field/attribute {key}. Value: {part!r}. "
            f"{part!r} is not of type 'object'"
        )
    return part


def unexpected(fields: list[str]) -> BadRequest:
    quoted = ", ".join(repr(f) for f in fields)
    verb = "was" if len(fields) == 1 else "were"
    return BadRequest(f"Additional properties are not allowed ({quoted} {verb} unexpected)")


def gate(part: dict[str, Any], version: Version, rules: dict[str, tuple[int, int]]) -> None:
    """Reject fields not yet (or no longer) part of the API at this version.

    ``rules`` maps a field to its first version; a negative minor marks the
    first version where it is gone (``(2, -57)``: removed in 2.57).
    """
    refused = []
    for name, (major, minor) in rules.items():
        if name not in part:
            continue
        if minor >= 0 and version < (major, minor):
            refused.append(name)
        elif minor < 0 and version >= (major, -minor):
            refused.append(name)
    if refused:
        raise unexpected(refused)
