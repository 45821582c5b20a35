"""The block device mappings of a server create request: checked as Nova checks them, and
turned into the volume mappings the new instances get.

``block_device_mapping_v2`` entries map a source (``image``, ``volume``, ``snapshot``,
``blank``) to a destination (``local``: the instance's own disks, the root from its image,
or the flavor's ephemeral and swap disks; ``volume``: a block storage volume). A server
whose boot index 0 is a volume boots from that volume. An image made by ``createImage`` of
a volume-backed server carries mappings of its own (``block_device_mapping`` and
``bdm_v2`` properties): booting it maps volumes made from its snapshots. Existing volumes
are reserved for the instance here (``POST /attachments``); the agent creates the others.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from tinystack.common.clients.session import ClientError
from tinystack.common.rpc.context import CallContext
from tinystack.common.rpc.payload import JSON
from tinystack.compute import exception
from tinystack.compute.services import block_devices
from tinystack.compute.services._volumes import get_snapshot, get_volume, translated
from tinystack.compute.services.block_devices import NewVolume
from tinystack.compute.services.deps import Deps

LOG = logging.getLogger(__name__)
GiB = 1024**3
SOURCES = ("volume", "image", "snapshot", "blank")
PREFIX = "Block Device Mapping is Invalid: "


def invalid(details: str) -> exception.InvalidBDM:
    return exception.InvalidBDM(PREFIX + details)


@dataclass(frozen=True, slots=True)
class Requested:
    """One requested mapping, after upstream's format checks (``BlockDeviceDict.from_api``)."""

    source_type: str
    destination_type: str
    boot_index: int | None
    #: the volume, snapshot or image id (None for blank)
    uuid: str | None = None
    volume_size: int | None = None
    device_name: str | None = None
    delete_on_termination: bool = False
    volume_type: str | None = None
    tag: str | None = None
    guest_format: str | None = None
    disk_bus: str | None = None
    device_type: str | None = None

    @property
    def is_volume(self) -> bool:
        return self.destination_type == "volume"


def _boot_index(value: Any) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise invalid("Boot index is invalid.") from None


def _text(raw: Mapping[str, JSON], key: str) -> str | None:
    value = raw.get(key)
    return None if value is None else str(value)


def _int(value: JSON) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise invalid("Invalid volume_size.")
    try:
        return int(value)
    except ValueError:
        raise invalid("Invalid volume_size.") from None


def _bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "on", "yes", "t", "y")
    return bool(value)


def from_api(raw: Mapping[str, JSON], image_specified: bool) -> Requested | None:
    """One ``block_device_mapping_v2`` entry (None: a ``no_device`` entry)."""
    if raw.get("no_device"):
        return None
    source = raw.get("source_type")
    if source is None:
        raise invalid("Some required fields are missing")
    if source not in SOURCES:
        raise invalid("Invalid source_type field.")
    uuid = raw.get("uuid") or raw.get(f"{source}_id")
    if source == "blank" and uuid:
        raise invalid("Invalid device UUID.")
    if source != "blank" and not uuid:
        raise invalid("Missing device UUID.")
    destination = _text(raw, "destination_type") or ("local" if source == "blank" else "volume")
    boot_index = _boot_index(raw.get("boot_index"))
    if source == "image" and destination == "local":
        if not (image_specified and (boot_index if boot_index is not None else -1) == 0):
            raise invalid("Mapping image to local is not supported.")
    if destination == "local" and raw.get("volume_type"):
        raise invalid("Specifying a volume_type with destination_type=local is not supported.")
    if source == "volume" and raw.get("volume_type"):
        raise invalid("Specifying volume type to existing volume is not supported.")
    device = _text(raw, "device_name")
    if device is not None and not block_devices.valid_device(device):
        raise invalid(f"Device name {device} is not valid.")
    return Requested(
        source_type=str(source),
        destination_type=destination,
        boot_index=boot_index,
        uuid=str(uuid) if uuid else None,
        volume_size=_int(raw["volume_size"]) if raw.get("volume_size") is not None else None,
        device_name=device,
        delete_on_termination=_bool(raw.get("delete_on_termination", False)),
        volume_type=_text(raw, "volume_type"),
        tag=_text(raw, "tag"),
        guest_format=_text(raw, "guest_format"),
        disk_bus=_text(raw, "disk_bus"),
        device_type=_text(raw, "device_type"),
    )


