"""Server creation: validate references, check quotas, write instances, cast the build."""

from __future__ import annotations

import logging
import random
import re
import string
import uuid as uuidlib
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tinystack.common.clients.session import ClientError
from tinystack.common.exceptions import BadRequest, Conflict, Forbidden
from tinystack.common.rpc.context import CallContext
from tinystack.common.rpc.exceptions import MessagingTimeout, TransportError
from tinystack.common.rpc.payload import JSON
from tinystack.common.timeutils import utcnow
from tinystack.compute import exception, models, states
from tinystack.compute.objects import (
    Destination,
    FlavorMeta,
    ImageMeta,
    RequestSpec,
    ServerGroupMeta,
)
from tinystack.compute.objects import NetworkRequest as NetworkRequest
from tinystack.compute.services import (
    availability_zones,
    block_devices,
    boot_volumes,
    flavors,
    hosts,
    instance_actions,
    quotas,
    server_groups,
    servers,
)
from tinystack.compute.services import instances as _instances
from tinystack.compute.services.deps import Deps
from tinystack.compute.services.flavors import FlavorRecord

LOG = logging.getLogger(__name__)
#: an image as the image service shows it to the caller (Glance's open JSON document)
Image = dict[str, JSON]
_ALNUM = string.ascii_lowercase + string.digits


@dataclass
class CreateRequest:
    name: str
    flavor_ref: str
    image_ref: str | None = None
    #: None (not given), "auto", "none" or explicit requests
    networks: list[NetworkRequest] | str | None = None
    #: the caller asked for "auto" (2.37+), rather than "auto" standing for no networks given
    networks_auto_asked: bool = False
    key_name: str | None = None
    user_data: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    security_groups: list[str] = field(default_factory=list)
    availability_zone: str | None = None
    min_count: int = 1
    max_count: int = 1
    block_device_mapping: list[dict[str, JSON]] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    hostname: str | None = None
    description: str | None = None
    access_ip_v4: str | None = None
    access_ip_v6: str | None = None
    config_drive: bool = False
    admin_password: str | None = None
    scheduler_hints: dict[str, Any] = field(default_factory=dict)
    host: str | None = None
    hypervisor_hostname: str | None = None
    forced_host: str | None = None
    forced_node: str | None = None
    auto_disk_config: bool = False
    trusted_certs: list[str] | None = None
    allow_fqdn_hostname: bool = False
    #: the request's microversion allows multiattach volumes (2.60)
    supports_multiattach: bool = False


@dataclass
class CreateResult:
    instances: list[models.Instance]
    reservation_id: str
    admin_password: str | None


def reservation_id() -> str:
    return "r-" + "".join(random.choices(_ALNUM, k=8))


def sanitize_hostname(name: str, *, allow_fqdn: bool = False, default: str = "") -> str:
    """A DNS-friendly host name from a display name, as upstream derives it."""
    text = name.encode("ascii", "ignore").decode().lower()
    text = re.sub(r"[ _]", "-", text)
    allowed = r"[^a-z0-9.\-]" if allow_fqdn else r"[^a-z0-9\-]"
    text = re.sub(allowed, "", text)
    text = text.strip(".-")
    text = text[: 63 if not allow_fqdn else 255].rstrip(".-")
    return text or default


def _image_id(ref: str | None) -> str | None:
    if not ref:
        return None
    return ref.rstrip("/").rsplit("/", 1)[-1]


def lookup_image(deps: Deps, ctx: CallContext, image_id: str) -> Image:
    """The image as the caller sees it (cached briefly per project)."""
    key = (image_id, ctx.project_id)
    cached = deps.image_cache.get(key)
    if cached is not None:
        return dict(cached)
    if not deps.image.available():
        raise BadRequest("Can not find requested image")
    try:
        image = deps.image.get(image_id, token=ctx.token)
    except ClientError as exc:
        raise BadRequest(f"Image service error: {exc.message}") from exc
    if image is None:
        raise BadRequest("Can not find requested image")
    deps.image_cache.put(key, image)
    return dict(image)


def image_int(image: Image, key: str) -> int:
    """An image's integer attribute (``min_ram``, ``min_disk``, ``size``); 0 when unset."""
    value = image.get(key) or 0
    if isinstance(value, list | dict):
        raise TypeError(f"the image's {key} is not a number")
    return int(value)


