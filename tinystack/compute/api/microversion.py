"""Compute API microversions: the table and URL handling; the rest is common.

:mod:`tinystack.common.api.microversion` negotiates; this module configures it for
compute (nova's header dialect, the legacy header, nova's error bodies) and adds what
only compute has: the ``/v2/`` API and project ids in URLs.

A request names its version with ``OpenStack-API-Version: compute X.Y`` (2.27+;
it wins over) ``X-OpenStack-Nova-API-Version: X.Y``; no header means 2.1, and
``latest`` the maximum. A malformed version is a 400, one out of range a 406.
Every versioned response says which version it used.
"""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import Depends
from starlette.types import ASGIApp, Receive, Scope, Send

from tinystack.common.api.microversion import (
    NOVA,
    Microversions,
    Version,
    VersionError,
    strip_url_project,
)
from tinystack.common.api.microversion import MicroversionMiddleware as CommonMiddleware

__all__ = [
    "COLLECTIONS", "COMPUTE", "HEADER", "LEGACY_HEADER", "MAX_VERSION", "MIN_VERSION",
    "MicroversionMiddleware", "URL_PROJECT_KEY", "VERSIONS", "Version", "VersionDep",
    "VersionError", "negotiate",
]  # fmt: skip

# One entry per microversion, oldest first. Say what changed.
VERSIONS = [
    "2.1",  # the v2.1 API (v2.0 with strict validation)
    "2.2",  # keypair type (ssh, x509); create 201, delete 204
    "2.3",  # more OS-EXT-SRV-ATTR attributes; delete_on_termination of volumes
    "2.4",  # os-fixed-ips reserved (proxy, not served)
    "2.5",  # ip6 server filter for non-admins
    "2.6",  # POST /servers/{id}/remote-consoles
    "2.7",  # 409 adding access to a public flavor
    "2.8",  # mks console protocol
    "2.9",  # locked in server views
    "2.10",  # admins manage other users' key pairs (user_id)
    "2.11",  # os-services forced_down
    "2.12",  # net_id in os-virtual-interfaces
    "2.13",  # project_id and user_id of server groups
    "2.14",  # evacuate without onSharedStorage
    "2.15",  # soft-affinity and soft-anti-affinity server groups
    "2.16",  # host_status in server views
    "2.17",  # trigger_crash_dump action
    "2.18",  # project id optional in URLs
    "2.19",  # server description
    "2.20",  # volume attach/detach on shelved servers
    "2.21",  # instance actions of deleted servers
    "2.22",  # force_complete of live migrations
    "2.23",  # server migrations API; migration_type in os-migrations
    "2.24",  # abort a live migration
    "2.25",  # block_migration auto for live migration
    "2.26",  # server tags
    "2.27",  # the OpenStack-API-Version header
    "2.28",  # hypervisor cpu_info as an object
    "2.29",  # evacuate force
    "2.30",  # live migration force
    "2.31",  # console auth tokens for every console type
    "2.32",  # device tags on networks and block devices at boot
    "2.33",  # hypervisor list pagination
    "2.34",  # asynchronous live migration checks
    "2.35",  # key pair pagination
    "2.36",  # proxy APIs deprecated; network quotas hidden
    "2.37",  # networks auto/none (required)
    "2.38",  # 400 for an invalid status filter
    "2.39",  # image-metadata proxy deprecated; maxImageMeta gone from limits
    "2.40",  # simple tenant usage pagination
    "2.41",  # aggregate uuid
    "2.42",  # device tags at boot again
    "2.43",  # os-hosts deprecated
    "2.44",  # multinic, floating IP actions and virtual interfaces deprecated
    "2.45",  # createImage/createBackup return image_id in the body
    "2.46",  # request ids in responses
    "2.47",  # flavor embedded in server views
    "2.48",  # standard server diagnostics
    "2.49",  # tagged volume and interface attach
    "2.50",  # server_groups and server_group_members in quota classes
    "2.51",  # volume-extended event; event details for non-admins
    "2.52",  # tags at server create
    "2.53",  # service and hypervisor uuids
    "2.54",  # key_name at rebuild
    "2.55",  # flavor description
    "2.56",  # migrate to a given host
    "2.57",  # user_data at rebuild; personality and file quotas gone
    "2.58",  # instance action pagination and changes-since
    "2.59",  # migration pagination and changes-since; migration uuid
    "2.60",  # multiattach volumes
    "2.61",  # flavor extra_specs in flavor views
    "2.62",  # host and hostId of instance action events
    "2.63",  # trusted image certificates
    "2.64",  # server group policy and rules
    "2.65",  # abort queued live migrations
    "2.66",  # changes-before
    "2.67",  # volume_type in block_device_mapping_v2
    "2.68",  # forced live migration and evacuate removed
    "2.69",  # minimal views for down cells
    "2.70",  # device tags in os-interface and volume attachments
    "2.71",  # server_groups in server show, update and rebuild
    "2.72",  # ports with resource requests at create
    "2.73",  # lock reason; locked filter
    "2.74",  # host and hypervisor_hostname at create
    "2.75",  # API cleanup: 400 for unknown query params, consistent server views
    "2.76",  # power-update event
    "2.77",  # availability_zone at unshelve
    "2.78",  # server topology
    "2.79",  # delete_on_termination of volume attachments
    "2.80",  # user_id and project_id of migrations
    "2.81",  # image cache by aggregate
    "2.82",  # accelerator-request-bound event
    "2.83",  # more server filters for non-admins
    "2.84",  # details of instance action events
    "2.85",  # update delete_on_termination of a volume attachment
    "2.86",  # flavor extra spec validation
    "2.87",  # rescue boot-from-volume servers
    "2.88",  # hypervisor statistics and uptime gone
    "2.89",  # volume attachment ids
    "2.90",  # hostname at create, update and rebuild
    "2.91",  # unshelve to a host; unpin the availability zone
    "2.92",  # key pairs imported only; wider key pair names
    "2.93",  # rebuild volume-backed servers
    "2.94",  # FQDN host names
    "2.95",  # evacuate leaves the server stopped
    "2.96",  # pinned_availability_zone in server views
]


