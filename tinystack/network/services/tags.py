"""Tags of any taggable resource (``/v2.0/{resources}/{id}/tags``)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from tinystack.common.exceptions import NotFound
from tinystack.network.exception import invalid_input
from tinystack.network.services.standard_attrs import set_tags

if TYPE_CHECKING:
    from tinystack.network.services.deps import Deps

#: a visible row of the resource, or a 404
Finder = Callable[[Session, str], Any]
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


class Tags:
    """Tag operations; the caller supplies how to find the row and authorize the change."""

    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    def list_items(self, find: Finder, resource_id: str) -> list[str]:
        with self.deps.db.reader() as session:
            return list(find(session, resource_id).tags or [])

    def has(self, find: Finder, resource_id: str, tag: str) -> None:
        if tag not in self.list_items(find, resource_id):
            raise NotFound(f"Tag {tag} could not be found for {resource_id}.", code="TagNotFound")

    def replace(self, find: Finder, resource_id: str, tags: Any) -> list[str]:
        clean = check_tags(tags)

        def tx(session: Session) -> list[str]:
            row = find(session, resource_id)
            set_tags(row, clean)
            return list(row.tags)

        return self.deps.db.write(tx)

    def add(self, find: Finder, resource_id: str, tag: str) -> None:
        check_tag(tag)

        def tx(session: Session) -> None:
            row = find(session, resource_id)
            if tag not in (row.tags or []):
                set_tags(row, [*(row.tags or []), tag])

        self.deps.db.write(tx)

    def remove(self, find: Finder, resource_id: str, tag: str) -> None:
        def tx(session: Session) -> None:
            row = find(session, resource_id)
            if tag not in (row.tags or []):
                raise NotFound(
                    f"Tag {tag} could not be found for {resource_id}.", code="TagNotFound"
                )
            set_tags(row, [t for t in row.tags if t != tag])

        self.deps.db.write(tx)

    def clear(self, find: Finder, resource_id: str) -> None:
        def tx(session: Session) -> None:
            row = find(session, resource_id)
            if row.tags:
                set_tags(row, [])

        self.deps.db.write(tx)