def _check_image(image: Image, flavor: FlavorRecord, is_bfv: bool) -> None:
    if image.get("status") != "active":
        raise BadRequest(f"Image {image['id']} is not active.")
    if flavor.memory_mb < image_int(image, "min_ram"):
        raise BadRequest("Flavor's memory is too small for requested image.")
    if is_bfv:
        return
    root_bytes = flavor.root_gb * 1024**3
    min_disk = image_int(image, "min_disk") * 1024**3
    size = image_int(image, "size")
    if flavor.root_gb:
        if size > root_bytes:
            raise BadRequest(
                f"Flavor's disk is too small for requested image. Flavor disk is "
                f"{root_bytes} bytes, image is {size} bytes."
            )
        if min_disk > root_bytes:
            raise BadRequest(
                "Flavor's disk is smaller than the minimum size specified in image metadata. "
                f"Flavor disk is {root_bytes} bytes, minimum size is {min_disk} bytes."
            )


def image_properties(image: Image) -> dict[str, JSON]:
    """An image's additional properties (what is not a core Glance attribute)."""
    core = {
        "id", "name", "status", "visibility", "protected", "os_hidden", "checksum",
        "os_hash_algo", "os_hash_value", "owner", "size", "virtual_size", "min_ram",
        "min_disk", "disk_format", "container_format", "created_at", "updated_at",
        "tags", "self", "file", "schema", "locations", "direct_url", "stores",
    }  # fmt: skip
    return {k: v for k, v in image.items() if k not in core}


def _check_networks(deps: Deps, ctx: CallContext, req: CreateRequest) -> None:
    if not isinstance(req.networks, list) or not req.networks:
        if req.networks == "auto" and deps.network.available():
            _auto_network(deps, ctx, req.networks_auto_asked)
        return
    if not deps.network.available():
        first = req.networks[0]
        if first.port_id:
            raise BadRequest(f"Port id {first.port_id} could not be found.")
        raise BadRequest(f"Network {first.network_id} could not be found.")
    for net in req.networks:
        if net.port_id:
            port = deps.network.get_port(net.port_id, token=ctx.token)
            if port is None:
                raise BadRequest(f"Port id {net.port_id} could not be found.")
            if port.get("device_id"):
                raise Conflict(f"Port {net.port_id} is still in use.")
        elif net.network_id:
            if deps.network.get_network(net.network_id, token=ctx.token) is None:
                raise BadRequest(f"Network {net.network_id} could not be found.")
    if req.max_count > 1 and any(n.port_id or n.fixed_ip for n in req.networks):
        raise BadRequest(
            "Unable to launch multiple instances with a single configured port ID or fixed IP."
        )


def _check_security_groups(deps: Deps, ctx: CallContext, req: CreateRequest) -> None:
    """Requested security groups must exist (when there is a network service)."""
    wanted = [g for g in req.security_groups if g != "default"]
    if not wanted or not deps.network.available():
        return
    groups = deps.network.list_security_groups(token=ctx.token)
    known = {g.get("id") for g in groups} | {g.get("name") for g in groups}
    for name in wanted:
        if name not in known:
            raise BadRequest(f"Security group {name} not found.")


def _auto_network(deps: Deps, ctx: CallContext, asked: bool) -> None:
    project = ctx.project_id or ""
    # what the caller's token lists (an admin's lists every project's networks: upstream
    # counts only the project's own and shared ones; kept, as the suite's admin boots
    # without networks on the demo's network)
    nets = [
        n
        for n in deps.network.list_networks(token=ctx.token)
        if not n.get("router:external") and n.get("status", "ACTIVE") == "ACTIVE"
    ]
    if len(nets) > 1:
        raise exception.NetworkAmbiguous()
    # as upstream: "auto" with nothing to use needs a topology the network service can make
    if asked and not nets and not deps.network.can_auto_allocate(project, token=ctx.token):
        raise BadRequest(f"Unable to automatically allocate a network for project {project}")


def _check_destination(deps: Deps, req: CreateRequest) -> None:
    """A requested host (2.74) or forced host (az:host) must be a compute host."""
    host = req.host or req.forced_host
    node = req.hypervisor_hostname or req.forced_node
    if host:
        try:
            hosts.find_service(deps.db, host, hosts.COMPUTE_BINARY)
        except exception.ComputeHostNotFound as exc:
            raise BadRequest(exc.message) from None
    if node:
        names = {n.hypervisor_hostname for n, _ in hosts.list_nodes(deps.db)}
        if node not in names:
            raise BadRequest(f"Compute host {node} could not be found.")


def _keypair(session: Session, ctx: CallContext, name: str | None) -> models.KeyPair | None:
    if name is None:
        return None
    found = session.scalars(
        select(models.KeyPair).where(
            models.KeyPair.user_id == (ctx.user_id or ""), models.KeyPair.name == name
        )
    ).first()
    if found is None:
        raise BadRequest("Invalid key_name provided.")
    return found


