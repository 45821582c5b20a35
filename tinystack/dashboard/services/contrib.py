"""Skyline's ``contrib`` lists: enabled domain names, regions, identity per region."""

from __future__ import annotations

from tinystack.dashboard.services import calls
from tinystack.dashboard.services.deps import Deps


def domains(deps: Deps, token: str) -> list[str]:
    """Names of the enabled domains the caller may list (else its own project's)."""
    body = calls.get(deps, "identity", "/auth/domains", token)
    names = [str(d["name"]) for d in body.get("domains", []) if d.get("enabled", True)]
    return names or [deps.opts.default_domain]


def regions(deps: Deps) -> list[str]:
    return [deps.opts.region]


def keystone_endpoints(deps: Deps) -> list[tuple[str, str]]:
    """(region, the identity pass-through path) per region."""
    return [(r, f"/api/openstack/{r.lower()}/keystone") for r in regions(deps)]
