"""The ``/os-services`` API: compute services as records, enable/disable, force down, delete.

A compute service's disabled state is mirrored in placement as the
``COMPUTE_STATUS_DISABLED`` trait of its node (the agent's resource tracker sets it).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from tinystack.common.clients.session import ClientError
from tinystack.common.exceptions import BadRequest, NotFound
from tinystack.compute.agent import resource_tracker
from tinystack.compute.services import availability_zones, hosts
from tinystack.compute.services.deps import Deps

LOG = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ServiceRecord:
    id: int
    uuid: str
    binary: str
    host: str
    zone: str
    disabled: bool
    up: bool
    updated_at: datetime | None
    disabled_reason: str | None
    forced_down: bool


def _records(deps: Deps, rows: list[hosts.ServiceInfo]) -> list[ServiceRecord]:
    opts = deps.opts
    zones = availability_zones.host_zones(deps.db, opts.default_availability_zone)
    is_up = hosts.service_up_checker(opts)
    found = []
    for svc in rows:
        if svc.binary == hosts.COMPUTE_BINARY:
            zone = zones.get(svc.host, opts.default_availability_zone)
        else:
            zone = opts.internal_service_availability_zone
        found.append(
            ServiceRecord(
                id=svc.id,
                uuid=svc.uuid,
                binary=svc.binary,
                host=svc.host,
                zone=zone,
                disabled=svc.disabled,
                up=is_up(svc),
                updated_at=svc.updated_at,
                disabled_reason=svc.disabled_reason,
                forced_down=svc.forced_down,
            )
        )
    return found


def list_services(deps: Deps, *, host: str | None, binary: str | None) -> list[ServiceRecord]:
    return _records(deps, hosts.list_services(deps.db, host=host, binary=binary))


def _sync_trait(deps: Deps, svc: hosts.ServiceInfo) -> None:
    if svc.binary != hosts.COMPUTE_BINARY:
        return
    node_uuid = hosts.node_uuids(deps.db, [svc.host]).get(svc.host)
    if node_uuid is None:
        return
    try:
        resource_tracker.set_disabled(deps.placement, node_uuid, svc.disabled)
    except ClientError as exc:
        LOG.warning("cannot update the disabled trait of %s: %s", svc.host, exc)


def update(
    deps: Deps,
    service_id: str,
    *,
    disabled: bool | None,
    disabled_reason: str | None,
    forced_down: bool | None,
) -> ServiceRecord:
    """Change a compute service found by id (2.53+: its uuid)."""
    try:
        svc = hosts.get_service(deps.db, service_id)
    except NotFound:
        raise NotFound(f"Service {service_id} not found.") from None
    if svc.binary != hosts.COMPUTE_BINARY:
        raise BadRequest(
            f"Updating a {svc.binary} service is not supported. Only nova-compute services "
            f"can be updated."
        )
    svc = hosts.set_status(
        deps.db,
        str(svc.id),
        disabled=disabled,
        disabled_reason=disabled_reason,
        forced_down=forced_down,
    )
    _sync_trait(deps, svc)
    return _records(deps, [svc])[0]


def legacy_update(
    deps: Deps,
    host: str,
    binary: str,
    action: str,
    *,
    reason: str | None,
    forced_down: bool | None,
    allow_force_down: bool,
) -> None:
    """Before 2.53: ``PUT /os-services/{enable|disable|disable-log-reason|force-down}``."""
    try:
        svc = hosts.find_service(deps.db, host, binary)
    except NotFound:
        raise NotFound("Unknown service") from None
    if action == "enable":
        svc = hosts.set_status(deps.db, str(svc.id), disabled=False)
    elif action in ("disable", "disable-log-reason"):
        if action == "disable-log-reason" and not reason:
            raise BadRequest("Missing disabled reason field")
        svc = hosts.set_status(deps.db, str(svc.id), disabled=True, disabled_reason=reason)
    elif action == "force-down" and allow_force_down:
        if forced_down is None:
            raise BadRequest("Missing forced_down field")
        svc = hosts.set_status(deps.db, str(svc.id), forced_down=forced_down)
    else:
        raise NotFound(f"Unknown action {action}")
    _sync_trait(deps, svc)


def delete(deps: Deps, service_id: str) -> None:
    """Delete a service (a compute one hosting no instance), with its placement provider."""
    found = hosts.get_service(deps.db, service_id)
    node_uuid = hosts.node_uuids(deps.db, [found.host]).get(found.host)
    svc = hosts.delete_service(deps.db, service_id)
    if svc.binary == hosts.COMPUTE_BINARY and node_uuid:
        try:
            deps.placement.delete_provider(node_uuid)
        except ClientError as exc:
            LOG.warning("cannot delete the provider of %s: %s", svc.host, exc)