HEADER = "OpenStack-API-Version"
LEGACY_HEADER = "X-OpenStack-Nova-API-Version"
STATE_KEY = "compute_version"


def _error_body(versions: Microversions, exc: VersionError, request_id: str) -> bytes:
    if exc.status == 406:
        key = "notAcceptable"
        message = (
            f"Version {exc.version} is not supported by the API. Minimum is "
            f"{versions.minimum} and maximum is {versions.maximum}."
        )
    else:
        key = "badRequest"
        message = (
            f"API Version String {exc.requested} is of invalid format. "
            "Must be of format MajorNum.MinorNum."
        )
    return json.dumps({key: {"code": exc.status, "message": message}}).encode()


COMPUTE = Microversions(
    service_type="compute",
    versions=tuple(VERSIONS),
    error_body=_error_body,
    grammar=NOVA,
    header=HEADER,
    legacy_header=LEGACY_HEADER,
    state_key=STATE_KEY,
)
MIN_VERSION = COMPUTE.minimum
MAX_VERSION = COMPUTE.maximum


def negotiate(headers: dict[str, str]) -> Version:
    """The version asked for by (lower-cased) request headers; VersionError if none."""
    values = [headers[HEADER.lower()]] if HEADER.lower() in headers else []
    legacy = [headers[LEGACY_HEADER.lower()]] if LEGACY_HEADER.lower() in headers else []
    return COMPUTE.negotiate(values, legacy)


def _request_id(scope: Scope) -> list[tuple[bytes, bytes]]:
    request_id = scope.get("state", {}).get("request_id")
    if isinstance(request_id, str):
        # nova also names the request id after itself
        return [(b"x-compute-request-id", request_id.encode())]
    return []


class MicroversionMiddleware:
    """Negotiates the version of every request under the versioned prefix.

    ``/v2/...`` is served as 2.1 without negotiation; ``/v2.1/{project_id}/...`` loses
    its project id (kept in the scope state) before routing.
    """

    def __init__(self, app: ASGIApp, prefix: str = "/v2.1/") -> None:
        self.app = app
        self.prefix = prefix
        self.versioned = CommonMiddleware(app, COMPUTE, extra_headers=_request_id)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"].startswith(LEGACY_PREFIX) and scope["path"] != LEGACY_PREFIX:
            await self._legacy(scope, receive, send)
            return
        if not scope["path"].startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        strip_url_project(scope, self.prefix, URL_PROJECT_KEY, _is_project)
        await self.versioned(scope, receive, send)

    async def _legacy(self, scope: Scope, receive: Receive, send: Send) -> None:
        """``/v2/...``: the v2.0-compatible API, served as 2.1 whatever is asked."""
        state = scope.setdefault("state", {})
        state[STATE_KEY] = MIN_VERSION
        scope["path"] = self.prefix + scope["path"][len(LEGACY_PREFIX) :]
        if scope.get("raw_path"):
            scope["raw_path"] = scope["path"].encode()
        strip_url_project(scope, self.prefix, URL_PROJECT_KEY, _is_project)
        await self.app(scope, receive, send)


LEGACY_PREFIX = "/v2/"
#: first path segments the API serves (anything else there is a project id, 2.18)
COLLECTIONS = {
    "servers", "flavors", "os-keypairs", "limits", "os-quota-sets", "os-quota-class-sets",
    "os-availability-zone", "os-hypervisors", "os-services", "os-aggregates",
    "os-server-groups", "os-migrations", "os-simple-tenant-usage",
    "os-server-external-events", "os-console-auth-tokens", "images", "os-hosts",
    "os-instance_usage_audit_log", "extensions", "os-security-groups",
    "os-security-group-rules", "os-floating-ips", "os-floating-ip-pools", "os-networks",
    "os-tenant-networks", "os-volumes", "os-snapshots", "os-assisted-volume-snapshots", "",
}  # fmt: skip
URL_PROJECT_KEY = "compute_url_project"


def _is_project(first: str, more: bool) -> bool:
    """``/v2.1/{project_id}/servers`` is ``/v2.1/servers`` (project ids in URLs, 2.18)."""
    return more and first not in COLLECTIONS


VersionDep = Annotated[Version, Depends(COMPUTE.current)]
