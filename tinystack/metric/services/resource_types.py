"""Resource types: the attributes a type's resources carry (``generic`` has none), and
the checking of a resource's attributes against them. Ceilometer's types (instance,
instance_disk, instance_network_interface, volume, image, network) are created on first
start, as ``ceilometer-upgrade`` does."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tinystack.common.exceptions import BadRequest, Conflict
from tinystack.common.rpc.payload import JSON
from tinystack.common.timeutils import parse_isotime
from tinystack.metric import models
from tinystack.metric.services import _rows
from tinystack.metric.services.deps import Deps
from tinystack.metric.services.records import ResourceTypeRecord

GENERIC = _rows.GENERIC
TYPES = ("string", "uuid", "number", "bool", "datetime")


def _string(required: bool, max_length: int = 255) -> dict[str, JSON]:
    return {"type": "string", "required": required, "min_length": 0, "max_length": max_length}


#: Ceilometer's resource types and their attributes (gnocchi_resources.yaml)
CEILOMETER: dict[str, dict[str, dict[str, JSON]]] = {
    "instance": {
        "display_name": _string(True),
        "flavor_id": _string(True),
        "flavor_name": _string(False),
        "host": _string(True),
        "image_ref": _string(False),
        "server_group": _string(False),
    },
    "instance_disk": {"name": _string(True), "instance_id": {"type": "uuid", "required": True}},
    "instance_network_interface": {
        "name": _string(True),
        "instance_id": {"type": "uuid", "required": True},
    },
    "volume": {"display_name": _string(False), "volume_type": _string(False)},
    "image": {
        "name": _string(False),
        "container_format": _string(False),
        "disk_format": _string(False),
    },
    "network": {},
}


def record(row: models.ResourceType) -> ResourceTypeRecord:
    return ResourceTypeRecord(row.name, dict(row.attributes), row.state)


def _check_schema(attributes: dict[str, dict[str, JSON]]) -> dict[str, dict[str, JSON]]:
    checked: dict[str, dict[str, JSON]] = {}
    for name, spec in attributes.items():
        if spec.get("type") not in TYPES:
            raise BadRequest(f"Invalid input: attribute {name} needs a type among {TYPES}")
        checked[name] = {"required": False, **spec}
    return checked


def create(deps: Deps, name: str, attributes: dict[str, dict[str, JSON]]) -> ResourceTypeRecord:
    schema = _check_schema(attributes)

    def tx(session: Session) -> ResourceTypeRecord:
        if session.get(models.ResourceType, name) is not None:
            raise Conflict(f"Resource type {name} already exists")
        row = models.ResourceType(name=name, attributes=schema, state="active")
        session.add(row)
        return record(row)

    return deps.db.write(tx)


def get(deps: Deps, name: str) -> ResourceTypeRecord:
    with deps.db.reader() as session:
        return record(_rows.resource_type(session, name))


def list_all(deps: Deps) -> list[ResourceTypeRecord]:
    with deps.db.reader() as session:
        rows = session.scalars(select(models.ResourceType).order_by(models.ResourceType.name))
        return [record(r) for r in rows]


def delete(deps: Deps, name: str) -> None:
    if name == GENERIC:
        raise BadRequest("Resource type generic cannot be deleted")

    def tx(session: Session) -> None:
        row = _rows.resource_type(session, name)
        if session.scalar(select(func.count()).where(models.Resource.type == name)):
            raise BadRequest(f"Resource type {name} is still in use")
        session.delete(row)

    deps.db.write(tx)


def ensure_defaults(deps: Deps) -> None:
    for name, attributes in {GENERIC: {}, **CEILOMETER}.items():
        try:
            create(deps, name, attributes)
        except Conflict:
            pass


def _valid(kind: object, value: object) -> bool:
    if value is None:
        return True
    if kind == "string":
        return isinstance(value, str)
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "bool":
        return isinstance(value, bool)
    try:
        if kind == "uuid":
            uuid.UUID(str(value))
        elif kind == "datetime":
            parse_isotime(str(value))
    except ValueError:
        return False
    return True


def check_attributes(
    rtype: models.ResourceType, given: dict[str, JSON], *, creating: bool
) -> dict[str, JSON]:
    """The type's attributes out of ``given``; 400 for a missing required one, a wrong
    type or an attribute the type does not have."""
    schema: dict[str, dict[str, Any]] = rtype.attributes
    unknown = sorted(set(given) - set(schema))
    if unknown:
        raise BadRequest(f"Invalid input: extra keys not allowed @ data['{unknown[0]}']")
    for name, spec in schema.items():
        if creating and spec.get("required") and given.get(name) is None:
            raise BadRequest(f"Invalid input: required key not provided @ data['{name}']")
        if name in given and not _valid(spec.get("type"), given[name]):
            raise BadRequest(f"Invalid input: expected {spec.get('type')} for {name}")
    return {name: given[name] for name in schema if name in given}
