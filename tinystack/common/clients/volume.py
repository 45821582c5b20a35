"""Block Storage v3 (Cinder) client: what compute asks of volumes, as Nova's cinder API does.

The endpoint is the catalog's ``block-storage`` entry (``volumev3`` in older catalogs); its
URL may carry the project (``/v3/{project_id}``) or not (3.67), the paths below are
relative to it. Attachments use the 3.44 flow Nova uses: ``POST /attachments`` reserves
the volume for an instance, ``PUT /attachments/{id}`` with the host's connector exports it
and answers the ``connection_info``, ``os-complete`` marks it in-use and ``DELETE`` ends
it (the volume returns to available).

Answers come back as frozen records; a connection info is returned in Nova's shape
(``{"driver_volume_type": ..., "data": {...}}``, Cinder sends it flat).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tinystack.common.clients.session import (
    ClientError,
    ClientNotFound,
    EndpointNotFound,
    Session,
)
from tinystack.common.rpc.payload import JSON

#: the catalog types of the block storage service, preferred first
SERVICE_TYPES = ("block-storage", "volumev3")
#: the attachments API with ``os-complete`` (what Nova requires since Train)
ATTACH_MICROVERSION = "3.44"
#: the volume view with ``shared_targets`` and ``service_uuid``
VOLUME_MICROVERSION = "3.48"
#: ``os-reimage`` (what Nova's rebuild of a volume-backed server uses, 2.93)
REIMAGE_MICROVERSION = "3.68"
#: ``os-extend_volume_completion``
EXTEND_COMPLETION_MICROVERSION = "3.71"
#: the admin metadata key (shown in ``metadata``) holding the size a waiting extend
#: grows the volume to
EXTEND_NEW_SIZE = "extend_new_size"
#: a connection info's keys Cinder adds beside the driver's data (Nova keeps them on top)
_CONNECTION_TOP = ("driver_volume_type",)


def _headers(microversion: str | None) -> dict[str, str]:
    return {"OpenStack-API-Version": f"volume {microversion}"} if microversion else {}


@dataclass(frozen=True, slots=True)
class ServerAttachment:
    """One entry of a volume's ``attachments``: which server has it, and how."""

    server_id: str
    attachment_id: str | None
    device: str | None
    host_name: str | None


@dataclass(frozen=True, slots=True)
class Volume:
    """A volume as compute reads it (``GET /volumes/{id}``)."""

    id: str
    status: str
    size: int
    availability_zone: str | None = None
    multiattach: bool = False
    bootable: bool = False
    name: str | None = None
    description: str | None = None
    volume_type: str | None = None
    snapshot_id: str | None = None
    #: None unless the caller is an admin and a migration runs
    migration_status: str | None = None
    attachments: tuple[ServerAttachment, ...] = ()
    image_metadata: dict[str, str] = field(default_factory=dict)
    metadata: dict[str, str] = field(default_factory=dict)
    #: as the service wrote it (ISO 8601)
    created_at: str | None = None

    @property
    def attach_status(self) -> str:
        return "attached" if self.attachments else "detached"

    def attachment_of(self, server_id: str) -> ServerAttachment | None:
        return next((a for a in self.attachments if a.server_id == server_id), None)

    @classmethod
    def from_api(cls, body: Mapping[str, Any]) -> Volume:
        return cls(
            id=str(body["id"]),
            status=str(body.get("status") or ""),
            size=int(body.get("size") or 0),
            availability_zone=body.get("availability_zone"),
            multiattach=bool(body.get("multiattach")),
            bootable=str(body.get("bootable", "false")).lower() == "true",
            name=body.get("name"),
            description=body.get("description"),
            volume_type=body.get("volume_type"),
            snapshot_id=body.get("snapshot_id"),
            migration_status=body.get("migration_status"),
            attachments=tuple(
                ServerAttachment(
                    server_id=str(a.get("server_id") or ""),
                    attachment_id=a.get("attachment_id"),
                    device=a.get("device"),
                    host_name=a.get("host_name"),
                )
                for a in body.get("attachments") or []
            ),
            image_metadata={
                str(k): str(v) for k, v in (body.get("volume_image_metadata") or {}).items()
            },
            metadata={str(k): str(v) for k, v in (body.get("metadata") or {}).items()},
            created_at=body.get("created_at"),
        )