def from_legacy(
    legacy: Iterable[Mapping[str, JSON]], image_specified: bool
) -> list[dict[str, JSON]]:
    """The legacy ``block_device_mapping`` (device name, volume or snapshot id) as v2 entries:
    the one on the root device (``vda``) boots the server unless an image does."""
    found: list[dict[str, JSON]] = []
    for item in legacy:
        if item.get("no_device"):
            continue
        entry: dict[str, JSON] = {
            "destination_type": "volume",
            "device_name": item.get("device_name"),
            "volume_size": item.get("volume_size"),
            "delete_on_termination": _bool(item.get("delete_on_termination", False)),
            "boot_index": -1,
        }
        if item.get("snapshot_id"):
            entry.update(source_type="snapshot", uuid=item["snapshot_id"])
        elif item.get("volume_id"):
            entry.update(source_type="volume", uuid=item["volume_id"])
        else:
            continue
        device = str(item.get("device_name") or "")
        if not image_specified and device.removeprefix("/dev/") == "vda":
            entry["boot_index"] = 0
        found.append({k: v for k, v in entry.items() if v is not None})
    if found and not image_specified and not any(e["boot_index"] == 0 for e in found):
        found[0]["boot_index"] = 0
    return found


def image_defined(image: Mapping[str, JSON]) -> list[Requested]:
    """The mappings an image made by ``createImage`` of a volume-backed server carries."""
    raw = image.get("block_device_mapping")
    if not raw or str(image.get("bdm_v2", "")).lower() != "true":
        return []
    try:
        items = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        LOG.warning("image %s: its block_device_mapping is not JSON", image.get("id"))
        return []
    found = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        source = item.get("source_type")
        item = {**item, "uuid": item.get(f"{source}_id")}
        parsed = from_api(item, image_specified=True)
        if parsed is not None:
            found.append(parsed)
    return found


def merge(image_defined: list[Requested], requested: list[Requested]) -> list[Requested]:
    """Requested mappings override the image's of the same device; when the image brings
    the root, the request's image-to-local root goes (upstream's rule)."""
    if any(r.boot_index == 0 for r in image_defined):
        requested = [r for r in requested if not (r.boot_index == 0 and r.source_type == "image")]
    names = {r.device_name for r in requested if r.device_name}
    return requested + [r for r in image_defined if r.device_name not in names]


def check_boot_sequence(mappings: Iterable[Requested]) -> None:
    """Boot indexes 0..n-1, each once (negative or None: not a boot device)."""
    indexes = sorted(m.boot_index for m in mappings if m.boot_index is not None)
    indexes = [i for i in indexes if i >= 0]
    if not indexes or any(i != n for n, i in enumerate(indexes)):
        raise invalid(
            "Boot sequence for the instance and image/block device mapping combination is "
            "not valid."
        )


@dataclass(frozen=True, slots=True)
class BootVolumes:
    """What a create request's mappings come to."""

    #: the volume mappings each new instance gets (source volumes are reserved per instance)
    volumes: tuple[NewVolume, ...] = ()
    #: boot index 0 is a volume
    is_bfv: bool = False
    #: the image the root volume is made from (image checks, scheduling, metadata)
    root_image_id: str | None = None
    #: the root volume's size in GiB (None: an existing volume, checked by its service)
    root_size: int | None = None


@dataclass(frozen=True, slots=True)
class Flavorish:
    ephemeral_gb: int
    swap: int


def check(
    deps: Deps,
    ctx: CallContext,
    mappings: list[Requested],
    flavor: Flavorish,
    *,
    max_count: int,
    supports_multiattach: bool,
) -> BootVolumes:
    """Look the volumes, snapshots and images up and check sizes (upstream's
    ``_validate_bdm``); the volume mappings with their sizes."""
    check_boot_sequence(mappings)
    volumes: list[NewVolume] = []
    root: Requested | None = None
    for m in mappings:
        if m.is_volume:
            volumes.append(_check_volume(deps, ctx, m, max_count, supports_multiattach))
            if m.boot_index == 0:
                root = m
    _check_local(mappings, flavor)
    is_bfv = root is not None
    ordered = sorted(volumes, key=lambda v: (v.boot_index != 0, volumes.index(v)))
    return BootVolumes(
        volumes=tuple(_named(ordered, flavor)),
        is_bfv=is_bfv,
        root_image_id=root.uuid if root and root.source_type == "image" else None,
        root_size=ordered[0].volume_size if is_bfv else None,
    )


