"""Compute's side of block storage, in-process: ``os-volume_attachments``, the agent's
attach/detach/extend flows, boot from volume, delete, volume-backed createImage and shelve.

The compute service runs for real (API, agent thread, database, one fake host); the block
storage and image services are the test doubles of ``fake_storage.py`` spoken to over HTTP
by compute's real clients.
"""

from __future__ import annotations

import time
import uuid as uuidlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.compute.fake_storage import FakeStorage
from tests.support import make_runtime, make_token
from tinystack.common.rpc.context import CallContext
from tinystack.common.service import Runtime
from tinystack.common.timeutils import utcnow
from tinystack.compute import models, states
from tinystack.compute.objects import HostList, RequestSpec
from tinystack.compute.service import SERVICE
from tinystack.compute.services import block_devices, flavors, instances
from tinystack.compute.services.deps import Deps
from tinystack.compute.virt.fake import FakeDriver

HOST = "vh1"
PROJECT = "p-vol"
drivers: dict[str, FakeDriver] = {}


def one_fake_host(deps: Any, host: str) -> FakeDriver:
    drivers[host] = FakeDriver(host)
    return drivers[host]


@dataclass
class Cloud:
    runtime: Runtime
    deps: Deps
    storage: FakeStorage
    http: TestClient
    member: str
    admin: str

    @property
    def driver(self) -> FakeDriver:
        return drivers[HOST]

    def call(
        self,
        method: str,
        path: str,
        status: int,
        body: Any = None,
        version: str = "2.96",
        token: str | None = None,
    ) -> Any:
        response = self.http.request(
            method,
            "/v2.1" + path,
            json=body,
            headers={
                "X-Auth-Token": token or self.member,
                "OpenStack-API-Version": f"compute {version}",
            },
        )
        assert response.status_code == status, f"{method} {path}: {response.text}"
        return response.json() if response.content else None

    def server(self, **values: Any) -> str:
        """An ACTIVE server on the fake host (its row and its fake guest)."""
        row = models.Instance(
            uuid=str(uuidlib.uuid4()),
            project_id=PROJECT,
            user_id="u-vol",
            display_name="vm",
            flavorid="1",
            vcpus=1,
            memory_mb=512,
            flavor={"flavorid": "1", "name": "t", "vcpus": 1, "memory_mb": 512, "root_gb": 1},
            host=HOST,
            node=HOST,
            reservation_id="r-1",
            root_device_name="/dev/vda",
            request_spec={},
            system_metadata={},
            network_info=[],
            security_groups=[],
            image_ref="img",
            created_at=utcnow(),
            **{"vm_state": states.ACTIVE, "power_state": states.RUNNING, **values},
        )
        self.deps.db.write(lambda session: session.add(row))
        meta = instances.meta(instances.get(self.deps.db, row.uuid))
        self.driver.spawn(CallContext.internal(), meta, [], None)
        return row.uuid

    def wait(self, check: Callable[[], bool], what: str, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            time.sleep(0.02)

    def attach(self, server: str, volume: str, status: int = 200, **extra: Any) -> Any:
        version = extra.pop("version", "2.96")
        body = {"volumeAttachment": {"volumeId": volume, **extra}}
        return self.call("POST", f"/servers/{server}/os-volume_attachments", status, body, version)

    def events(self, server: str) -> list[tuple[str, str, str | None]]:
        """(action, event, result) of every event of the server's actions."""
        found = []
        actions = self.call("GET", f"/servers/{server}/os-instance-actions", 200)
        for action in actions["instanceActions"]:
            detail = self.call(
                "GET", f"/servers/{server}/os-instance-actions/{action['request_id']}", 200
            )["instanceAction"]
            for event in detail.get("events", []):
                found.append((action["action"], event["event"], event.get("result")))
        return found


@pytest.fixture
def cloud(tmp_path: Path) -> Iterator[Cloud]:
    storage = FakeStorage()
    overrides = {
        "compute.compute_driver": f"{__name__}:one_fake_host",
        "compute.host": HOST,
        "compute.api_settle_seconds": 0.0,
        "compute.block_device_allocate_retries_interval": 1,
    }
    runtime = make_runtime(tmp_path, SERVICE, overrides=overrides)
    deps = SERVICE.deps(runtime)
    deps.session = storage.session()
    flavors.bootstrap(deps.db)
    SERVICE.start(runtime)
    try:
        http = TestClient(SERVICE.create_app(runtime))
        yield Cloud(
            runtime,
            deps,
            storage,
            http,
            make_token(runtime, roles=["member"], project_id=PROJECT, user_id="u-vol"),
            make_token(runtime, roles=["admin"], project_id=PROJECT, user_id="u-admin"),
        )
    finally:
        SERVICE.stop(runtime)
        if runtime.db is not None:
            runtime.db.dispose()


def attached(cloud: Cloud, server: str) -> list[dict[str, Any]]:
    found = cloud.call("GET", f"/servers/{server}/os-volume_attachments", 200)
    return list(found["volumeAttachments"])


# -- attach, list, show, detach ---------------------------------------------------------------
def test_attach_list_show_detach(cloud: Cloud) -> None:
    server = cloud.server()
    volume = cloud.storage.add_volume()
    made = cloud.attach(server, volume, tag="data", delete_on_termination=True, version="2.79")
    assert made["volumeAttachment"] == {
        "id": volume,
        "serverId": server,
        "volumeId": volume,
        "device": "/dev/vdb",
        "tag": "data",
        "delete_on_termination": True,
    }
    cloud.wait(lambda: cloud.storage.status(volume) == "in-use", "the volume in use")
    plugged = cloud.driver.instances[server].volumes["/dev/vdb"]
    assert plugged["serial"] == volume and plugged["driver_volume_type"] == "file"
    assert plugged["data"]["device_path"].endswith(volume)  # Nova's shape, data put back
    # the connector went to the attachments API with the mount point in it
    (attachment,) = cloud.storage.attachments.values()
    assert attachment["connector"]["host"] == HOST and attachment["connector"]["mountpoint"]
    assert ("PUT", f"/v3/attachments/{attachment['id']}", "volume 3.44") in cloud.storage.seen

    path = f"/servers/{server}/os-volume_attachments"
    old = cloud.call("GET", path, 200, version="2.1")["volumeAttachments"]
    assert old == [{"id": volume, "volumeId": volume, "serverId": server, "device": "/dev/vdb"}]
    at_79 = cloud.call("GET", f"{path}/{volume}", 200, version="2.79")["volumeAttachment"]
    assert at_79["tag"] == "data" and at_79["delete_on_termination"] is True
    at_89 = cloud.call("GET", f"{path}/{volume}", 200, version="2.89")["volumeAttachment"]
    assert "id" not in at_89 and at_89["attachment_id"] == attachment["id"]
    bdm = block_devices.find(cloud.deps.db, server, volume)
    assert at_89["bdm_uuid"] == bdm.uuid
    assert cloud.call("GET", f"{path}?limit=1&offset=1", 200)["volumeAttachments"] == []
    cloud.call("GET", f"{path}?bogus=1", 400, version="2.75")

    shown = cloud.call("GET", f"/servers/{server}", 200, version="2.3")["server"]
    assert shown["os-extended-volumes:volumes_attached"] == [
        {"id": volume, "delete_on_termination": True}
    ]
    old_view = cloud.call("GET", f"/servers/{server}", 200, version="2.1")["server"]
    assert old_view["os-extended-volumes:volumes_attached"] == [{"id": volume}]

    cloud.call("DELETE", f"{path}/{volume}", 202)
    cloud.wait(lambda: cloud.storage.status(volume) == "available", "the volume available")
    cloud.wait(lambda: not attached(cloud, server), "the mapping gone")
    assert cloud.driver.instances[server].volumes == {}
    assert not cloud.storage.attachments
    events = cloud.events(server)
    assert ("attach_volume", "compute_attach_volume", "Success") in events
    assert ("detach_volume", "compute_detach_volume", "Success") in events


def test_attach_refusals(cloud: Cloud) -> None:
    server = cloud.server()
    other = cloud.server()
    volume = cloud.storage.add_volume()
    cloud.attach(server, volume)
    cloud.wait(lambda: cloud.storage.status(volume) == "in-use", "the volume in use")
    path = f"/servers/{server}/os-volume_attachments"

    err = cloud.attach(server, volume, 400)
    assert "already attached" in err["badRequest"]["message"]
    err = cloud.attach(other, volume, 400)
    assert f"volume {volume} is already attached to instances: {server}" in str(err)
    missing = str(uuidlib.uuid4())
    assert cloud.attach(server, missing, 404)["itemNotFound"]["message"] == (
        f"Volume {missing} could not be found."
    )
    fresh = cloud.storage.add_volume()
    cloud.attach(server, fresh, 400, device="/dev/bogus/")
    cloud.attach(server, fresh, 400, tag="x", version="2.48")
    cloud.attach(server, fresh, 400, delete_on_termination=True, version="2.78")
    cloud.call("POST", path, 400, {"volumeAttachment": {"volumeId": "not-a-uuid"}})
    cloud.call("POST", path, 400, {"volumeAttachment": {"volumeId": fresh, "what": 1}})
    cloud.attach(server, fresh, 409, device="/dev/vdb")  # the device is taken
    # a server busy with something else, or in a state that takes no volumes
    busy = cloud.server(task_state=states.Task.REBOOTING)
    cloud.attach(busy, fresh, 409)
    building = cloud.server(vm_state=states.BUILDING)
    cloud.attach(building, fresh, 409)
    # the block storage service refuses a volume in the wrong status: its reason, 400
    cloud.storage.volumes[fresh]["status"] = "error"
    err = cloud.attach(server, fresh, 400)
    assert "status must be available" in err["badRequest"]["message"]
    assert attached(cloud, server)[0]["volumeId"] == volume  # nothing half-written
    assert len(attached(cloud, server)) == 1
    cloud.call("DELETE", f"{path}/{fresh}", 404)


def test_multiattach(cloud: Cloud, monkeypatch: pytest.MonkeyPatch) -> None:
    """A multiattach volume needs 2.60 and a driver that can share it; both refusals are
    synchronous 400s that leave nothing reserved. Then two servers hold it at once."""
    one, two = cloud.server(), cloud.server()
    shared = cloud.storage.add_volume(multiattach=True)
    err = cloud.attach(one, shared, 400, version="2.59")
    assert err["badRequest"]["message"] == (
        "Multiattach volumes are only supported starting with compute API version 2.60."
    )
    monkeypatch.setitem(cloud.driver.capabilities, "supports_multiattach", False)
    err = cloud.attach(one, shared, 400, version="2.60")
    assert err["badRequest"]["message"] == (
        f"Volume {shared} has 'multiattach' set, which is not supported for this instance."
    )
    assert cloud.storage.status(shared) == "available" and not cloud.storage.attachments
    assert attached(cloud, one) == []
    monkeypatch.undo()

    cloud.attach(one, shared, version="2.60")
    cloud.attach(two, shared, version="2.60")

    def plugged(server: str) -> bool:
        return any(i.get("multiattach") for i in cloud.driver.instances[server].volumes.values())

    cloud.wait(lambda: plugged(one) and plugged(two), "the shared volume plugged")
    assert cloud.storage.status(shared) == "in-use"
    err = cloud.attach(one, shared, 400, version="2.60")
    assert "already attached" in err["badRequest"]["message"]


def test_attach_failure_rolls_back(cloud: Cloud) -> None:
    server = cloud.server()
    volume = cloud.storage.add_volume()
    cloud.driver.inject_failure("attach_volume", RuntimeError("the guest said no"))
    cloud.attach(server, volume)
    cloud.wait(
        lambda: ("attach_volume", "compute_attach_volume", "Error") in cloud.events(server),
        "the failed event",
    )
    cloud.wait(lambda: cloud.storage.status(volume) == "available", "the volume available")
    assert not cloud.storage.attachments
    assert attached(cloud, server) == []
    # the attachment update itself failing rolls back the same way
    cloud.storage.fail("update_attachment", 500, "export failed")
    cloud.attach(server, volume)
    cloud.wait(lambda: attached(cloud, server) == [], "the mapping gone again", 5)
    cloud.wait(lambda: cloud.storage.status(volume) == "available", "the volume available")
    assert cloud.driver.instances[server].volumes == {}


def test_detach_failure_keeps_the_volume(cloud: Cloud) -> None:
    server = cloud.server()
    volume = cloud.storage.add_volume()
    cloud.attach(server, volume)
    cloud.wait(lambda: cloud.storage.status(volume) == "in-use", "the volume in use")
    cloud.driver.inject_failure("detach_volume", RuntimeError("device busy"))
    cloud.call("DELETE", f"/servers/{server}/os-volume_attachments/{volume}", 202)
    cloud.wait(
        lambda: ("detach_volume", "compute_detach_volume", "Error") in cloud.events(server),
        "the failed detach",
    )
    assert cloud.storage.status(volume) == "in-use"  # rolled back from detaching
    assert [a["volumeId"] for a in attached(cloud, server)] == [volume]


def test_update_and_swap(cloud: Cloud) -> None:
    server = cloud.server()
    volume = cloud.storage.add_volume()
    cloud.attach(server, volume)
    cloud.wait(lambda: cloud.storage.status(volume) == "in-use", "the volume in use")
    path = f"/servers/{server}/os-volume_attachments/{volume}"
    body = {"volumeAttachment": {"volumeId": volume, "delete_on_termination": True}}
    cloud.call("PUT", path, 400, body, version="2.84")  # not a field before 2.85
    cloud.call("PUT", path, 202, body, version="2.85")
    shown = cloud.call("GET", path, 200, version="2.85")["volumeAttachment"]
    assert shown["delete_on_termination"] is True
    immutable = {"volumeAttachment": {"volumeId": volume, "device": "/dev/vdq"}}
    err = cloud.call("PUT", path, 400, immutable, version="2.85")
    assert err["badRequest"]["message"] == "The device property is not mutable"
    # a swap is for admins, and only while the block storage service migrates the volume
    new = cloud.storage.add_volume(size=2)
    swap = {"volumeAttachment": {"volumeId": new}}
    cloud.call("PUT", path, 403, swap, version="2.1")
    err = cloud.call("PUT", path, 409, swap, version="2.1", token=cloud.admin)
    assert "is not migrating" in err["conflictingRequest"]["message"]
    cloud.storage.volumes[volume]["migration_status"] = "migrating"
    cloud.call("PUT", path, 202, swap, version="2.1", token=cloud.admin)
    cloud.wait(lambda: cloud.storage.status(new) == "in-use", "the new volume in use")
    # Cinder's migration completion keeps the old id: the mapping and serial stay
    (mapping,) = attached(cloud, server)
    assert mapping["volumeId"] == volume
    plugged = cloud.driver.instances[server].volumes["/dev/vdb"]
    assert plugged["data"]["device_path"].endswith(new)
    assert ("swap_volume", "compute_swap_volume", "Success") in cloud.events(server)


def test_delete_releases_and_deletes_on_termination(cloud: Cloud) -> None:
    server = cloud.server()
    keep = cloud.storage.add_volume()
    drop = cloud.storage.add_volume()
    cloud.attach(server, keep)
    cloud.attach(server, drop, delete_on_termination=True, version="2.79")
    cloud.wait(
        lambda: {cloud.storage.status(keep), cloud.storage.status(drop)} == {"in-use"},
        "both volumes in use",
    )
    cloud.call("DELETE", f"/servers/{server}", 204)
    cloud.wait(lambda: not block_devices.list_for(cloud.deps.db, server), "the mappings gone")
    assert drop not in cloud.storage.volumes
    assert cloud.storage.status(keep) == "available"
    assert not cloud.storage.attachments


def test_volume_extended_event(cloud: Cloud) -> None:
    server = cloud.server()
    volume = cloud.storage.add_volume(size=1)
    cloud.attach(server, volume)
    cloud.wait(lambda: cloud.storage.status(volume) == "in-use", "the volume in use")
    cloud.storage.volumes[volume]["size"] = 3
    event = {"name": "volume-extended", "server_uuid": server, "tag": volume}
    old = cloud.call(
        "POST", "/os-server-external-events", 400, {"events": [event]}, "2.50", token=cloud.admin
    )
    assert "volume-extended" in str(old)
    done = cloud.call(
        "POST", "/os-server-external-events", 200, {"events": [event]}, "2.51", token=cloud.admin
    )
    assert done["events"][0]["code"] == 200
    cloud.wait(
        lambda: cloud.driver.instances[server].volume_sizes.get(volume) == 3 * 1024**3,
        "the guest told of the new size",
    )
    assert ("extend_volume", "compute_extend_volume", "Success") in cloud.events(server)

    # 3.71: the service waits (``extending``, the new size in the metadata) for this host to
    # grow the guest's disk and send the completion action
    def extending(size: str | None) -> None:
        cloud.storage.volumes[volume]["status"] = "extending"
        if size is not None:
            cloud.storage.volumes[volume]["metadata"]["extend_new_size"] = size
        cloud.call(
            "POST", "/os-server-external-events", 200, {"events": [event]}, "2.51",
            token=cloud.admin,
        )  # fmt: skip

    extending("5")
    cloud.wait(lambda: cloud.storage.status(volume) == "in-use", "the extend completed")
    assert cloud.storage.volumes[volume]["size"] == 5
    assert cloud.driver.instances[server].volume_sizes[volume] == 5 * 1024**3
    (mapping,) = block_devices.list_for(cloud.deps.db, server)
    assert mapping.volume_size == 5
    completions = [p for (m, p, v) in cloud.storage.seen if v == "volume 3.71"]
    assert completions == [f"/v3/volumes/{volume}/action"]
    # the guest's side fails: the service hears error (it rolls back), the action says Error
    cloud.driver.inject_failure("extend_volume", RuntimeError("block_resize refused"))
    extending("6")
    cloud.wait(lambda: cloud.storage.status(volume) == "error_extending", "the rollback")
    assert cloud.storage.volumes[volume]["size"] == 5
    assert cloud.driver.instances[server].volume_sizes[volume] == 5 * 1024**3
    # no new size recorded: nothing to grow to, the completion says error (which the
    # service, not waiting for anything, refuses with a 400)
    cloud.storage.volumes[volume]["metadata"].clear()
    extending(None)
    cloud.wait(
        lambda: sum(v == "volume 3.71" for (m, p, v) in cloud.storage.seen) == 3,
        "the third completion",
    )
    results = [str(r) for (a, e, r) in cloud.events(server) if e == "compute_extend_volume"]
    assert sorted(results) == ["Error", "Error", "Success", "Success"]


# -- boot from volume -------------------------------------------------------------------------
class DirectBuild:
    """Stands for the conductor and scheduler: builds on the one fake host right away."""

    def __init__(self, cloud: Cloud) -> None:
        self.cloud = cloud

    def build_instances(
        self,
        ctx: CallContext,
        uuids: list[str],
        spec: RequestSpec,
        host_lists: Any = None,
        attempt: int = 1,
    ) -> None:
        workers = self.cloud.runtime.extra["compute_workers"]
        manager = workers.agents.managers[HOST]
        for uuid in uuids:
            manager.builds.build_and_run_instance(ctx, uuid, spec, HostList(), 1, HOST)


def boot(cloud: Cloud, status: int = 202, version: str = "2.96", **server: Any) -> Any:
    cloud.deps._clients["conductor"] = DirectBuild(cloud)
    body = {"name": "bfv", "flavorRef": "1", "networks": "none", **server}
    return cloud.call("POST", "/servers", status, {"server": body}, version)


class BusAway:
    """Stands for the conductor while the message bus is down: every cast fails."""

    def build_instances(self, *args: Any, **kw: Any) -> None:
        from tinystack.common.rpc.exceptions import TransportError

        raise TransportError("cannot publish to RabbitMQ: connection refused")


def test_boot_with_the_message_bus_away_leaves_nothing(cloud: Cloud) -> None:
    """Regression (#18 chaos, RabbitMQ restarted during boots): the build's cast failing
    after its retries made ``POST /servers`` answer 500 and left a server no conductor
    would ever build. Now a 503 with Retry-After, and the server and its reservations
    (the boot volume) are gone again."""
    volume = cloud.storage.add_volume(bootable="true")
    cloud.deps._clients["conductor"] = BusAway()
    bdm = {"uuid": volume, "source_type": "volume", "destination_type": "volume", "boot_index": 0}
    body = {"name": "no-bus", "flavorRef": "1", "networks": "none",
            "block_device_mapping_v2": [bdm]}  # fmt: skip
    err = cloud.call("POST", "/servers", 503, {"server": body}, "2.96")
    assert "message bus" in str(err)
    listed = cloud.call("GET", "/servers?name=no-bus", 200)
    assert listed["servers"] == []
    assert cloud.storage.status(volume) == "available"


def test_boot_from_image_to_volume(cloud: Cloud) -> None:
    image = cloud.storage.add_image()
    bdm = {
        "uuid": image,
        "source_type": "image",
        "destination_type": "volume",
        "boot_index": 0,
        "volume_size": 2,
        "delete_on_termination": True,
    }
    made = boot(cloud, block_device_mapping_v2=[bdm])["server"]
    server = cloud.call("GET", f"/servers/{made['id']}", 200)["server"]
    assert server["status"] == "ACTIVE", server.get("fault")
    assert server["image"] == ""  # a volume-backed server shows no image
    (volume,) = server["os-extended-volumes:volumes_attached"]
    assert volume["delete_on_termination"] is True
    created = cloud.storage.volumes[volume["id"]]
    assert created["size"] == 2 and created["volume_image_metadata"]["image_id"] == image
    assert created["status"] == "in-use"
    fake = cloud.driver.instances[made["id"]]
    assert fake.boot_volume == "/dev/vda" and fake.volumes["/dev/vda"]["serial"] == volume["id"]
    (mapping,) = block_devices.list_for(cloud.deps.db, made["id"])
    assert mapping.is_root and mapping.source_type == "image" and mapping.image_id == image

    cloud.call("DELETE", f"/servers/{made['id']}", 204)
    cloud.wait(lambda: volume["id"] not in cloud.storage.volumes, "the root volume deleted")


def test_boot_from_existing_volume_and_snapshot(cloud: Cloud) -> None:
    image = cloud.storage.add_image()
    volume = cloud.storage.add_volume(
        size=1, bootable="true", volume_image_metadata={"image_id": image}
    )
    made = boot(
        cloud,
        block_device_mapping_v2=[
            {"uuid": volume, "source_type": "volume", "destination_type": "volume", "boot_index": 0}
        ],
    )["server"]
    assert cloud.call("GET", f"/servers/{made['id']}", 200)["server"]["status"] == "ACTIVE"
    assert cloud.storage.status(volume) == "in-use"

    snapshot = cloud.storage.create_snapshot(
        "", {"snapshot": {"volume_id": volume, "force": True}}
    ).json()
    from_snap = boot(
        cloud,
        block_device_mapping_v2=[
            {
                "uuid": snapshot["snapshot"]["id"],
                "source_type": "snapshot",
                "destination_type": "volume",
                "boot_index": 0,
            }
        ],
    )["server"]
    shown = cloud.call("GET", f"/servers/{from_snap['id']}", 200)["server"]
    assert shown["status"] == "ACTIVE"
    (new_volume,) = shown["os-extended-volumes:volumes_attached"]
    assert cloud.storage.volumes[new_volume["id"]]["snapshot_id"] == snapshot["snapshot"]["id"]
    # an existing volume is not the server's to delete; it comes back available
    cloud.call("DELETE", f"/servers/{made['id']}", 204)
    cloud.wait(lambda: cloud.storage.status(volume) == "available", "the volume released")


def test_bad_block_device_mappings(cloud: Cloud) -> None:
    image = cloud.storage.add_image()

    def refused(bdms: list[dict[str, Any]], message: str, status: int = 400, **kw: Any) -> None:
        err = boot(cloud, status, block_device_mapping_v2=bdms, **kw)
        assert message in str(err), err

    root = {"uuid": image, "source_type": "image", "destination_type": "volume", "boot_index": 0}
    refused([{**root, "boot_index": 1}], "Block Device Mapping is Invalid: Boot sequence")
    refused([root], "need to have a non-zero size specified")
    refused(
        [{"source_type": "blank", "destination_type": "volume", "boot_index": 0}],
        "Blank volumes (source: 'blank', dest: 'volume') need to have non-zero size",
    )
    refused([{**root, "volume_size": 1, "uuid": None}], "Missing device UUID.")
    refused(
        [{"uuid": image, "source_type": "image", "destination_type": "local", "boot_index": 0}],
        "Mapping image to local is not supported.",
    )
    missing = str(uuidlib.uuid4())
    refused(
        [{"uuid": missing, "source_type": "volume", "destination_type": "volume", "boot_index": 0}],
        f"Block Device Mapping is Invalid: failed to get volume {missing}.",
    )
    refused(
        [{**root, "volume_size": 1, "uuid": missing}],
        f"Block Device Mapping is Invalid: failed to get image {missing}.",
    )
    small = cloud.storage.add_image(min_disk=5)
    refused(
        [{**root, "uuid": small, "volume_size": 1}],
        "Volume is smaller than the minimum size specified in image metadata",
    )
    volume = cloud.storage.add_volume()
    refused(
        [{"uuid": volume, "source_type": "volume", "destination_type": "volume", "boot_index": 0}],
        "Cannot attach one or more volumes to multiple instances",
        max_count=2,
    )
    # the root must be bootable (Tempest test_create_server_from_non_bootable_volume)
    refused(
        [{"uuid": volume, "source_type": "volume", "destination_type": "volume", "boot_index": 0}],
        f"Block Device {volume} is not bootable.",
    )
    # nothing stays reserved after a refusal
    assert cloud.storage.status(volume) == "available" and not cloud.storage.attachments


def test_volume_backed_create_image_and_boot_it(cloud: Cloud) -> None:
    image = cloud.storage.add_image()
    root = {
        "uuid": image,
        "source_type": "image",
        "destination_type": "volume",
        "boot_index": 0,
        "volume_size": 1,
    }
    made = boot(cloud, block_device_mapping_v2=[root])["server"]
    server = made["id"]
    done = cloud.call(
        "POST", f"/servers/{server}/action", 202, {"createImage": {"name": "bfv-snap"}}
    )
    snap_image = cloud.storage.images[done["image_id"]]
    assert snap_image["status"] == "active" and snap_image["size"] == 0
    assert snap_image["bdm_v2"] == "True" and snap_image["root_device_name"] == "/dev/vda"
    import json

    (mapping,) = json.loads(snap_image["block_device_mapping"])
    assert mapping["source_type"] == "snapshot" and mapping["boot_index"] == 0
    assert mapping["snapshot_id"] in cloud.storage.snapshots
    cloud.call(
        "POST",
        f"/servers/{server}/action",
        400,
        {"createBackup": {"name": "b", "backup_type": "daily", "rotation": 1}},
    )
    cloud.call("POST", f"/servers/{server}/action", 400, {"rescue": {}})

    # booting the image makes a volume from the snapshot (the request's local root goes)
    again = boot(
        cloud,
        imageRef=done["image_id"],
        block_device_mapping_v2=[
            {
                "uuid": done["image_id"],
                "source_type": "image",
                "destination_type": "local",
                "boot_index": 0,
            }
        ],
    )["server"]
    shown = cloud.call("GET", f"/servers/{again['id']}", 200)["server"]
    assert shown["status"] == "ACTIVE", shown.get("fault")
    (volume,) = shown["os-extended-volumes:volumes_attached"]
    assert cloud.storage.volumes[volume["id"]]["snapshot_id"] == mapping["snapshot_id"]
    assert cloud.driver.instances[again["id"]].boot_volume == "/dev/vda"


def test_volume_backed_shelve_and_unshelve(cloud: Cloud) -> None:
    image = cloud.storage.add_image()
    root = {
        "uuid": image,
        "source_type": "image",
        "destination_type": "volume",
        "boot_index": 0,
        "volume_size": 1,
    }
    server = boot(cloud, block_device_mapping_v2=[root])["server"]["id"]
    (volume,) = [b.volume_id for b in block_devices.list_for(cloud.deps.db, server)]
    assert volume is not None
    cloud.call("POST", f"/servers/{server}/action", 202, {"shelve": None})
    cloud.wait(
        lambda: (
            cloud.call("GET", f"/servers/{server}", 200)["server"]["status"] == "SHELVED_OFFLOADED"
        ),
        "shelved offloaded",
    )
    assert server not in cloud.driver.instances
    assert not any(i["name"] == "bfv-shelved" for i in cloud.storage.images.values())
    # the volume stays reserved for the server, without this host's connection
    (attachment,) = cloud.storage.attachments.values()
    assert attachment["status"] == "reserved" and attachment["connector"] is None
    # attach a data volume while it has no host: reserved and in-use, connected at unshelve
    data = cloud.storage.add_volume()
    cloud.attach(server, data)
    assert cloud.storage.status(data) == "in-use"
    # unshelve through the agent (the conductor would place it here)
    cloud.deps.db.write(
        lambda s: instances.save_in(
            s, server, {"task_state": states.Task.UNSHELVING, "host": HOST, "node": HOST}
        )
    )
    manager = cloud.runtime.extra["compute_workers"].agents.managers[HOST]
    manager.images.unshelve_instance(CallContext.internal(), server)
    shown = cloud.call("GET", f"/servers/{server}", 200)["server"]
    assert shown["status"] == "ACTIVE", shown.get("fault")
    fake = cloud.driver.instances[server]
    assert fake.boot_volume == "/dev/vda" and set(fake.volumes) == {"/dev/vda", "/dev/vdb"}
    assert cloud.storage.status(volume) == "in-use" and cloud.storage.status(data) == "in-use"


def test_restart_settles_unfinished_attach_and_detach(cloud: Cloud) -> None:
    """A kill -9 between the API's reservation and the agent's attach, or before a detach
    ran: the agent's start-up recovery leaves every volume stable."""
    server = cloud.server()
    done = cloud.storage.add_volume()
    cloud.attach(server, done)
    cloud.wait(lambda: cloud.storage.status(done) == "in-use", "the volume in use")
    # an attach the agent never saw: mapped and reserved, not connected
    pending = cloud.storage.add_volume()
    bdm = block_devices.reserve(cloud.deps.db, server, block_devices.NewVolume(volume_id=pending))
    attachment = cloud.deps.volume.attachment_create(pending, server)
    block_devices.update(cloud.deps.db, bdm.uuid, {"attachment_id": attachment.id})
    assert cloud.storage.status(pending) == "reserved"
    # a detach the agent never ran: the volume stays detaching
    cloud.deps.volume.begin_detaching(done)
    assert cloud.storage.status(done) == "detaching"

    # the block storage service is not up yet when the agent restarts: nothing is forgotten
    cloud.storage.fail("delete_attachment", 503, "not yet")
    manager = cloud.runtime.extra["compute_workers"].agents.managers[HOST]
    manager.recovery.recover([manager.agent.store.load(server)])
    time.sleep(0.3)
    assert len(attached(cloud, server)) == 2
    cloud.wait(lambda: cloud.storage.status(pending) == "available", "the attach rolled back", 10)
    cloud.wait(lambda: cloud.storage.status(done) == "in-use", "the detach rolled back", 10)
    cloud.wait(lambda: [a["volumeId"] for a in attached(cloud, server)] == [done], "one left")


def _boot_from_volume(cloud: Cloud, image: str) -> tuple[str, str]:
    """A server booted from a new 1 GiB volume of ``image``: (server id, volume id)."""
    root = {
        "uuid": image,
        "source_type": "image",
        "destination_type": "volume",
        "boot_index": 0,
        "volume_size": 1,
    }
    server = boot(cloud, block_device_mapping_v2=[root])["server"]["id"]
    (attached,) = cloud.call("GET", f"/servers/{server}", 200)["server"][
        "os-extended-volumes:volumes_attached"
    ]
    return str(server), str(attached["id"])


def _status(cloud: Cloud, server: str) -> str:
    return str(cloud.call("GET", f"/servers/{server}", 200)["server"]["status"])


def test_volume_backed_rebuild(cloud: Cloud) -> None:
    """Rebuild before 2.93 with the root volume's image keeps the volume; a new image
    (2.93) has the block storage service re-image it (``volume-reimaged``); refusals as
    upstream's."""
    image = cloud.storage.add_image()
    server, volume = _boot_from_volume(cloud, image)
    action = f"/servers/{server}/action"

    def status() -> str:
        return _status(cloud, server)

    other = cloud.storage.add_image(name="other")
    err = cloud.call("POST", action, 400, {"rebuild": {"imageRef": other}}, "2.92")
    assert "Unable to rebuild with a different image for a volume-backed server" in str(err)
    cloud.call("POST", action, 202, {"rebuild": {"imageRef": image}}, "2.92")
    cloud.wait(lambda: status() == "ACTIVE", "rebuilt")
    fake = cloud.driver.instances[server]
    assert fake.boot_volume == "/dev/vda" and "/dev/vda" in fake.volumes

    # an image whose min_disk the volume cannot hold: upstream's VolumeSmallerThanMinDisk
    big_min = cloud.storage.add_image(min_disk=2)
    err = cloud.call("POST", action, 400, {"rebuild": {"imageRef": big_min}}, "2.93")
    assert err["badRequest"]["message"] == (
        "Volume is smaller than the minimum size specified in image metadata. Volume size is "
        f"{1024**3} bytes, minimum size is {2 * 1024**3} bytes."
    )
    # an image larger than the volume: the block storage service refuses the re-image,
    # the rebuild fails on the host and the server goes ERROR (as upstream's BuildAbort)
    huge = cloud.storage.add_image(size=3 * 1024**3)
    cloud.call("POST", action, 202, {"rebuild": {"imageRef": huge}}, "2.93")
    cloud.wait(lambda: status() == "ERROR", "the failed re-image")
    shown = cloud.call("GET", f"/servers/{server}", 200, token=cloud.admin)["server"]
    assert "Failed to rebuild volume backed instance" in shown["fault"]["message"]
    assert cloud.storage.status(volume) == "reserved"  # kept for the server

    # a fitting new image: the volume is re-imaged, the server comes back on it
    cloud.call("POST", action, 202, {"rebuild": {"imageRef": other}}, "2.93")
    cloud.wait(lambda: cloud.storage.status(volume) == "downloading", "the re-image started")
    reimage = [p for (m, p, v) in cloud.storage.seen if p.endswith(f"{volume}/action")]
    assert reimage and status() == "REBUILD"
    cloud.storage.reimaged(volume)
    event = {"name": "volume-reimaged", "server_uuid": server, "tag": volume}
    events = {"events": [event]}
    cloud.call("POST", "/os-server-external-events", 400, events, "2.92", token=cloud.admin)
    done = cloud.call("POST", "/os-server-external-events", 200, events, "2.93", token=cloud.admin)
    assert done["events"][0]["code"] == 200
    cloud.wait(lambda: status() == "ACTIVE", "rebuilt on the new image")
    shown = cloud.call("GET", f"/servers/{server}", 200)["server"]
    assert shown["image"] == ""  # still volume-backed, as upstream keeps it
    assert cloud.storage.status(volume) == "in-use"
    assert cloud.storage.volumes[volume]["volume_image_metadata"]["image_id"] == other
    fake = cloud.driver.instances[server]
    assert fake.boot_volume == "/dev/vda" and fake.volumes["/dev/vda"]["serial"] == volume
    ((mapping),) = block_devices.list_for(cloud.deps.db, server)
    assert mapping.connection_info and mapping.attachment_id
    live = [a for a in cloud.storage.attachments.values() if a["volume_id"] == volume]
    assert [a["id"] for a in live] == [mapping.attachment_id]  # the old one is gone
    assert ("rebuild", "compute_rebuild_instance", "Success") in cloud.events(server)


def test_volume_backed_rebuild_from_2_93_reimages_its_own_image(cloud: Cloud) -> None:
    """From 2.93 every rebuild of a volume-backed server starts from a fresh copy of the
    image, the volume's own too (upstream sets ``reimage_boot_volume`` on each one, Tempest's
    ServerActionsV293TestJSON sees it as the file it wrote gone); before 2.93 a rebuild on
    the same image leaves the root volume as it is."""
    image = cloud.storage.add_image()
    server, volume = _boot_from_volume(cloud, image)
    action = f"/servers/{server}/action"

    def status() -> str:
        return _status(cloud, server)

    def volume_actions() -> int:
        return sum(1 for (_, path, _) in cloud.storage.seen if path.endswith(f"{volume}/action"))

    sent = volume_actions()
    cloud.call("POST", action, 202, {"rebuild": {"imageRef": image}}, "2.92")
    cloud.wait(lambda: status() == "ACTIVE", "rebuilt on its volume as it was")
    assert volume_actions() == sent and "_reimage" not in cloud.storage.volumes[volume]
    assert cloud.storage.status(volume) == "in-use"

    cloud.call("POST", action, 202, {"rebuild": {"imageRef": image}}, "2.93")
    cloud.wait(lambda: cloud.storage.status(volume) == "downloading", "the re-image started")
    assert cloud.storage.volumes[volume]["_reimage"] == image and status() == "REBUILD"
    cloud.storage.reimaged(volume)
    event = {"name": "volume-reimaged", "server_uuid": server, "tag": volume}
    done = cloud.call(
        "POST", "/os-server-external-events", 200, {"events": [event]}, "2.93", token=cloud.admin
    )
    assert done["events"][0]["code"] == 200
    cloud.wait(lambda: status() == "ACTIVE", "rebuilt on the re-imaged volume")
    assert cloud.storage.status(volume) == "in-use"
    assert cloud.storage.volumes[volume]["volume_image_metadata"]["image_id"] == image
    assert cloud.call("GET", f"/servers/{server}", 200)["server"]["image"] == ""
    assert cloud.driver.instances[server].volumes["/dev/vda"]["serial"] == volume


def test_zero_disk_flavor_boots_from_volume_with_a_blank_data_volume(cloud: Cloud) -> None:
    zero = {"flavor": {"name": "zero-disk", "ram": 256, "vcpus": 1, "disk": 0, "id": "zd"}}
    cloud.call("POST", "/flavors", 200, zero, token=cloud.admin)
    image = cloud.storage.add_image(size=5 * 1024**3)  # larger than any local root here
    made = boot(
        cloud,
        flavorRef="zd",
        block_device_mapping_v2=[
            {
                "uuid": image,
                "source_type": "image",
                "destination_type": "volume",
                "boot_index": 0,
                "volume_size": 6,
                "delete_on_termination": True,
            },
            {
                "source_type": "blank",
                "destination_type": "volume",
                "volume_size": 2,
                "boot_index": -1,
                "delete_on_termination": True,
                "tag": "scratch",
            },
        ],
    )["server"]
    shown = cloud.call("GET", f"/servers/{made['id']}", 200)["server"]
    assert shown["status"] == "ACTIVE", shown.get("fault")
    listing = cloud.call(
        "GET", f"/servers/{made['id']}/os-volume_attachments", 200, version="2.70"
    )["volumeAttachments"]
    assert [(a["device"], a["tag"]) for a in listing] == [
        ("/dev/vda", None),
        ("/dev/vdb", "scratch"),
    ]
    blank = cloud.storage.volumes[listing[1]["volumeId"]]
    assert blank["size"] == 2 and blank["name"] == f"{made['id']}-blank-vol"
    assert set(cloud.driver.instances[made["id"]].volumes) == {"/dev/vda", "/dev/vdb"}
    cloud.call("DELETE", f"/servers/{made['id']}", 204)
    cloud.wait(
        lambda: not any(v in cloud.storage.volumes for v in (a["volumeId"] for a in listing)),
        "both volumes deleted",
    )