@dataclass(frozen=True, slots=True)
class Attachment:
    """A volume attachment (3.27+): reserved, attaching or attached."""

    id: str
    status: str
    volume_id: str
    instance: str | None = None
    attach_mode: str | None = None
    #: Nova's shape: ``{"driver_volume_type": ..., "data": {...}}`` (empty until a
    #: connector was given)
    connection_info: dict[str, JSON] = field(default_factory=dict)

    @classmethod
    def from_api(cls, body: Mapping[str, Any]) -> Attachment:
        return cls(
            id=str(body["id"]),
            status=str(body.get("status") or ""),
            volume_id=str(body.get("volume_id") or ""),
            instance=body.get("instance"),
            attach_mode=body.get("attach_mode"),
            connection_info=connection_info(body.get("connection_info")),
        )


def connection_info(raw: Any) -> dict[str, JSON]:
    """An attachment's connection info in Nova's shape.

    Cinder merges the driver's ``data`` into the top level and adds ``attachment_id``;
    Nova puts ``data`` back together (``_translate_attachment_ref``). Info that already
    has its ``data`` is kept as it is.
    """
    if not isinstance(raw, Mapping) or not raw:
        return {}
    if isinstance(raw.get("data"), Mapping) and "driver_volume_type" in raw:
        return {str(k): v for k, v in raw.items()}
    data = {str(k): v for k, v in raw.items() if k not in (*_CONNECTION_TOP, "attachment_id")}
    return {"driver_volume_type": raw.get("driver_volume_type"), "data": data}


@dataclass(frozen=True, slots=True)
class Snapshot:
    id: str
    status: str
    size: int
    volume_id: str
    name: str | None = None
    description: str | None = None
    created_at: str | None = None

    @classmethod
    def from_api(cls, body: Mapping[str, Any]) -> Snapshot:
        return cls(
            id=str(body["id"]),
            status=str(body.get("status") or ""),
            size=int(body.get("size") or 0),
            volume_id=str(body.get("volume_id") or ""),
            name=body.get("name"),
            description=body.get("description"),
            created_at=body.get("created_at"),
        )


class VolumeNotReady(ClientError):
    """A volume compute waits for ended in another status (``error``), or took too long."""

    def __init__(self, volume_id: str, status: str, waited: float) -> None:
        super().__init__(
            "volume",
            0,
            f"Volume {volume_id} did not finish being created even after we waited "
            f"{waited:.0f} seconds. And its status is {status}.",
        )
        self.volume_id = volume_id
        self.volume_status = status


