"""Test doubles of the services compute talks to about volumes: identity (service tokens),
image (Glance v2) and block storage (Cinder v3, the 3.44 attachments flow), in memory
behind an ``httpx.MockTransport``, so compute's real clients speak HTTP to them.

They follow the upstream state machines the compute side depends on: a volume is
``available``, ``reserved`` by ``POST /attachments``, ``attaching`` once a connector
arrives, ``in-use`` after ``os-complete``, ``detaching`` after ``os-begin_detaching``, and
``available`` again when its last attachment is deleted. Refusals come with Cinder's
statuses and error bodies. Failures can be injected per operation.
"""

from __future__ import annotations

import json
import threading
import uuid as uuidlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from tinystack.common.clients.session import Session
from tinystack.common.cloud import CatalogEntry, ServiceCredentials

AUTH = "http://keystone.test/v3"
CINDER = "http://cinder.test/v3"
GLANCE = "http://glance.test"
CATALOG = [
    CatalogEntry("block-storage", "cinder", CINDER),
    CatalogEntry("image", "glance", GLANCE),
]
CREDENTIALS = ServiceCredentials(username="nova", password="secret")


def error(status: int, message: str) -> httpx.Response:
    key = {400: "badRequest", 404: "itemNotFound", 409: "conflictingRequest"}.get(
        status, "computeFault"
    )
    return httpx.Response(status, json={key: {"code": status, "message": message}})


