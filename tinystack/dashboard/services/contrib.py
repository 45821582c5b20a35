"""Skyline's ``contrib`` lists: enabled domain names, regions, identity per region."""

from __future__ import annotations

from tinystack.common.clients.session import ClientError
from tinystack.dashboard.services.deps import Deps


def domains(deps: Deps) -> list[str]:
    """Names of the enabled domains (the login page offers them before anyone logged in:
    read with the dashboard's own service user, as Skyline does with its system user)."""
    try:
        response = deps.session.request("identity", "GET", "/domains", params={"enabled": "true"})
    except ClientError:
        return [deps.opts.default_domain]
    names = [str(d["name"]) for d in response.json().get("domains", [])]
    return names or [deps.opts.default_domain]


def regions(deps: Deps) -> list[str]:
    return [deps.opts.region]


def keystone_endpoints(deps: Deps) -> list[tuple[str, str]]:
    """(region, the identity pass-through path) per region."""
    return [(r, f"/api/openstack/{r.lower()}/keystone") for r in regions(deps)]
