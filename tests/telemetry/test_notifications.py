"""Every service announces what it did on the cloud's bus, in oslo.messaging's envelope
with upstream's event types and payloads, read here by a listener pool of the test."""

from __future__ import annotations

from typing import Any

from tests.telemetry.conftest import Env


def test_services_emit_upstream_notifications(env: Env) -> None:
    seen = env.notifications
    project = env.identity.post("/projects", {"project": {"name": "tsf-telemetry"}}, 201).json()[
        "project"
    ]
    created = seen.wait_for(
        "identity.project.created", lambda p: p["resource_info"] == project["id"]
    )
    assert created.publisher_id.startswith("identity.")

    image = env.image.post(
        "/v2/images", {"name": "tsf-img", "disk_format": "raw", "container_format": "bare"}, 201
    ).json()
    env.image.put(
        f"/v2/images/{image['id']}/file",
        status=204,
        content=b"\1" * 8192,
        headers={"Content-Type": "application/octet-stream"},
    )
    upload = seen.wait_for("image.upload", lambda p: p["id"] == image["id"])
    assert (upload.payload["size"], upload.payload["status"]) == (8192, "active")

    volume = env.volume.post("/volumes", {"volume": {"size": 1, "name": "tsf-v"}}, 202).json()
    vid = volume["volume"]["id"]
    env.wait(env.volume, f"/volumes/{vid}", "volume", "available")
    made = seen.wait_for("volume.create.end", lambda p: p["volume_id"] == vid)
    assert made.payload["size"] == 1 and made.payload["status"] == "available"
    assert made.payload["tenant_id"] and made.publisher_id.startswith("volume.")
    env.volume.delete(f"/volumes/{vid}", 202)
    seen.wait_for("volume.delete.end", lambda p: p["volume_id"] == vid)

    net = env.network.post("/v2.0/networks", {"network": {"name": "tsf-net"}}, 201).json()
    port = env.network.post(
        "/v2.0/ports", {"port": {"network_id": net["network"]["id"]}}, 201
    ).json()["port"]
    announced = seen.wait_for("port.create.end", lambda p: p["port"]["id"] == port["id"])
    announced_payload: dict[str, Any] = dict(announced.payload)
    announced_port = announced_payload["port"]
    assert announced_port["mac_address"] == port["mac_address"]

    server = env.compute.post(
        "/servers",
        {
            "server": {
                "name": "tsf-vm",
                "flavorRef": "1",
                "imageRef": image["id"],
                "networks": "none",
            }
        },
        202,
    ).json()["server"]
    env.wait(env.compute, f"/servers/{server['id']}", "server", "ACTIVE")
    booted = seen.wait_for(
        "compute.instance.create.end", lambda p: p["instance_id"] == server["id"]
    )
    assert booted.publisher_id.startswith("compute.")
    payload: dict[str, Any] = dict(booted.payload)
    assert payload["state"] == "active" and payload["memory_mb"] > 0
    assert payload["launched_at"] and payload["message"] == "Success"
    assert booted.priority == "INFO" and booted.context["project_id"]
    env.compute.delete(f"/servers/{server['id']}", 204)
    gone = seen.wait_for("compute.instance.delete.end", lambda p: p["instance_id"] == server["id"])
    assert gone.payload["state"] == "deleted" and gone.payload["terminated_at"]
