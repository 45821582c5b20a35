"""The frozen records the dashboard's service layer returns.

The console wants JSON documents shaped as Skyline's (and, for the pass-through, exactly
what the service answered), so several records carry a JSON object as a read-only
mapping rather than a typed tree: they are rendered, never interpreted, above here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

#: a JSON object the dashboard renders as is
Document = Mapping[str, object]


@dataclass(frozen=True, slots=True)
class Session:
    """What the signed cookie holds: the Keystone token, its region, expiry and id."""

    token: str
    region: str
    expires: int
    uuid: str


@dataclass(frozen=True, slots=True)
class Profile:
    """Skyline's profile: the session and who it is, with the endpoints map."""

    session: Session
    document: Document


@dataclass(frozen=True, slots=True)
class PolicyResult:
    rule: str
    allowed: bool


@dataclass(frozen=True, slots=True)
class Listing:
    """One page of a joined list: its items (rendered Skyline-style) and, where the
    service counts them, the total."""

    items: tuple[Document, ...]
    count: int | None = None


@dataclass(frozen=True, slots=True)
class Forwarded:
    """A pass-through answer: the service's status, headers and body, unchanged."""

    status: int
    headers: tuple[tuple[str, str], ...]
    content: bytes
