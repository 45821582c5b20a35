"""Block Storage v3 microversions and URLs: the table, cinder's header dialect, and
project ids in URLs (optional, 3.67).

A request names its version with ``OpenStack-API-Version: volume 3.x`` (or ``latest``;
the older ``OpenStack-Volume-microversion: 3.x`` is read too); no header means 3.0. A
malformed version is a 400, one outside 3.0-3.71 a 406. Every response under ``/v3/``
says which version it used.

``/v3/{project_id}/volumes`` and ``/v3/volumes`` are the same route: as upstream's
mapper, a first segment of hex digits and dashes is a project id; it is taken out of
the path (kept in the scope state) before routing, and must be the token's project.
"""

from __future__ import annotations

import json
import re
from typing import Annotated

from fastapi import Depends
from starlette.types import ASGIApp, Receive, Scope, Send

from tinystack.common.api.microversion import (
    HeaderGrammar,
    Microversions,
    Version,
    VersionError,
    strip_url_project,
)
from tinystack.common.api.microversion import MicroversionMiddleware as CommonMiddleware

__all__ = [
    "HEADER", "LEGACY_HEADER", "MAX_VERSION", "MIN_VERSION", "MicroversionMiddleware",
    "URL_PROJECT_KEY", "VERSIONS", "VOLUME", "Version", "VersionDep", "VersionError",
]  # fmt: skip

# One entry per microversion, oldest first. Say what changed.
VERSIONS = [
    "3.0",  # the v3 API: every v2 API and extension
    "3.1",  # visibility and protected at os-volume_upload_image
    "3.2",  # the bootable filter takes booleans
    "3.3",  # user messages
    "3.4",  # glance_metadata filter of volume lists
    "3.5",  # message pagination
    "3.6",  # empty names and descriptions
    "3.7",  # clusters; cluster_name of services
    "3.8",  # manageable volumes and snapshots
    "3.9",  # backup update
    "3.10",  # group_id filter of volume lists
    "3.11",  # group types and group specs
    "3.12",  # volume summary
    "3.13",  # generic volume groups
    "3.14",  # group snapshots; groups from a source
    "3.15",  # Etag on volume metadata
    "3.16",  # volume migration to a cluster
    "3.17",  # manageable lists by cluster
    "3.18",  # backup project attribute
    "3.19",  # group snapshot reset_status
    "3.20",  # group reset_status
    "3.21",  # provider_id in admin volume details
    "3.22",  # snapshot metadata filter
    "3.23",  # volume delete force
    "3.24",  # workers/cleanup
    "3.25",  # volumes of groups
    "3.26",  # failover action; cluster filters
    "3.27",  # the attachments API
    "3.28",  # get_pools filters
    "3.29",  # group snapshot filters, sort and pagination
    "3.30",  # snapshot sort by name
    "3.31",  # configurable resource filters
    "3.32",  # service set-log and get-log
    "3.33",  # resource_filters API
    "3.34",  # like filters
    "3.35",  # volume_type filter of get_pools
    "3.36",  # metadata in the volume summary
    "3.37",  # backup sort by name
    "3.38",  # replication groups
    "3.39",  # project_id filter of limits
    "3.40",  # revert to snapshot
    "3.41",  # user_id of snapshots
    "3.42",  # extend in-use volumes
    "3.43",  # backup metadata
    "3.44",  # attachment complete
    "3.45",  # count in volume, snapshot and backup lists
    "3.46",  # volumes from Nova's zero-size images
    "3.47",  # volumes from backups
    "3.48",  # shared_targets and service_uuid of volumes
    "3.49",  # backend state in service lists
    "3.50",  # multiattach
    "3.51",  # cross-AZ backups
    "3.52",  # RESKEY:availability_zones; type filters
    "3.53",  # schema validation of request bodies
    "3.54",  # attachment mode
    "3.55",  # transfers with snapshots
    "3.56",  # user_id of backups
    "3.57",  # transfer source/destination project and accepted
    "3.58",  # project_id of groups
    "3.59",  # transfer pagination
    "3.60",  # created_at/updated_at filters with comparisons
    "3.61",  # cluster_name in admin volume details
    "3.62",  # default volume types per project
    "3.63",  # volume_type_id in volume details
    "3.64",  # encryption_key_id in volume and backup details
    "3.65",  # consumes_quota of volumes and snapshots
    "3.66",  # snapshots of in-use volumes without force
    "3.67",  # project ids optional in URLs
    "3.68",  # re-image
    "3.69",  # shared_targets may be null
    "3.70",  # encrypted volume transfers
    "3.71",  # os-extend_volume_completion
]

HEADER = "OpenStack-API-Version"
LEGACY_HEADER = "OpenStack-Volume-microversion"
STATE_KEY = "volume_version"
URL_PROJECT_KEY = "volume_url_project"
#: upstream's ``project_id_regex``: a URL's first segment that is a project id
PROJECT_ID = re.compile(r"^[0-9a-f\-]+$")

#: as cinder reads it: header lines folded, the first ``volume X.Y`` item wins
CINDER = HeaderGrammar(
    last_line_only=False,
    first_item_wins=True,
    exact_items=True,
    latest_any_case=False,
    syntax=re.compile(r"^([1-9]\d*)\.([1-9]\d*|0)$"),
)


def _error_body(versions: Microversions, exc: VersionError, request_id: str) -> bytes:
    if exc.status == 406:
        # cinder's fault names know no 406: it answers computeFault
        key = "computeFault"
        message = (
            f"Version {exc.version} is not supported by the API. Minimum is "
            f"{versions.minimum} and maximum is {versions.maximum}."
        )
    else:
        key = "badRequest"
        message = (
            f"API Version String {exc.requested} is of invalid format. Must be of format "
            "MajorNum.MinorNum."
        )
    return json.dumps({key: {"code": exc.status, "message": message}}).encode()


VOLUME = Microversions(
    service_type="volume",
    versions=tuple(VERSIONS),
    error_body=_error_body,
    grammar=CINDER,
    header=HEADER,
    legacy_header=LEGACY_HEADER,
    state_key=STATE_KEY,
)
MIN_VERSION = VOLUME.minimum
MAX_VERSION = VOLUME.maximum


class MicroversionMiddleware:
    """Negotiates the version of every request under ``/v3/`` and takes the project id
    out of its path."""

    def __init__(self, app: ASGIApp, prefix: str = "/v3/") -> None:
        self.app = app
        self.prefix = prefix
        self.versioned = CommonMiddleware(app, VOLUME)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        strip_url_project(scope, self.prefix, URL_PROJECT_KEY, _is_project)
        await self.versioned(scope, receive, send)


def _is_project(first: str, more: bool) -> bool:
    """``/v3/{project_id}/volumes`` is ``/v3/volumes`` (``/v3/{project_id}`` is ``/v3/``)."""
    del more
    return PROJECT_ID.match(first) is not None


VersionDep = Annotated[Version, Depends(VOLUME.current)]
