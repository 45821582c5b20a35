"""Domains, regions and identity endpoints (Skyline's ``contrib``)."""

from __future__ import annotations

from typing import Any

from tinystack.dashboard.api.deps import DepsDep
from tinystack.dashboard.services import contrib


def list_domains(deps: DepsDep) -> list[str]:
    return contrib.domains(deps)


def list_regions(deps: DepsDep) -> list[str]:
    return contrib.regions(deps)


def list_keystone_endpoints(deps: DepsDep) -> list[dict[str, Any]]:
    return [{"region_name": r, "url": url} for r, url in contrib.keystone_endpoints(deps)]
