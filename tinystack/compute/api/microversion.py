"""Compute API microversions: the one table, header parsing, response headers.

A request names its version with ``OpenStack-API-Version: compute X.Y`` (2.27+;
it wins over) ``X-OpenStack-Nova-API-Version: X.Y``; no header means 2.1, and
``latest`` the maximum. A malformed version is a 400, one out of range a 406.
Every versioned response says which version it used.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, NamedTuple

from fastapi import Depends
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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


class Version(NamedTuple):
    major: int
    minor: int

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}"

    @classmethod
    def parse(cls, text: str) -> Version:
        major, minor = text.split(".")
        return cls(int(major), int(minor))


MIN_VERSION = Version.parse(VERSIONS[0])
MAX_VERSION = Version.parse(VERSIONS[-1])
_FORMAT = re.compile(r"^([1-9]\d*)\.([1-9]\d*|0)$")
HEADER = "OpenStack-API-Version"
LEGACY_HEADER = "X-OpenStack-Nova-API-Version"
STATE_KEY = "compute_version"


class VersionError(Exception):
    def __init__(self, status: int, message: str) -> None:
        self.status = status
        self.message = message
        super().__init__(message)


def _requested(headers: dict[str, str]) -> str | None:
    new = headers.get(HEADER.lower())
    if new:
        for part in new.split(","):
            words = part.strip().split()
            if len(words) == 2 and words[0].lower() == "compute":
                return words[1]
    legacy = headers.get(LEGACY_HEADER.lower())
    return legacy.strip() if legacy else None


def negotiate(headers: dict[str, str]) -> Version:
    text = _requested(headers)
    if text is None:
        return MIN_VERSION
    if text.lower() == "latest":
        return MAX_VERSION
    match = _FORMAT.match(text)
    if match is None:
        raise VersionError(
            400,
            f"API Version String {text} is of invalid format. Must be of format MajorNum.MinorNum.",
        )
    version = Version(int(match.group(1)), int(match.group(2)))
    if not MIN_VERSION <= version <= MAX_VERSION:
        raise VersionError(
            406,
            f"Version {version} is not supported by the API. Minimum is {MIN_VERSION} "
            f"and maximum is {MAX_VERSION}.",
        )
    return version


class MicroversionMiddleware:
    """Negotiates the version of every request under the versioned prefix."""

    def __init__(self, app: ASGIApp, prefix: str = "/v2.1/") -> None:
        self.app = app
        self.prefix = prefix

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
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        try:
            version = negotiate(headers)
        except VersionError as exc:
            await _error(send, exc.status, exc.message)
            return
        state = scope.setdefault("state", {})
        state[STATE_KEY] = version
        _strip_project(scope, self.prefix, state)
        extra = [
            (HEADER.encode(), f"compute {version}".encode()),
            (LEGACY_HEADER.encode(), str(version).encode()),
            (b"vary", f"{HEADER}, {LEGACY_HEADER}".encode()),
        ]

        request_id = state.get("request_id")
        if isinstance(request_id, str):
            # nova also names the request id after itself
            extra.append((b"x-compute-request-id", request_id.encode()))

        async def send_with_version(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_version)

    async def _legacy(self, scope: Scope, receive: Receive, send: Send) -> None:
        """``/v2/...``: the v2.0-compatible API, served as 2.1 whatever is asked."""
        state = scope.setdefault("state", {})
        state[STATE_KEY] = MIN_VERSION
        scope["path"] = self.prefix + scope["path"][len(LEGACY_PREFIX) :]
        if scope.get("raw_path"):
            scope["raw_path"] = scope["path"].encode()
        _strip_project(scope, self.prefix, state)
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
    "os-tenant-networks", "",
}  # fmt: skip
URL_PROJECT_KEY = "compute_url_project"


def _strip_project(scope: Scope, prefix: str, state: dict[str, object]) -> None:
    """``/v2.1/{project_id}/servers`` is ``/v2.1/servers`` (project ids in URLs, 2.18)."""
    rest = scope["path"][len(prefix) :]
    first, sep, tail = rest.partition("/")
    if not sep or first in COLLECTIONS:
        return
    state[URL_PROJECT_KEY] = first
    scope["path"] = prefix + tail
    if scope.get("raw_path"):
        scope["raw_path"] = scope["path"].encode()


async def _error(send: Send, status: int, message: str) -> None:
    key = "notAcceptable" if status == 406 else "badRequest"
    body = json.dumps({key: {"code": status, "message": message}}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _version(request: Request) -> Version:
    found = getattr(request.state, STATE_KEY, None)
    return found if isinstance(found, Version) else MIN_VERSION


VersionDep = Annotated[Version, Depends(_version)]