def _build_spec(
    req: CreateRequest,
    ctx: CallContext,
    flavor: FlavorMeta,
    image: Image | None,
    group: ServerGroupMeta | None,
    num: int,
    is_bfv: bool,
) -> RequestSpec:
    networks = req.networks
    return RequestSpec(
        project_id=ctx.project_id or "",
        user_id=ctx.user_id or "",
        flavor=flavor,
        image=ImageMeta(
            id=str(image["id"]),
            properties=image_properties(image),
            min_ram=image_int(image, "min_ram"),
            min_disk=image_int(image, "min_disk"),
        )
        if image
        else None,
        availability_zone=req.availability_zone,
        scheduler_hints=dict(req.scheduler_hints),
        group=group,
        force_hosts=(req.forced_host,) if req.forced_host else (),
        force_nodes=(req.forced_node,) if req.forced_node else (),
        requested_destination=Destination(req.host, req.hypervisor_hostname)
        if (req.host or req.hypervisor_hostname)
        else None,
        num_instances=num,
        is_bfv=is_bfv,
        requested_networks=tuple(networks) if isinstance(networks, list) else None,
        network_mode=networks if isinstance(networks, str) else None,
        security_groups=tuple(req.security_groups or ["default"]),
    )


def req_image_id(req: CreateRequest) -> str | None:
    """The image the request names with ``imageRef``."""
    return _image_id(req.image_ref)


def _image_and_volumes(
    deps: Deps, ctx: CallContext, req: CreateRequest, flavor: FlavorRecord
) -> tuple[Image | None, boot_volumes.BootVolumes]:
    """The image the server boots (or its root volume is made from) and its volumes.

    An image given with ``imageRef`` may bring mappings of its own (a snapshot of a
    volume-backed server); a boot from a volume made from an image looks that image up.
    """
    image_id = req_image_id(req)
    image: Image | None = lookup_image(deps, ctx, image_id) if image_id else None
    requested = [
        parsed
        for raw in req.block_device_mapping
        if (parsed := boot_volumes.from_api(raw, image_specified=bool(image_id))) is not None
    ]
    mappings = requested
    if image is not None:
        mappings = boot_volumes.merge(boot_volumes.image_defined(image), requested)
    if any(m.is_volume for m in mappings) and not deps.volume.available():
        raise exception.InvalidBDM(
            "Block Device Mapping is Invalid: volumes need the block storage service, "
            "which this cloud does not run."
        )
    boot = boot_volumes.BootVolumes()
    if mappings:
        boot = boot_volumes.check(
            deps,
            ctx,
            mappings,
            boot_volumes.Flavorish(flavor.ephemeral_gb, flavor.swap),
            max_count=req.max_count,
            supports_multiattach=req.supports_multiattach,
        )
    if not boot.is_bfv:
        root = next((m for m in mappings if m.boot_index == 0), None)
        if image is None and root is not None and root.source_type == "image" and root.uuid:
            image = lookup_image(deps, ctx, root.uuid)
        if image is None:
            raise BadRequest("Can not find requested image")
        _check_image(image, flavor, False)
        return image, boot
    if image is None and boot.root_image_id:
        try:
            image = lookup_image(deps, ctx, boot.root_image_id)
        except BadRequest:
            raise exception.InvalidBDM(
                f"Block Device Mapping is Invalid: failed to get image {boot.root_image_id}."
            ) from None
    if image is not None:
        _check_image(image, flavor, True)
        boot_volumes.check_root_image(boot, image)
    return image, boot


