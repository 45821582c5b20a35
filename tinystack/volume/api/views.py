"""Records rendered into the Block Storage API's JSON, per microversion and policy."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from tinystack.common.auth.context import RequestContext
from tinystack.volume.api.deps import Version, url_project
from tinystack.volume.api.rendering import cinder_time, links
from tinystack.volume.services.records import (
    MessageRecord,
    QoSSpecsRecord,
    VolumeRecord,
    VolumeTypeRecord,
)

HOST_ATTR = "volume_extension:volume_host_attribute"
TENANT_ATTR = "volume_extension:volume_tenant_attribute"
MIG_ATTR = "volume_extension:volume_mig_status_attribute"
IMAGE_META = "volume_extension:volume_image_metadata:show"
TYPE_SPECS = "volume_extension:access_types_extra_specs"
TYPE_SENSITIVE = "volume_extension:types_extra_specs:read_sensitive"
TYPE_QOS = "volume_extension:access_types_qos_specs_id"
TYPE_ACCESS = "volume_extension:volume_type_access"
#: extra specs anyone who may read a type sees
USER_VISIBLE_SPECS = ("RESKEY:availability_zones", "multiattach", "replication_enabled")
#: admin metadata shown in ``metadata``
#: admin metadata shown in ``metadata`` (shadowing a user's key of the same name):
#: ``extend_new_size`` is what compute reads of an extend waiting for it (3.71)
VISIBLE_ADMIN_METADATA = ("readonly", "attached_mode", "extend_new_size")
#: transitional statuses shown as upstream shows them
SHOWN_STATUS = {"managing": "creating", "error_managing": "error",
                "error_managing_deleting": "deleting"}  # fmt: skip


def volume_summary(request: Request, volume: VolumeRecord) -> dict[str, Any]:
    return {
        "id": volume.id,
        "name": volume.name,
        "links": links(request, url_project(request), "volumes", volume.id),
    }


def _attachments(ctx: RequestContext, volume: VolumeRecord) -> list[dict[str, Any]]:
    found = []
    for att in volume.attachments:
        if att.attach_status != "attached":
            continue
        found.append(
            {
                "id": volume.id,
                "attachment_id": att.id,
                "volume_id": volume.id,
                "server_id": att.instance_uuid,
                "host_name": att.attached_host if (ctx.is_admin or "service" in ctx.roles)
                else None,
                "device": att.mountpoint,
                "attached_at": cinder_time(att.attach_time),
            }
        )  # fmt: skip
    return found


def volume_detail(
    request: Request,
    ctx: RequestContext,
    volume: VolumeRecord,
    version: Version,
    *,
    extended: bool = True,
) -> dict[str, Any]:
    """A volume's detail; ``extended``: with the attributes upstream's extensions add to
    GET responses (host, tenant, migration status, image metadata) where policy allows."""
    metadata = dict(volume.metadata)
    for key in VISIBLE_ADMIN_METADATA:
        if key in volume.admin_metadata:
            metadata[key] = volume.admin_metadata[key]
    view: dict[str, Any] = {
        "id": volume.id,
        "status": SHOWN_STATUS.get(volume.status, volume.status),
        "size": volume.size,
        "availability_zone": volume.availability_zone,
        "created_at": cinder_time(volume.created_at),
        "updated_at": cinder_time(volume.updated_at),
        "name": volume.name,
        "description": volume.description,
        "volume_type": volume.volume_type_name
        if version >= (3, 63) or volume.volume_type_name
        else volume.volume_type_id,
        "snapshot_id": volume.snapshot_id,
        "source_volid": volume.source_volid,
        "metadata": metadata,
        "links": links(request, url_project(request), "volumes", volume.id),
        "user_id": volume.user_id,
        "bootable": str(volume.bootable).lower(),
        "encrypted": volume.encryption_key_id is not None,
        "replication_status": volume.replication_status,
        "consistencygroup_id": volume.consistencygroup_id,
        "multiattach": volume.multiattach,
        "attachments": _attachments(ctx, volume),
    }
    if ctx.is_admin:
        view["migration_status"] = volume.migration_status
    if version >= (3, 13):
        view["group_id"] = volume.group_id
    if ctx.is_admin and version >= (3, 21):
        view["provider_id"] = volume.provider_id
    if version >= (3, 48):
        view["shared_targets"] = volume.shared_targets
        view["service_uuid"] = volume.service_uuid
    if ctx.is_admin and version >= (3, 61):
        view["cluster_name"] = volume.cluster_name
    if version >= (3, 63):
        view["volume_type_id"] = volume.volume_type_id
    if version >= (3, 64) and volume.encryption_key_id:
        view["encryption_key_id"] = volume.encryption_key_id
    if version >= (3, 65):
        view["consumes_quota"] = volume.use_quota
    if extended:
        _extension_attributes(ctx, volume, view)
    return view


def _extension_attributes(ctx: RequestContext, volume: VolumeRecord, view: dict[str, Any]) -> None:
    target = {"project_id": volume.project_id}
    if ctx.allowed(HOST_ATTR, target):
        view["os-vol-host-attr:host"] = volume.host
    if ctx.allowed(TENANT_ATTR, target):
        view["os-vol-tenant-attr:tenant_id"] = volume.project_id
    if ctx.allowed(MIG_ATTR, target):
        view["os-vol-mig-status-attr:migstat"] = volume.migration_status
        view["os-vol-mig-status-attr:name_id"] = None
    if volume.image_metadata and ctx.allowed(IMAGE_META, target):
        view["volume_image_metadata"] = dict(volume.image_metadata)


# -- volume types -----------------------------------------------------------------------------
def volume_type(ctx: RequestContext, vtype: VolumeTypeRecord) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": vtype.id,
        "name": vtype.name,
        "is_public": vtype.is_public,
        "description": vtype.description,
    }
    if ctx.allowed(TYPE_SPECS, {"project_id": ctx.project_id}):
        view["extra_specs"] = visible_specs(ctx, vtype.extra_specs)
    if ctx.allowed(TYPE_QOS, {"project_id": ctx.project_id}):
        view["qos_specs_id"] = vtype.qos_specs_id
    if ctx.allowed(TYPE_ACCESS, {"project_id": ctx.project_id}):
        view["os-volume-type-access:is_public"] = vtype.is_public
    return view


def volume_type_managed(vtype: VolumeTypeRecord, *, created: bool) -> dict[str, Any]:
    """A type as the admin's create and update answer it (upstream's older view: every
    extra spec, no QoS id; the access extension adds its flag to creates only)."""
    view: dict[str, Any] = {
        "id": vtype.id,
        "name": vtype.name,
        "is_public": vtype.is_public,
        "extra_specs": dict(vtype.extra_specs),
        "description": vtype.description,
    }
    if created:
        view["os-volume-type-access:is_public"] = vtype.is_public
    return view


def visible_specs(ctx: RequestContext, specs: dict[str, str]) -> dict[str, str]:
    """All extra specs for those who may read sensitive ones, else the user-visible ones."""
    if ctx.allowed(TYPE_SENSITIVE, {"project_id": ctx.project_id}):
        return dict(specs)
    return {key: value for key, value in specs.items() if key in USER_VISIBLE_SPECS}


# -- QoS specs and messages -------------------------------------------------------------------
def qos_specs(request: Request, qos: QoSSpecsRecord) -> dict[str, Any]:
    return {
        "id": qos.id,
        "name": qos.name,
        "consumer": qos.consumer,
        "specs": dict(qos.specs),
        "links": links(request, url_project(request), "qos-specs", qos.id),
    }


def message(request: Request, msg: MessageRecord) -> dict[str, Any]:
    return {
        "request_id": msg.request_id,
        "message_level": msg.message_level,
        "event_id": msg.event_id,
        "created_at": cinder_time(msg.created_at),
        "guaranteed_until": cinder_time(msg.expires_at),
        "resource_uuid": msg.resource_uuid,
        "resource_type": msg.resource_type,
        "user_message": msg.user_message,
        "id": msg.id,
        "links": links(request, url_project(request), "messages", msg.id),
    }