@dataclass
class FakeStorage:
    """The state of the doubles; ``handler`` is the MockTransport's handler."""

    volumes: dict[str, dict[str, Any]] = field(default_factory=dict)
    attachments: dict[str, dict[str, Any]] = field(default_factory=dict)
    snapshots: dict[str, dict[str, Any]] = field(default_factory=dict)
    images: dict[str, dict[str, Any]] = field(default_factory=dict)
    image_data: dict[str, bytes] = field(default_factory=dict)
    #: operation name -> (status, message) it answers next (once)
    failures: dict[str, tuple[int, str]] = field(default_factory=dict)
    #: polls a new volume stays ``creating``
    creating_polls: int = 1
    #: every request seen: (method, path, OpenStack-API-Version header)
    seen: list[tuple[str, str, str | None]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    # -- helpers for tests ---------------------------------------------------------------------
    def session(self) -> Session:
        session = Session(AUTH, CREDENTIALS, CATALOG)
        session._http = httpx.Client(transport=httpx.MockTransport(self.handler))
        return session

    def add_volume(self, size: int = 1, **values: Any) -> str:
        volume_id = str(uuidlib.uuid4())
        self.volumes[volume_id] = {
            "id": volume_id,
            "status": "available",
            "size": size,
            "availability_zone": "nova",
            "multiattach": False,
            "bootable": "false",
            "name": f"vol-{volume_id[:8]}",
            "description": None,
            "volume_type": "__DEFAULT__",
            "snapshot_id": None,
            "migration_status": None,
            "metadata": {},
            **values,
        }
        return volume_id

    def add_image(self, **values: Any) -> str:
        image_id = str(uuidlib.uuid4())
        self.images[image_id] = {
            "id": image_id,
            "name": "img",
            "status": "active",
            "disk_format": "qcow2",
            "container_format": "bare",
            "size": 1024,
            "min_disk": 0,
            "min_ram": 0,
            "visibility": "public",
            **values,
        }
        return image_id

    def status(self, volume_id: str) -> str:
        return str(self.volumes[volume_id]["status"])

    def fail(self, operation: str, status: int = 500, message: str = "injected") -> None:
        self.failures[operation] = (status, message)

    # -- dispatch ------------------------------------------------------------------------------
    def handler(self, request: httpx.Request) -> httpx.Response:
        url = str(request.url)
        body = json.loads(request.content) if request.content else None
        version = request.headers.get("OpenStack-API-Version")
        with self.lock:
            self.seen.append((request.method, request.url.path, version))
            if url.startswith(AUTH):
                return self._auth()
            if url.startswith(GLANCE):
                return self._glance(request, request.url.path.removeprefix("/v2"), body)
            path = request.url.path.removeprefix("/v3")
            for (method, prefix), fn in self._routes().items():
                if request.method == method and path.startswith(prefix):
                    failure = self.failures.pop(fn.__name__, None)
                    if failure is not None:
                        return error(*failure)
                    rest = path.removeprefix(prefix).strip("/")
                    return fn(rest, body)
        return error(404, f"no route {request.method} {url}")

    def _routes(self) -> dict[tuple[str, str], Callable[[str, Any], httpx.Response]]:
        return {
            ("POST", "/volumes/"): self.volume_action,
            ("GET", "/volumes/"): self.get_volume,
            ("POST", "/volumes"): self.create_volume,
            ("DELETE", "/volumes/"): self.delete_volume,
            ("POST", "/attachments/"): self.complete,
            ("POST", "/attachments"): self.create_attachment,
            ("PUT", "/attachments/"): self.update_attachment,
            ("GET", "/attachments/"): self.get_attachment,
            ("DELETE", "/attachments/"): self.delete_attachment,
            ("POST", "/snapshots"): self.create_snapshot,
            ("GET", "/snapshots/"): self.get_snapshot,
            ("DELETE", "/snapshots/"): self.delete_snapshot,
        }

    @staticmethod
    def _auth() -> httpx.Response:
        return httpx.Response(
            201,
            headers={"X-Subject-Token": "service-token"},
            json={"token": {"expires_at": "2999-01-01T00:00:00Z", "catalog": []}},
        )

    # -- volumes -------------------------------------------------------------------------------
    def _view(self, volume: dict[str, Any]) -> dict[str, Any]:
        if volume["status"] == "creating":
            volume["_polls"] = volume.get("_polls", 0) + 1
            if volume["_polls"] > self.creating_polls:
                volume["status"] = volume.pop("_final", "available")
        attached = [a for a in self.attachments.values() if a["volume_id"] == volume["id"]]
        return {
            **{k: v for k, v in volume.items() if not k.startswith("_")},
            "attachments": [
                {
                    "server_id": a["instance"],
                    "attachment_id": a["id"],
                    "device": (a.get("connector") or {}).get("mountpoint"),
                    "host_name": (a.get("connector") or {}).get("host"),
                    "volume_id": volume["id"],
                }
                for a in attached
                if a["status"] == "attached"
            ],
        }

    def get_volume(self, rest: str, body: Any) -> httpx.Response:
        volume = self.volumes.get(rest)
        if volume is None:
            return error(404, f"Volume {rest} could not be found.")
        return httpx.Response(200, json={"volume": self._view(volume)})

    def create_volume(self, rest: str, body: Any) -> httpx.Response:
        spec = body["volume"]
        values: dict[str, Any] = {"status": "creating", "name": spec.get("name")}
        if spec.get("imageRef"):
            image = self.images.get(spec["imageRef"])
            if image is None:
                return error(
                    400, f"Invalid image identifier or unable to access {spec['imageRef']}"
                )
            values["volume_image_metadata"] = {"image_id": image["id"], "image_name": image["name"]}
            values["bootable"] = "true"
        if spec.get("snapshot_id"):
            snap = self.snapshots.get(spec["snapshot_id"])
            if snap is None:
                return error(404, f"Snapshot {spec['snapshot_id']} could not be found.")
            values["snapshot_id"] = snap["id"]
            source = self.volumes.get(snap["volume_id"]) or {}
            if source.get("volume_image_metadata"):
                values["volume_image_metadata"] = dict(source["volume_image_metadata"])
                values["bootable"] = "true"
        if spec.get("availability_zone"):
            values["availability_zone"] = spec["availability_zone"]
        volume_id = self.add_volume(int(spec["size"]), **values)
        return httpx.Response(202, json={"volume": self._view(self.volumes[volume_id])})

    def delete_volume(self, rest: str, body: Any) -> httpx.Response:
        volume = self.volumes.get(rest)
        if volume is None:
            return error(404, f"Volume {rest} could not be found.")
        if volume["status"] not in ("available", "error") or any(
            a["volume_id"] == rest for a in self.attachments.values()
        ):
            return error(
                400,
                "Invalid volume: Volume status must be available or error or error_restoring "
                "or error_extending or error_managing and must not be migrating, attached, "
                "belong to a group, have snapshots, awaiting a transfer, or be disassociated "
                "from snapshots after volume transfer.",
            )
        del self.volumes[rest]
        return httpx.Response(202)

    def volume_action(self, rest: str, body: Any) -> httpx.Response:
        volume_id, _, action = rest.partition("/")
        volume = self.volumes.get(volume_id)
        if volume is None or action != "action":
            return error(404, f"Volume {volume_id} could not be found.")
        ((name, value),) = body.items()
        if name == "os-begin_detaching":
            if volume["status"] != "in-use":
                return error(
                    400,
                    "Invalid volume: Unable to detach volume. Volume status must "
                    "be 'in-use' and attach_status must be 'attached' to detach.",
                )
            volume["status"] = "detaching"
        elif name == "os-roll_detaching":
            if volume["status"] == "detaching":
                volume["status"] = "in-use"
        elif name == "os-migrate_volume_completion":
            volume["migration_status"] = None
            return httpx.Response(200, json={"save_volume_id": volume_id})
        elif name == "os-reimage":
            return self._reimage(volume, value)
        elif name == "os-extend_volume_completion":
            return self._extend_completion(volume, value)
        else:
            return error(400, f"unknown action {name}")
        return httpx.Response(202)

    def _reimage(self, volume: dict[str, Any], value: dict[str, Any]) -> httpx.Response:
        """Cinder's os-reimage checks (status, image size); the volume goes
        ``downloading`` until the test settles it with :meth:`reimaged`."""
        allowed = ("available", "error", "reserved") if value.get("reimage_reserved") else (
            "available", "error",
        )  # fmt: skip
        if volume["status"] not in allowed:
            return error(
                400,
                f"Invalid volume: Volume {volume['id']} status must be {', '.join(allowed)}, "
                f"but current status is: {volume['status']}.",
            )
        image = self.images.get(value["image_id"])
        if image is None:
            return error(400, f"Invalid image identifier or unable to access {value['image_id']}")
        image_gb = -(-int(image["size"]) // 1024**3)
        if image_gb > volume["size"]:
            return error(
                400,
                f"Invalid input received: Size of specified image {image_gb}GB is larger "
                f"than volume size {volume['size']}GB.",
            )
        volume["_previous"] = volume["status"]
        volume["status"] = "downloading"
        volume["_reimage"] = image["id"]
        return httpx.Response(202)

    def reimaged(self, volume_id: str) -> None:
        """The re-image a test let run finished: the image's metadata, the old status."""
        volume = self.volumes[volume_id]
        image = self.images[volume.pop("_reimage")]
        volume["volume_image_metadata"] = {"image_id": image["id"], "image_name": image["name"]}
        volume["status"] = volume.pop("_previous")

    def _extend_completion(self, volume: dict[str, Any], value: dict[str, Any]) -> httpx.Response:
        """Cinder 3.71: only a volume waiting (``extending`` with ``extend_new_size``)."""
        new_size = volume["metadata"].pop("extend_new_size", None)
        if volume["status"] != "extending" or new_size is None:
            return error(400, "Invalid volume: Volume is not being extended.")
        if not value.get("error"):
            volume["size"] = int(new_size)
            in_use = any(a["volume_id"] == volume["id"] for a in self.attachments.values())
            volume["status"] = "in-use" if in_use else "available"
        else:
            volume["status"] = "error_extending"
        return httpx.Response(202)

    # -- attachments ---------------------------------------------------------------------------
    def create_attachment(self, rest: str, body: Any) -> httpx.Response:
        spec = body["attachment"]
        volume = self.volumes.get(spec["volume_uuid"])
        if volume is None:
            return error(404, f"Volume {spec['volume_uuid']} could not be found.")
        others = [a for a in self.attachments.values() if a["volume_id"] == volume["id"]]
        same = all(a["instance"] == spec.get("instance_uuid") for a in others)
        if not (volume["status"] == "available" or volume["multiattach"] or (others and same)):
            return error(
                400,
                f"Invalid volume: Volume {volume['id']} status must be available or "
                f"downloading to reserve, but the current status is {volume['status']}.",
            )
        attachment_id = str(uuidlib.uuid4())
        self.attachments[attachment_id] = {
            "id": attachment_id,
            "volume_id": volume["id"],
            "instance": spec.get("instance_uuid"),
            "status": "reserved",
            "attach_mode": "null",
            "connector": None,
        }
        if volume["status"] == "available":
            volume["status"] = "reserved"
        return httpx.Response(200, json={"attachment": self._attachment(attachment_id)})

    def _attachment(self, attachment_id: str) -> dict[str, Any]:
        a = self.attachments[attachment_id]
        info: dict[str, Any] = {}
        if a["connector"]:
            volume = self.volumes[a["volume_id"]]
            info = {
                "driver_volume_type": "file",
                "device_path": f"/fake/volumes/volume-{volume['id']}",
                "format": "qcow2",
                "attachment_id": attachment_id,
                "access_mode": "rw",
                "encrypted": False,
                "qos_specs": volume.get("_qos"),
            }
        return {
            "id": a["id"],
            "status": a["status"],
            "instance": a["instance"],
            "volume_id": a["volume_id"],
            "attach_mode": a["attach_mode"],
            "attached_at": "",
            "detached_at": "",
            "connection_info": info,
        }

    def get_attachment(self, rest: str, body: Any) -> httpx.Response:
        if rest not in self.attachments:
            return error(404, f"Volume attachment {rest} could not be found.")
        return httpx.Response(200, json={"attachment": self._attachment(rest)})

    def update_attachment(self, rest: str, body: Any) -> httpx.Response:
        a = self.attachments.get(rest)
        if a is None:
            return error(404, f"Volume attachment {rest} could not be found.")
        a["connector"] = dict(body["attachment"]["connector"])
        a["status"] = "attaching"
        a["attach_mode"] = "rw"
        volume = self.volumes[a["volume_id"]]
        if volume["status"] == "reserved":
            volume["status"] = "attaching"
        return httpx.Response(200, json={"attachment": self._attachment(rest)})

    def complete(self, rest: str, body: Any) -> httpx.Response:
        attachment_id, _, action = rest.partition("/")
        a = self.attachments.get(attachment_id)
        if a is None or action != "action" or "os-complete" not in (body or {}):
            return error(404, f"Volume attachment {attachment_id} could not be found.")
        a["status"] = "attached"
        self.volumes[a["volume_id"]]["status"] = "in-use"
        return httpx.Response(204)

    def delete_attachment(self, rest: str, body: Any) -> httpx.Response:
        a = self.attachments.pop(rest, None)
        if a is None:
            return error(404, f"Volume attachment {rest} could not be found.")
        volume = self.volumes.get(a["volume_id"])
        if volume is not None:
            left = [o for o in self.attachments.values() if o["volume_id"] == volume["id"]]
            if not left:
                volume["status"] = "available"
            elif any(o["status"] == "attached" for o in left):
                volume["status"] = "in-use"
            else:
                volume["status"] = "reserved"
        return httpx.Response(200, json={"attachments": []})

    # -- snapshots -----------------------------------------------------------------------------
    def create_snapshot(self, rest: str, body: Any) -> httpx.Response:
        spec = body["snapshot"]
        volume = self.volumes.get(spec["volume_id"])
        if volume is None:
            return error(404, f"Volume {spec['volume_id']} could not be found.")
        if volume["status"] != "available" and not spec.get("force"):
            return error(400, "Invalid volume: Volume status must be available.")
        snapshot_id = str(uuidlib.uuid4())
        self.snapshots[snapshot_id] = {
            "id": snapshot_id,
            "status": "available",
            "size": volume["size"],
            "volume_id": volume["id"],
            "name": spec.get("name"),
            "description": spec.get("description"),
        }
        return httpx.Response(202, json={"snapshot": self.snapshots[snapshot_id]})

    def get_snapshot(self, rest: str, body: Any) -> httpx.Response:
        if rest not in self.snapshots:
            return error(404, f"Snapshot {rest} could not be found.")
        return httpx.Response(200, json={"snapshot": self.snapshots[rest]})

    def delete_snapshot(self, rest: str, body: Any) -> httpx.Response:
        if self.snapshots.pop(rest, None) is None:
            return error(404, f"Snapshot {rest} could not be found.")
        return httpx.Response(202)

    # -- images --------------------------------------------------------------------------------
    def _glance(self, request: httpx.Request, path: str, body: Any) -> httpx.Response:
        parts = path.strip("/").split("/")
        if request.method == "GET" and len(parts) == 2:
            image = self.images.get(parts[1])
            return httpx.Response(200, json=image) if image else httpx.Response(404)
        if request.method == "POST" and parts == ["images"]:
            image_id = self.add_image(status="queued", size=None, **body)
            return httpx.Response(201, json=self.images[image_id])
        if request.method == "PUT" and len(parts) == 3 and parts[2] == "file":
            image = self.images.get(parts[1])
            if image is None:
                return httpx.Response(404)
            self.image_data[parts[1]] = request.content
            image.update(status="active", size=len(request.content))
            return httpx.Response(204)
        if request.method == "DELETE" and len(parts) == 2:
            return httpx.Response(204 if self.images.pop(parts[1], None) else 404)
        return httpx.Response(404)
