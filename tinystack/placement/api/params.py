"""Parsing the query-string mini-languages: resources, required traits, member_of, in_tree."""

from __future__ import annotations

import re
import uuid as uuidlib

from tinystack.common.exceptions import BadRequest
from tinystack.placement.api.microversion import Version
from tinystack.placement.exception import QUERYPARAM_BAD_VALUE

UUID_PATTERN = r"^[0-9a-fA-F-]{36}$"
RC_PATTERN = r"^[A-Z0-9_]+$"
CUSTOM_PATTERN = r"^CUSTOM_[A-Z0-9_]+$"
CONSUMER_TYPE_PATTERN = RC_PATTERN
_RC = re.compile(RC_PATTERN)
_CUSTOM = re.compile(CUSTOM_PATTERN)


def is_uuid_like(value: str) -> bool:
    """Whether ``value`` parses as a UUID (dashes optional, as oslo's is_uuid_like)."""
    try:
        text = value.lower().replace("urn:", "").replace("uuid:", "").strip("{}")
        return str(uuidlib.UUID(value)).replace("-", "") == text.replace("-", "")
    except (TypeError, ValueError, AttributeError):
        return False


def normalize_uuid(value: str) -> str:
    return str(uuidlib.UUID(value))


def is_resource_class(name: str) -> bool:
    return bool(_RC.match(name))


def is_custom(name: str) -> bool:
    return bool(_CUSTOM.match(name)) and len(name) <= 255


def resources(value: str) -> dict[str, int]:
    """``VCPU:2,MEMORY_MB:1024`` -> {"VCPU": 2, "MEMORY_MB": 1024}."""
    form = "Expected resources query string parameter in form: ?resources=VCPU:2,MEMORY_MB:1024."
    if not value.strip():
        raise BadRequest(f"Badly formed resources parameter. {form} Got: empty string.")
    result = {}
    for item in value.split(","):
        try:
            name, amount_text = item.split(":")
        except ValueError:
            raise BadRequest(f"Badly formed resources parameter. {form} Got: {item}.") from None
        try:
            amount = int(amount_text)
        except ValueError:
            raise BadRequest(
                f"Requested resource {name} expected positive integer amount. Got: {amount_text}."
            ) from None
        if amount < 1:
            raise BadRequest(f"Requested resource {name} requires amount >= 1. Got: {amount}.")
        result[name] = amount
    return result


def _one_required(
    value: str, allow_forbidden: bool, allow_any: bool
) -> tuple[list[set[str]], set[str]]:
    if value.startswith("in:"):
        if not allow_any:
            raise BadRequest(
                "Invalid query string parameters: The format 'in:HW_CPU_X86_VMX,CUSTOM_MAGIC' "
                f"only supported since microversion 1.39. Got: {value}"
            )
        any_of = {t.strip() for t in value[3:].split(",")}
        if not all(any_of):
            raise BadRequest(
                "Invalid query string parameters: Expected 'required' parameter value of the "
                f"form: in:HW_CPU_X86_VMX,CUSTOM_MAGIC. Got an empty trait in: {value}"
            )
        if any(t.startswith("!") for t in any_of):
            raise BadRequest(
                "Invalid query string parameters: The format 'in:HW_CPU_X86_VMX,CUSTOM_MAGIC' "
                f"does not support forbidden traits. Got: {value}"
            )
        return [any_of], set()
    names = [t.strip() for t in value.split(",")]
    forbidden = {t.lstrip("!") for t in names if t.startswith("!")}
    if not all(names) or not all(forbidden):
        form = "HW_CPU_X86_VMX,!CUSTOM_MAGIC" if allow_forbidden else "HW_CPU_X86_VMX,CUSTOM_MAGIC"
        raise BadRequest(
            "Invalid query string parameters: Expected 'required' parameter value of the form: "
            f"{form}. Got an empty trait in: {value}"
        )
    if forbidden and not allow_forbidden:
        raise BadRequest(
            "Invalid query string parameters: Expected 'required' parameter value of the form: "
            f"HW_CPU_X86_VMX,CUSTOM_MAGIC. Got: {value}"
        )
    return [{t} for t in names if not t.startswith("!")], forbidden


def required(values: list[str], version: Version) -> tuple[list[set[str]], set[str]]:
    """Traits: AND of any-of sets, and forbidden ones (``!T`` from 1.22, ``in:`` from 1.39)."""
    allow_forbidden = version.matches("1.22")
    allow_any = version.matches("1.39")
    if not allow_any:
        values = values[-1:]
    all_of: list[set[str]] = []
    forbidden: set[str] = set()
    for value in values:
        more, banned = _one_required(value, allow_forbidden, allow_any)
        all_of += more
        forbidden |= banned
    return all_of, forbidden


def root_required(value: str) -> tuple[set[str], set[str]]:
    """``root_required``: plain and ``!`` traits only (no ``in:``); conflicts are a 400."""
    all_of, forbidden = _one_required(value, allow_forbidden=True, allow_any=False)
    wanted = {t for any_of in all_of for t in any_of}
    conflicts = wanted & forbidden
    if conflicts:
        raise BadRequest(
            "Conflicting required and forbidden traits found in root_required: "
            + ", ".join(sorted(conflicts)),
            code=QUERYPARAM_BAD_VALUE,
        )
    return wanted, forbidden


def member_of(
    values: list[str], version: Version, suffix: str = ""
) -> tuple[list[set[str]], set[str]]:
    """Aggregates: AND of any-of sets (``in:``), and forbidden ones (``!``, ``!in:``; 1.32)."""
    if not version.matches("1.24") and len(values) > 1:
        raise BadRequest(f"Multiple member_of{suffix} parameters are not supported")
    all_of: list[set[str]] = []
    forbidden: set[str] = set()
    for value in values:
        if "," in value and not (value.startswith("in:") or value.startswith("!in:")):
            raise BadRequest(
                "Multiple values for 'member_of' must be prefixed with the 'in:' or '!in:' "
                f"keyword using the valid microversion. Got: {value}"
            )
        wanted: set[str] = set()
        banned: set[str] = set()
        if value.startswith("!in:"):
            banned = set(value[4:].split(","))
        elif value.startswith("!"):
            banned = {value[1:]}
        elif value.startswith("in:"):
            wanted = set(value[3:].split(","))
        else:
            wanted = {value}
        for agg in wanted | banned:
            if not is_uuid_like(agg):
                raise BadRequest(
                    "Invalid query string parameters: Expected 'member_of' parameter to contain "
                    f"valid UUID(s). Got: {agg}"
                )
        if banned and not version.matches("1.32"):
            raise BadRequest(
                f"Forbidden member_of{suffix} parameters are not supported in the specified "
                "microversion"
            )
        if wanted:
            all_of.append(wanted)
        forbidden |= banned
    return all_of, forbidden


def in_tree(value: str) -> str:
    stripped = value.strip()
    if not is_uuid_like(stripped):
        raise BadRequest(
            "Invalid query string parameters: Expected 'in_tree' parameter to be a format of "
            f"uuid. Got: {value}"
        )
    return stripped


def uuid_param(name: str, value: str) -> str:
    if not is_uuid_like(value):
        raise BadRequest(f"Invalid query string parameters: '{value}' is not a '{name}' uuid")
    return value
