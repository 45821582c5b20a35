"""``/extensions`` (deprecated): the v2.0-era extension names clients still probe."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.responses import Response

from tinystack.common.api.openapi import policies
from tinystack.common.exceptions import NotFound
from tinystack.compute.api.deps import ContextDep
from tinystack.compute.api.rendering import json_response

router = APIRouter(tags=["extensions"])
RULE = "os_compute_api:extensions"

#: (name, alias, what it adds) for the features this API serves
EXTENSIONS = [
    ("AccessIPs", "os-access-ips", "Access IPv4 and IPv6 addresses of servers."),
    ("AdminActions", "os-admin-actions", "Administrative server actions."),
    ("AdminPassword", "os-admin-password", "Changing a server's password."),
    ("Aggregates", "os-aggregates", "Host aggregates."),
    ("AttachInterfaces", "os-attach-interfaces", "Attaching and detaching interfaces."),
    ("AvailabilityZone", "os-availability-zone", "Availability zones."),
    ("ConfigDrive", "os-config-drive", "Config drive flag of servers."),
    ("ConsoleOutput", "os-console-output", "Console output of servers."),
    ("Consoles", "os-consoles", "Interactive consoles of servers."),
    ("CreateBackup", "os-create-backup", "Rotated server backups."),
    ("DeferredDelete", "os-deferred-delete", "Force deleting and restoring servers."),
    ("DiskConfig", "os-disk-config", "Disk configuration of servers."),
    ("ExtendedAvailabilityZone", "os-extended-availability-zone", "Zone of each server."),
    ("ExtendedServerAttributes", "os-extended-server-attributes", "Host attributes."),
    ("ExtendedStatus", "os-extended-status", "VM, task and power states."),
    ("ExtendedVolumes", "os-extended-volumes", "Volumes attached to servers."),
    ("FlavorAccess", "os-flavor-access", "Private flavors and their projects."),
    ("FlavorExtraSpecs", "os-flavor-extra-specs", "Flavor extra specs."),
    ("FlavorManage", "os-flavor-manage", "Creating and deleting flavors."),
    ("Hosts", "os-hosts", "Compute hosts."),
    ("Hypervisors", "os-hypervisors", "Hypervisors and their usage."),
    ("InstanceActions", "os-instance-actions", "Actions taken on servers."),
    ("InstanceUsageAuditLog", "os-instance-usage-audit-log", "Usage audit log."),
    ("Keypairs", "os-keypairs", "Key pairs."),
    ("Lock", "os-lock-server", "Locking servers."),
    ("MigrateServer", "os-migrate-server", "Migrating servers."),
    ("Migrations", "os-migrations", "Migrations."),
    ("Multinic", "os-multinic", "Several networks per server."),
    ("PauseServer", "os-pause-server", "Pausing servers."),
    ("QuotaClasses", "os-quota-class-sets", "Quota classes."),
    ("Quotas", "os-quota-sets", "Quotas."),
    ("Rescue", "os-rescue", "Rescuing servers."),
    ("SecurityGroups", "os-security-groups", "Security groups of servers."),
    ("ServerDiagnostics", "os-server-diagnostics", "Diagnostics of servers."),
    ("ServerExternalEvents", "os-server-external-events", "Events from other services."),
    ("ServerGroups", "os-server-groups", "Server groups."),
    ("ServerUsage", "os-server-usage", "Launch and termination times."),
    ("Services", "os-services", "Compute services."),
    ("Shelve", "os-shelve", "Shelving servers."),
    ("SimpleTenantUsage", "os-simple-tenant-usage", "Usage per project."),
    ("SuspendServer", "os-suspend-server", "Suspending servers."),
    ("Servers", "servers", "Servers."),
    ("Flavors", "flavors", "Flavors."),
    ("Images", "images", "Images (a proxy to the image service)."),
    ("ImageMetadata", "image-metadata", "Image metadata."),
    ("Ips", "ips", "Addresses of servers."),
    ("Limits", "limits", "Limits."),
    ("ServerMetadata", "server-metadata", "Server metadata."),
    ("Versions", "versions", "API versions."),
]


def _view(name: str, alias: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "alias": alias,
        "description": description,
        "namespace": "http://docs.openstack.org/compute/ext/fake_xml",
        "updated": "2014-12-03T00:00:00Z",
        "links": [],
    }


@router.get("/extensions", openapi_extra=policies(RULE))
def list_extensions(ctx: ContextDep) -> Response:
    ctx.can(RULE, {})
    return json_response({"extensions": [_view(*e) for e in EXTENSIONS]})


@router.get("/extensions/{alias}", openapi_extra=policies(RULE))
def show_extension(alias: str, ctx: ContextDep) -> Response:
    ctx.can(RULE, {})
    for entry in EXTENSIONS:
        if entry[1] == alias:
            return json_response({"extension": _view(*entry)})
    raise NotFound("The resource could not be found.")