class VolumeClient:
    """Thread-safe; every call takes the caller's ``token`` (None: the service's)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._service_type: str | None = None

    # -- the endpoint --------------------------------------------------------------------------
    def service_type(self) -> str:
        """The catalog type the block storage service is listed under."""
        if self._service_type is None:
            for candidate in SERVICE_TYPES:
                try:
                    self.session.endpoint(candidate)
                except EndpointNotFound:
                    continue
                except ClientError:
                    break  # cannot authenticate: not known yet, try again next time
                self._service_type = candidate
                break
            else:
                raise EndpointNotFound(SERVICE_TYPES[0])
        if self._service_type is None:
            raise EndpointNotFound(SERVICE_TYPES[0])
        return self._service_type

    def available(self) -> bool:
        """Whether the cloud runs a block storage service."""
        if any(self.session.has_service(t) for t in SERVICE_TYPES):
            return True
        try:
            self.service_type()
        except ClientError:
            return False
        return True

    def _call(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        token: str | None = None,
        microversion: str | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> Any:
        response = self.session.request(
            self.service_type(),
            method,
            path,
            json_body=body,
            params=params,
            headers=_headers(microversion),
            token=token,
        )
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    # -- volumes -------------------------------------------------------------------------------
    def get(self, volume_id: str, *, token: str | None = None) -> Volume:
        """The volume; ClientNotFound when the caller cannot see it."""
        found = self._call(
            "GET", f"/volumes/{volume_id}", token=token, microversion=VOLUME_MICROVERSION
        )
        return Volume.from_api(found["volume"])

    def list_volumes(self, *, token: str | None = None) -> list[Volume]:
        """Every volume the caller can see (``GET /volumes/detail``), newest first."""
        return [Volume.from_api(v) for v in self._pages("/volumes/detail", "volumes", token)]

    def _pages(self, path: str, key: str, token: str | None) -> list[dict[str, Any]]:
        """All of a list in the service's order, following its ``next`` links (by marker)."""
        found: list[dict[str, Any]] = []
        params: dict[str, Any] = {}
        while True:
            page = self._call(
                "GET", path, token=token, microversion=VOLUME_MICROVERSION, params=params
            )
            items = page.get(key) or []
            found.extend(items)
            if not items or not page.get(f"{key}_links"):
                return found
            params = {"marker": items[-1]["id"]}

    def create(
        self,
        size: int,
        *,
        token: str | None = None,
        name: str | None = None,
        description: str | None = None,
        image_id: str | None = None,
        snapshot_id: str | None = None,
        volume_type: str | None = None,
        availability_zone: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> Volume:
        body: dict[str, Any] = {"size": size, "name": name, "description": description}
        optional = {
            "imageRef": image_id,
            "snapshot_id": snapshot_id,
            "volume_type": volume_type,
            "availability_zone": availability_zone,
        }
        body.update({k: v for k, v in optional.items() if v is not None})
        if metadata:
            body["metadata"] = dict(metadata)
        created = self._call("POST", "/volumes", body={"volume": body}, token=token)
        return Volume.from_api(created["volume"])

    def delete(self, volume_id: str, *, token: str | None = None) -> bool:
        """Delete the volume; False when it was already gone."""
        try:
            self._call("DELETE", f"/volumes/{volume_id}", token=token)
        except ClientNotFound:
            return False
        return True

    def wait_available(
        self,
        volume_id: str,
        *,
        token: str | None = None,
        timeout: float = 180.0,
        interval: float = 0.2,
    ) -> Volume:
        """Poll until the volume is ``available``; VolumeNotReady if it errs or takes longer
        than ``timeout`` (Nova's ``block_device_allocate_retries``)."""
        started = time.monotonic()
        delay = min(0.05, interval)
        while True:
            volume = self.get(volume_id, token=token)
            if volume.status == "available":
                return volume
            waited = time.monotonic() - started
            if volume.status == "error" or waited > timeout:
                raise VolumeNotReady(volume_id, volume.status, waited)
            time.sleep(delay)
            delay = min(delay * 2, interval)

    def _action(
        self, volume_id: str, action: str, value: JSON = None, *, token: str | None = None
    ) -> None:
        self._call("POST", f"/volumes/{volume_id}/action", body={action: value}, token=token)

    def begin_detaching(self, volume_id: str, *, token: str | None = None) -> None:
        self._action(volume_id, "os-begin_detaching", token=token)

    def roll_detaching(self, volume_id: str, *, token: str | None = None) -> None:
        self._action(volume_id, "os-roll_detaching", token=token)

    def migrate_volume_completion(
        self, volume_id: str, new_volume_id: str, *, error: bool = False, token: str | None = None
    ) -> str:
        """Tell the service the guest moved to ``new_volume_id``; the id to keep using."""
        found = self._call(
            "POST",
            f"/volumes/{volume_id}/action",
            body={"os-migrate_volume_completion": {"new_volume": new_volume_id, "error": error}},
            token=token,
        )
        return str((found or {}).get("save_volume_id") or new_volume_id)

    def reimage(
        self,
        volume_id: str,
        image_id: str,
        *,
        reimage_reserved: bool = True,
        token: str | None = None,
    ) -> None:
        """Replace the volume's contents by the image's (``volume-reimaged`` tells when)."""
        self._call(
            "POST",
            f"/volumes/{volume_id}/action",
            body={"os-reimage": {"image_id": image_id, "reimage_reserved": reimage_reserved}},
            token=token,
            microversion=REIMAGE_MICROVERSION,
        )

    def extend_volume_completion(
        self, volume_id: str, *, error: bool = False, token: str | None = None
    ) -> None:
        """Tell the service whether the guest's side of a waiting extend worked: it keeps
        the new size (``error`` false) or rolls the extend back."""
        self._call(
            "POST",
            f"/volumes/{volume_id}/action",
            body={"os-extend_volume_completion": {"error": error}},
            token=token,
            microversion=EXTEND_COMPLETION_MICROVERSION,
        )

    # -- attachments (3.44) --------------------------------------------------------------------
    def attachment_create(
        self,
        volume_id: str,
        instance_uuid: str,
        *,
        connector: Mapping[str, JSON] | None = None,
        mountpoint: str | None = None,
        token: str | None = None,
    ) -> Attachment:
        """Reserve the volume for the instance (with a connector: attach it at once)."""
        body: dict[str, Any] = {"volume_uuid": volume_id, "instance_uuid": instance_uuid}
        if connector is not None:
            body["connector"] = _with_mountpoint(connector, mountpoint)
        created = self._call(
            "POST",
            "/attachments",
            body={"attachment": body},
            token=token,
            microversion=ATTACH_MICROVERSION,
        )
        return Attachment.from_api(created["attachment"])

    def attachment_get(self, attachment_id: str, *, token: str | None = None) -> Attachment:
        found = self._call(
            "GET",
            f"/attachments/{attachment_id}",
            token=token,
            microversion=ATTACH_MICROVERSION,
        )
        return Attachment.from_api(found["attachment"])

    def attachment_update(
        self,
        attachment_id: str,
        connector: Mapping[str, JSON],
        *,
        mountpoint: str | None = None,
        token: str | None = None,
    ) -> Attachment:
        """Give the reserved attachment this host's connector; the volume is exported for it
        and the answer carries the connection info."""
        updated = self._call(
            "PUT",
            f"/attachments/{attachment_id}",
            body={"attachment": {"connector": _with_mountpoint(connector, mountpoint)}},
            token=token,
            microversion=ATTACH_MICROVERSION,
        )
        return Attachment.from_api(updated["attachment"])

    def attachment_complete(self, attachment_id: str, *, token: str | None = None) -> None:
        """The host uses the volume now: the volume becomes ``in-use``."""
        self._call(
            "POST",
            f"/attachments/{attachment_id}/action",
            body={"os-complete": None},
            token=token,
            microversion=ATTACH_MICROVERSION,
        )

    def attachment_delete(self, attachment_id: str, *, token: str | None = None) -> bool:
        """End the attachment (its export goes); False when it was already gone."""
        try:
            self._call(
                "DELETE",
                f"/attachments/{attachment_id}",
                token=token,
                microversion=ATTACH_MICROVERSION,
            )
        except ClientNotFound:
            return False
        return True

    # -- snapshots -----------------------------------------------------------------------------
    def get_snapshot(self, snapshot_id: str, *, token: str | None = None) -> Snapshot:
        found = self._call("GET", f"/snapshots/{snapshot_id}", token=token)
        return Snapshot.from_api(found["snapshot"])

    def list_snapshots(self, *, token: str | None = None) -> list[Snapshot]:
        """Every snapshot the caller can see, newest first (``GET /snapshots/detail``)."""
        return [Snapshot.from_api(s) for s in self._pages("/snapshots/detail", "snapshots", token)]

    def create_snapshot(
        self,
        volume_id: str,
        *,
        force: bool = False,
        name: str | None = None,
        description: str | None = None,
        token: str | None = None,
    ) -> Snapshot:
        """A snapshot of the volume (``force``: also while it is in use)."""
        body = {"volume_id": volume_id, "force": force, "name": name, "description": description}
        created = self._call("POST", "/snapshots", body={"snapshot": body}, token=token)
        return Snapshot.from_api(created["snapshot"])

    def update_snapshot_status(
        self, snapshot_id: str, status: str, progress: str, *, token: str | None = None
    ) -> None:
        """Compute's report on a snapshot it made for the service (assisted snapshots)."""
        body = {"os-update_snapshot_status": {"status": status, "progress": progress}}
        self._call("POST", f"/snapshots/{snapshot_id}/action", body=body, token=token)

    def delete_snapshot(self, snapshot_id: str, *, token: str | None = None) -> bool:
        try:
            self._call("DELETE", f"/snapshots/{snapshot_id}", token=token)
        except ClientNotFound:
            return False
        return True


def _with_mountpoint(connector: Mapping[str, JSON], mountpoint: str | None) -> dict[str, JSON]:
    """The connector with the mount point in it (the attachments API takes it there)."""
    found = dict(connector)
    if mountpoint and "mountpoint" not in found:
        found["mountpoint"] = mountpoint
    return found