def create(deps: Deps, ctx: CallContext, req: CreateRequest) -> CreateResult:
    """Validate, check quotas, write the instances and cast their build to the conductor."""
    opts = deps.opts
    if req.min_count > req.max_count:
        raise BadRequest("min_count must be <= max_count")
    if req.hostname and req.max_count > 1:
        raise BadRequest(
            "Unable to allocate a hostname to multiple instances. Please omit the hostname field."
        )
    viewer = flavors.Viewer(ctx.project_id, ctx.is_admin)
    try:
        flavor = flavors.get(deps.db, req.flavor_ref, viewer)
    except exception.FlavorNotFound as exc:
        raise BadRequest(exc.message) from None
    if flavor.disabled:
        raise BadRequest("Flavor is disabled.")
    image, boot = _image_and_volumes(deps, ctx, req, flavor)
    if req.availability_zone:
        availability_zones.check_requested(deps, req.availability_zone)
    _check_destination(deps, req)
    _check_networks(deps, ctx, req)
    _check_security_groups(deps, ctx, req)
    quotas.check_metadata(opts, None, req.metadata)
    group = server_groups.for_hint(deps.db, ctx, req.scheduler_hints.get("group"))
    flavor_snap = flavors.snapshot(flavor)
    spec = _build_spec(req, ctx, flavor_snap, image, group, req.max_count, boot.is_bfv)
    resv = reservation_id()
    first_uuid = str(uuidlib.uuid4())
    volumes = boot_volumes.reserve(deps, ctx, boot, first_uuid)
    image_ref = req_image_id(req)

    def write(session: Session) -> list[models.Instance]:
        nonlocal spec
        keypair = _keypair(session, ctx, req.key_name)
        count = quotas.check_instances(
            session,
            opts,
            ctx.project_id or "",
            ctx.user_id or "",
            min_count=req.min_count,
            max_count=req.max_count,
            vcpus=flavor.vcpus,
            memory_mb=flavor.memory_mb,
        )
        if group is not None:
            server_groups.check_members_quota(session, opts, group.uuid, count, ctx)
        spec = replace(spec, num_instances=count)
        made = []
        for index in range(count):
            inst = _new_instance(
                req,
                ctx,
                flavor_snap,
                image,
                keypair,
                spec,
                resv,
                index,
                count,
                uuid=first_uuid if index == 0 else None,
            )
            if boot.is_bfv:
                inst.image_ref = image_ref or ""
            session.add(inst)
            for volume in volumes if index == 0 else boot.volumes:
                block_devices.add_in(session, inst.uuid, volume)
            for tag in dict.fromkeys(req.tags):
                session.add(models.InstanceTag(instance_uuid=inst.uuid, tag=tag))
            instance_actions.start(session, ctx, inst.uuid, instance_actions.CREATE)
            made.append(inst)
        session.flush()
        if group is not None:
            server_groups.add_members(session, group.uuid, [i.uuid for i in made])
        return made

    try:
        instances = deps.db.write(write)
    except BaseException:
        boot_volumes.unreserve(deps, ctx, volumes)
        raise
    try:
        deps.conductor.build_instances(ctx, [i.uuid for i in instances], spec)
    except (TransportError, MessagingTimeout):
        # the message bus is away (the API answers 503): the servers nothing will build
        # go again, so the request leaves nothing half-made behind
        for inst in instances:
            servers.local_delete(deps, ctx, _instances.get(deps.db, inst.uuid))
        raise
    return CreateResult(instances, resv, req.admin_password)


def _new_instance(
    req: CreateRequest,
    ctx: CallContext,
    flavor: FlavorMeta,
    image: Image | None,
    keypair: models.KeyPair | None,
    spec: RequestSpec,
    resv: str,
    index: int,
    count: int,
    *,
    uuid: str | None = None,
) -> models.Instance:
    uuid = uuid or str(uuidlib.uuid4())
    name = f"{req.name}-{index + 1}" if count > 1 else req.name
    hostname = req.hostname or sanitize_hostname(
        name, allow_fqdn=req.allow_fqdn_hostname, default=f"server-{uuid}"
    )
    now = utcnow()
    system_metadata: dict[str, Any] = {}
    if image:
        system_metadata = {
            "image_name": image.get("name") or "",
            "image_disk_format": image.get("disk_format"),
            "image_container_format": image.get("container_format"),
            "image_min_ram": image.get("min_ram") or 0,
            "image_min_disk": image.get("min_disk") or 0,
            "image_base_image_ref": image["id"],
            "image_properties": image_properties(image),
        }
    return models.Instance(
        uuid=uuid,
        project_id=ctx.project_id or "",
        user_id=ctx.user_id or "",
        display_name=name,
        display_description=req.description,
        hostname=hostname,
        availability_zone=req.availability_zone,
        flavorid=flavor.flavorid,
        vcpus=flavor.vcpus,
        memory_mb=flavor.memory_mb,
        flavor=flavor.to_dict(),
        image_ref=image["id"] if image else "",
        key_name=keypair.name if keypair else None,
        key_data=keypair.public_key if keypair else None,
        user_data=req.user_data,
        vm_state=states.BUILDING,
        task_state=states.Task.SCHEDULING,
        power_state=states.NOSTATE,
        reservation_id=resv,
        launch_index=index,
        config_drive="True" if req.config_drive else "",
        access_ip_v4=req.access_ip_v4,
        access_ip_v6=req.access_ip_v6,
        auto_disk_config=req.auto_disk_config,
        user_metadata=dict(req.metadata),
        system_metadata=system_metadata,
        network_info=[],
        security_groups=list(req.security_groups or ["default"]),
        request_spec=spec.to_dict(),
        trusted_certs=req.trusted_certs,
        root_device_name="/dev/vda",
        created_at=now,
        updated_at=None,
    )


def check_forced_destination(ctx_is_admin: bool, req: CreateRequest) -> None:
    if (req.forced_host or req.forced_node) and not ctx_is_admin:
        raise Forbidden("Policy doesn't allow forcing a host.")