def _check_volume(
    deps: Deps, ctx: CallContext, m: Requested, max_count: int, supports_multiattach: bool
) -> NewVolume:
    new = NewVolume(
        source_type=m.source_type,
        boot_index=m.boot_index,
        device_name=m.device_name,
        delete_on_termination=m.delete_on_termination,
        volume_type=m.volume_type,
        tag=m.tag,
        disk_bus=m.disk_bus,
        device_type=m.device_type,
        guest_format=m.guest_format,
        volume_size=m.volume_size,
    )
    if m.source_type == "volume":
        if max_count > 1:
            raise exception.InvalidBDM("Cannot attach one or more volumes to multiple instances")
        try:
            volume = get_volume(deps, ctx, m.uuid or "")
        except exception.VolumeNotFound:
            raise invalid(f"failed to get volume {m.uuid}.") from None
        if m.boot_index == 0 and not volume.bootable:
            # as upstream: the root must be a volume the block storage service calls bootable
            raise exception.InvalidBDM(f"Block Device {volume.id} is not bootable.")
        if volume.multiattach and not supports_multiattach:
            raise exception.MultiattachNotSupported(
                "Multiattach volumes are only supported starting with compute API version 2.60."
            )
        return replace(new, volume_id=volume.id, volume_size=volume.size)
    if m.source_type == "snapshot":
        try:
            snapshot = get_snapshot(deps, ctx, m.uuid or "")
        except exception.SnapshotNotFound:
            raise invalid(f"failed to get snapshot {m.uuid}.") from None
        return replace(new, snapshot_id=snapshot.id, volume_size=m.volume_size or snapshot.size)
    if m.source_type == "image":
        if not m.volume_size:
            raise exception.InvalidBDM(
                "Images with destination_type 'volume' need to have a non-zero size specified"
            )
        return replace(new, image_id=m.uuid)
    if not m.volume_size:
        raise exception.InvalidBDM(
            "Blank volumes (source: 'blank', dest: 'volume') need to have non-zero size"
        )
    return new


def _check_local(mappings: list[Requested], flavor: Flavorish) -> None:
    """The flavor's local disks: requested ephemeral and swap sizes must fit it."""
    local_blank = [m for m in mappings if m.source_type == "blank" and not m.is_volume]
    swaps = [m for m in local_blank if m.guest_format == "swap"]
    ephemerals = [m for m in local_blank if m.guest_format != "swap"]
    if sum(m.volume_size or flavor.ephemeral_gb for m in ephemerals) > flavor.ephemeral_gb:
        raise exception.InvalidBDM(
            "Ephemeral disks requested are larger than the instance type allows. If no size "
            "is given in one block device mapping, flavor ephemeral size will be used."
        )
    if len(swaps) > 1:
        raise invalid("More than one swap drive requested.")
    if swaps and (swaps[0].volume_size or 0) > flavor.swap:
        raise exception.InvalidBDM("Swap drive requested is larger than instance type allows.")


def _named(volumes: list[NewVolume], flavor: Flavorish) -> list[NewVolume]:
    """Device names for the mappings that ask for none: the root volume ``/dev/vda``, the
    others after the flavor's local disks."""
    if not volumes:
        return []
    is_bfv = volumes[0].boot_index == 0
    used = {v.device_name for v in volumes if v.device_name}
    local = 1 - int(is_bfv) + int(bool(flavor.ephemeral_gb)) + int(bool(flavor.swap))
    first = 1 if is_bfv else 0
    used |= {block_devices.DEFAULT_PREFIX + block_devices.letters(first + n) for n in range(local)}
    named = []
    for v in volumes:
        if not v.device_name:
            if v.boot_index == 0:
                name = block_devices.DEFAULT_PREFIX + "a"
            else:
                name = block_devices.next_device_name(used)
            used.add(name)
            v = replace(v, device_name=name)
        named.append(v)
    if len({v.device_name for v in named}) != len(named):
        raise invalid("Device names of the mappings must differ.")
    return named


def check_root_image(boot: BootVolumes, image: Mapping[str, JSON]) -> None:
    """The volume made from the image must hold its ``min_disk``."""
    if boot.root_size is None:
        return
    min_disk = _int(image.get("min_disk") or 0) * GiB
    size = boot.root_size * GiB
    if min_disk > size:
        raise exception.InvalidBDM(
            "Volume is smaller than the minimum size specified in image metadata. Volume size "
            f"is {size} bytes, minimum size is {min_disk} bytes."
        )


# -- reservations -----------------------------------------------------------------------------
def reserve(
    deps: Deps, ctx: CallContext, boot: BootVolumes, instance_uuid: str
) -> tuple[NewVolume, ...]:
    """Reserve the existing volumes for the instance (``attachment_id`` of each source volume
    mapping); what is reserved is released again if a later one fails."""
    done: list[NewVolume] = []
    try:
        for v in boot.volumes:
            if v.source_type == "volume" and v.volume_id:
                with translated(volume_id=v.volume_id):
                    try:
                        att = deps.volume.attachment_create(
                            v.volume_id, instance_uuid, token=ctx.token
                        )
                    except ClientError as exc:
                        if exc.status == 400:
                            raise exception.InvalidVolume(exc.message) from exc
                        raise
                v = replace(v, attachment_id=att.id)
            done.append(v)
    except BaseException:
        unreserve(deps, ctx, done)
        raise
    return tuple(done)


def unreserve(deps: Deps, ctx: CallContext, volumes: Iterable[NewVolume]) -> None:
    for v in volumes:
        if v.attachment_id:
            try:
                deps.volume.attachment_delete(v.attachment_id, token=ctx.token)
            except ClientError as exc:
                LOG.warning("cannot release attachment %s: %s", v.attachment_id, exc)
