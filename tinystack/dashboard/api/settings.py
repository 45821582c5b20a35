"""Public configuration, SSO (none), and the console's settings."""

from __future__ import annotations

from typing import Any

from tinystack.common.exceptions import NotFound
from tinystack.dashboard.api.deps import DepsDep, SessionContextDep
from tinystack.dashboard.services import settings


def get_config(deps: DepsDep) -> dict[str, Any]:
    return {"default_domain": deps.opts.default_domain, "default_region": deps.opts.region}


def get_sso() -> dict[str, Any]:
    return {"enable_sso": False, "protocols": []}


def list_settings(ctx: SessionContextDep) -> dict[str, Any]:
    return {"settings": [dict(s) for s in settings.all_settings()]}


def show_setting(ctx: SessionContextDep, key: str) -> dict[str, Any]:
    found = settings.one(key)
    if found is None:
        raise NotFound("Not a valid setting key.")
    return dict(found)
