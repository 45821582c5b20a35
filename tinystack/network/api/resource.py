"""How a resource appears in the API: names, URL, filters, sort keys, create defaults."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Resource:
    """How a resource appears in the API."""

    singular: str
    plural: str
    #: attributes a list may be filtered on
    filters: frozenset[str]
    #: attributes that may be sorted on
    sort_keys: frozenset[str] = frozenset()
    #: create defaults: setting an attribute to its default needs no attribute policy
    defaults: dict[str, Any] = field(default_factory=dict)
    #: resource type in URLs (``security-groups``)
    path: str = ""

    @property
    def url(self) -> str:
        return f"/v2.0/{self.path or self.plural}"
