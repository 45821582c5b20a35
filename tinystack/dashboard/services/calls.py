"""The dashboard's calls to the cloud's services with the session's token: one place that
turns a service's error into the dashboard's (same status, the service's message)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tinystack.common.clients.session import ClientError
from tinystack.dashboard.exception import ServiceFailed
from tinystack.dashboard.services.deps import Deps

#: the microversions Skyline's API server speaks (its constants)
VERSIONS = {"compute": "compute 2.79", "block-storage": "volume 3.59"}


def get(
    deps: Deps,
    service_type: str,
    path: str,
    token: str,
    params: Mapping[str, object] | list[tuple[str, object]] | None = None,
) -> Any:
    headers = {"OpenStack-API-Version": VERSIONS[service_type]} if service_type in VERSIONS else {}
    try:
        response = deps.session.request(
            service_type, "GET", path, params=params, headers=headers, token=token
        )
    except ClientError as exc:
        raise ServiceFailed(exc.status, f"{service_type}: {exc.message}") from exc
    return response.json()
