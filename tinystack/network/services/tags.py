"""Tags of any taggable resource (``/v2.0/{resources}/{id}/tags``)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from tinystack.common.exceptions import NotFound
from tinystack.network import models
from tinystack.network.exception import invalid_input
from tinystack.network.services.standard_attrs import get_row, set_tags

if TYPE_CHECKING:
    from tinystack.network.services.deps import Deps

#: resource name -> its table (the taggable resources)
TABLES: dict[str, Any] = {
    "network": models.Network,
    "subnet": models.Subnet,
    "port": models.Port,
    "router": models.Router,
    "floatingip": models.FloatingIP,
    "security_group": models.SecurityGroup,
    "subnetpool": models.SubnetPool,
    "address_scope": models.AddressScope,
    "segment": models.NetworkSegment,
}
MAX_TAG_LENGTH = 255
_BAD = re.compile(r"[,/]")


def check_tag(tag: Any) -> str:
    if not isinstance(tag, str) or not tag or len(tag) > MAX_TAG_LENGTH or _BAD.search(tag):
        raise invalid_input(f"'{tag}' is not a valid tag")
    return tag


def check_tags(tags: Any) -> list[str]:
    if not isinstance(tags, list):
        raise invalid_input(f"'{tags}' is not a list")
    return [check_tag(t) for t in tags]


def _row(session: Session, resource: str, resource_id: str) -> Any:
    return get_row(session, TABLES[resource], resource, resource_id)


class Tags:
    """Tag operations on ``resource`` (a key of :data:`TABLES`); the API authorized them."""

    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    def list_items(self, resource: str, resource_id: str) -> list[str]:
        with self.deps.db.reader() as session:
            return list(_row(session, resource, resource_id).tags or [])

    def has(self, resource: str, resource_id: str, tag: str) -> None:
        if tag not in self.list_items(resource, resource_id):
            raise NotFound(f"Tag {tag} could not be found for {resource_id}.", code="TagNotFound")

    def replace(self, resource: str, resource_id: str, tags: Any) -> list[str]:
        clean = check_tags(tags)

        def tx(session: Session) -> list[str]:
            row = _row(session, resource, resource_id)
            set_tags(row, clean)
            return list(row.tags)

        return self.deps.db.write(tx)

    def add(self, resource: str, resource_id: str, tag: str) -> None:
        check_tag(tag)

        def tx(session: Session) -> None:
            row = _row(session, resource, resource_id)
            if tag not in (row.tags or []):
                set_tags(row, [*(row.tags or []), tag])

        self.deps.db.write(tx)

    def remove(self, resource: str, resource_id: str, tag: str) -> None:
        def tx(session: Session) -> None:
            row = _row(session, resource, resource_id)
            if tag not in (row.tags or []):
                raise NotFound(
                    f"Tag {tag} could not be found for {resource_id}.", code="TagNotFound"
                )
            set_tags(row, [t for t in row.tags if t != tag])

        self.deps.db.write(tx)

    def clear(self, resource: str, resource_id: str) -> None:
        def tx(session: Session) -> None:
            row = _row(session, resource, resource_id)
            if row.tags:
                set_tags(row, [])

        self.deps.db.write(tx)
