"""``/extensions``: the API extensions this cloud serves (upstream's descriptors).

Consistency groups and cgsnapshots are not served, so not listed.
"""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from tinystack.common.api.openapi import policies
from tinystack.common.exceptions import NotFound
from tinystack.volume.api.deps import ContextDep
from tinystack.volume.api.rendering import json_response

router = APIRouter(tags=["extensions"])

#: (name, alias, updated, description)
EXTENSIONS = [
    ("AdminActions", "os-admin-actions", "2012-08-25T00:00:00+00:00", "Enable admin actions."),
    ("AvailabilityZones", "os-availability-zone", "2013-06-27T00:00:00+00:00",
     "Describe Availability Zones."),
    ("Backups", "backups", "2012-12-12T00:00:00+00:00", "Backups support."),
    ("Capabilities", "capabilities", "2015-08-31T00:00:00+00:00", "Capabilities support."),
    ("ExtendedServices", "os-extended-services", "2014-01-10T00:00:00-00:00",
     "Extended services support."),
    ("ExtendedSnapshotAttributes", "os-extended-snapshot-attributes",
     "2012-06-19T00:00:00+00:00", "Extended SnapshotAttributes support."),
    ("VolumeTypeEncryption", "encryption", "2013-07-01T00:00:00+00:00",
     "Encryption support for volume types."),
    ("Hosts", "os-hosts", "2011-06-29T00:00:00+00:00", "Admin-only host administration."),
    ("Qos_specs_manage", "qos-specs", "2013-08-02T00:00:00+00:00", "QoS specs support."),
    ("QuotaClasses", "os-quota-class-sets", "2012-03-12T00:00:00+00:00",
     "Quota classes management support."),
    ("Quotas", "os-quota-sets", "2011-08-08T00:00:00+00:00", "Quota management support."),
    ("SchedulerHints", "OS-SCH-HNT", "2013-04-18T00:00:00+00:00",
     "Pass arbitrary key/value pairs to the scheduler."),
    ("Scheduler_stats", "scheduler-stats", "2014-09-07T00:00:00+00:00",
     "Scheduler stats support."),
    ("Services", "os-services", "2012-10-28T00:00:00-00:00", "Services support."),
    ("SnapshotActions", "os-snapshot-actions", "2013-07-16T00:00:00+00:00",
     "Enable snapshot manager actions."),
    ("SnapshotManage", "os-snapshot-manage", "2014-12-31T00:00:00+00:00",
     "Allows existing backend storage to be 'managed' by Cinder."),
    ("SnapshotUnmanage", "os-snapshot-unmanage", "2014-12-31T00:00:00+00:00",
     "Enable volume unmanage operation."),
    ("TypesExtraSpecs", "os-types-extra-specs", "2011-08-24T00:00:00+00:00",
     "Type extra specs support."),
    ("TypesManage", "os-types-manage", "2011-08-24T00:00:00+00:00", "Types manage support."),
    ("UsedLimits", "os-used-limits", "2013-10-03T00:00:00+00:00",
     "Provide data on limited resources that are being used."),
    ("VolumeActions", "os-volume-actions", "2012-05-31T00:00:00+00:00",
     "Enable volume actions."),
    ("VolumeHostAttribute", "os-vol-host-attr", "2011-11-03T00:00:00+00:00",
     "Expose host as an attribute of a volume."),
    ("VolumeImageMetadata", "os-vol-image-meta", "2012-12-07T00:00:00+00:00",
     "Show image metadata associated with the volume."),
    ("VolumeManage", "os-volume-manage", "2014-02-10T00:00:00+00:00",
     "Allows existing backend storage to be 'managed' by Cinder."),
    ("VolumeMigStatusAttribute", "os-vol-mig-status-attr", "2013-08-08T00:00:00+00:00",
     "Expose migration_status as an attribute of a volume."),
    ("VolumeTenantAttribute", "os-vol-tenant-attr", "2011-11-03T00:00:00+00:00",
     "Expose the internal project_id as an attribute of a volume."),
    ("VolumeTransfer", "os-volume-transfer", "2013-05-29T00:00:00+00:00",
     "Volume transfer management support."),
    ("VolumeTypeAccess", "os-volume-type-access", "2014-06-26T00:00:00Z",
     "Volume type access support."),
    ("VolumeUnmanage", "os-volume-unmanage", "2012-05-31T00:00:00+00:00",
     "Enable volume unmanage operation."),
]  # fmt: skip


def _view(name: str, alias: str, updated: str, description: str) -> dict[str, object]:
    return {
        "alias": alias,
        "description": description,
        "links": [],
        "name": name,
        "updated": updated,
    }


# Cinder authorizes no rule here: any valid token may read the list.
@router.get("/extensions", openapi_extra=policies())
def list_extensions(ctx: ContextDep) -> Response:
    del ctx
    return json_response({"extensions": [_view(*ext) for ext in EXTENSIONS]})


@router.get("/extensions/{alias}", openapi_extra=policies())
def show_extension(alias: str, ctx: ContextDep) -> Response:
    del ctx
    for ext in EXTENSIONS:
        if ext[1] == alias:
            return json_response({"extension": _view(*ext)})
    raise NotFound("Extension could not be found.")
