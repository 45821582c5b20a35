"""Addressing of RPC messages and version compatibility rules."""

from __future__ import annotations

from dataclasses import dataclass


def parse_version(version: str) -> tuple[int, int]:
    """``"1.3"`` -> ``(1, 3)``; a bare major (``"2"``) means minor 0."""
    major, _, minor = version.partition(".")
    try:
        parsed = (int(major), int(minor or 0))
    except ValueError:
        raise ValueError(f"invalid RPC version {version!r}: expected 'MAJOR.MINOR'") from None
    if parsed[0] < 0 or parsed[1] < 0:
        raise ValueError(f"invalid RPC version {version!r}: negative component")
    return parsed


def version_is_compatible(available: str, requested: str) -> bool:
    """True if an endpoint at ``available`` can serve a client asking for ``requested``.

    Same major version and the requested minor no newer than the available one.
    """
    a_major, a_minor = parse_version(available)
    r_major, r_minor = parse_version(requested)
    return a_major == r_major and r_minor <= a_minor


@dataclass(frozen=True)
class Target:
    """Where a message goes (client side) or what a server listens to (server side).

    ``topic``: the service's queue name, e.g. ``"conductor"``.
    ``server``: one server of the topic; a client sets it to address that server only.
    ``fanout``: a client sets it to cast to every server of the topic.
    ``version``: the API version a client requests, or an endpoint implements.
    """

    topic: str
    server: str | None = None
    fanout: bool = False
    version: str = "1.0"

    def __post_init__(self) -> None:
        # The topic is checked by clients and servers: an endpoint's own ``target``
        # only states a version and may leave the topic empty.
        parse_version(self.version)
