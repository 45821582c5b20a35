"""Compute notifications: server external events posted with a service token (fake servers),
and the bootstrap's project lookup through the same kind of session."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tinystack.common.cloud import CatalogEntry, ServiceCredentials
from tinystack.network.notifier import (
    Events,
    NullComputeNotifier,
    RestComputeNotifier,
    ServerEvent,
    make_compute_notifier,
    vif_event,
)
from tinystack.network.services.bootstrap import identity_lookup
from tinystack.network.services.records import PortRecord

CREDS = ServiceCredentials(username="neutron", password="secret")


class FakeCloud:
    """Identity's token API and compute's external events API on one HTTP server."""

    def __init__(self) -> None:
        self.tokens: list[dict[str, Any]] = []
        self.events: list[tuple[str, list[dict[str, Any]]]] = []
        self.lookups: list[tuple[str, str]] = []
        self.reject_next = 0
        self.received = threading.Event()
        cloud = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                if self.path.startswith("/v3/projects?"):
                    cloud.lookups.append((self.headers["X-Auth-Token"], self.path))
                    found = [{"id": "p-1", "name": "demo"}] if "name=demo" in self.path else []
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.end_headers()
                    self.wfile.write(json.dumps({"projects": found}).encode())
                    return
                self.send_response(404)
                self.end_headers()

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if self.path == "/v3/auth/tokens":
                    cloud.tokens.append(body)
                    token = json.dumps({"token": {"expires_at": "2999-01-01T00:00:00Z"}})
                    self.send_response(201)
                    self.send_header("X-Subject-Token", f"token-{len(cloud.tokens)}")
                    self.send_header("Content-Type", "application/json")
                    self.end_headers()
                    self.wfile.write(token.encode())
                    return
                if self.path == "/v2.1/os-server-external-events":
                    if cloud.reject_next:
                        cloud.reject_next -= 1
                        self.send_response(401)
                        self.end_headers()
                        return
                    cloud.events.append((self.headers["X-Auth-Token"], body["events"]))
                    cloud.received.set()
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.end_headers()
                    self.wfile.write(json.dumps({"events": body["events"]}).encode())
                    return
                self.send_response(404)
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake() -> Iterator[FakeCloud]:
    cloud = FakeCloud()
    yield cloud
    cloud.close()


def _port(status: str = "ACTIVE", owner: str = "compute:nova") -> PortRecord:
    stamp = datetime(2026, 1, 1)
    return PortRecord(
        id="port-1",
        name="",
        network_id="net-1",
        project_id="p",
        mac_address="fa:16:3e:00:00:01",
        admin_state_up=True,
        status=status,
        device_id="server-1",
        device_owner=owner,
        fixed_ips=(),
        security_groups=(),
        allowed_address_pairs=(),
        extra_dhcp_opts=(),
        port_security_enabled=True,
        host_id="",
        vif_type="unbound",
        vif_details={},
        vnic_type="normal",
        profile={},
        description="",
        created_at=stamp,
        updated_at=stamp,
        revision_number=1,
        tags=(),
        network_project_id="p",
        network_shared=False,
    )


def test_events_are_posted_with_a_service_token(fake: FakeCloud) -> None:
    notifier = RestComputeNotifier(f"{fake.url}/v3", CREDS, f"{fake.url}/v2.1", interval=0)
    events = Events(None, notifier)
    events.port_status_changed(_port(), "BUILD", "ACTIVE")
    events.port_status_changed(_port(), "ACTIVE", "DOWN")
    events.port_status_changed(_port(owner="network:dhcp"), "DOWN", "ACTIVE")
    assert notifier.flush()
    token, sent = fake.events[0]
    assert token == "token-1"
    assert [e["name"] for e in sent] == ["network-vif-plugged", "network-vif-unplugged"]
    assert sent[0] == {
        "name": "network-vif-plugged",
        "server_uuid": "server-1",
        "tag": "port-1",
        "status": "completed",
    }
    auth = fake.tokens[0]["auth"]
    assert auth["identity"]["password"]["user"]["name"] == "neutron"
    assert auth["scope"]["project"]["name"] == "service"
    fake.reject_next = 1
    notifier.notify([ServerEvent("network-vif-deleted", "server-1", "port-1")])
    assert notifier.flush()
    assert fake.events[-1][0] == "token-2"
    notifier.stop()


def test_background_delivery(fake: FakeCloud) -> None:
    notifier = RestComputeNotifier(f"{fake.url}/v3", CREDS, f"{fake.url}/v2.1", interval=0.05)
    notifier.start()
    started = time.monotonic()
    notifier.notify([ServerEvent("network-vif-plugged", "server-1", "port-1")])
    assert fake.received.wait(5)
    assert time.monotonic() - started >= 0.05
    notifier.stop()


def test_no_compute_no_notifier() -> None:
    catalog = [CatalogEntry("identity", "keystone", "http://127.0.0.1:5000/v3")]
    assert isinstance(make_compute_notifier("http://x/v3", CREDS, catalog, 1), NullComputeNotifier)
    catalog.append(CatalogEntry("compute", "nova", "http://127.0.0.1:8774/v2.1"))
    notifier = make_compute_notifier("http://x/v3", CREDS, catalog, 1)
    assert isinstance(notifier, RestComputeNotifier)
    assert make_compute_notifier("", None, catalog, 1).__class__ is NullComputeNotifier
    assert vif_event(_port(owner="network:router_interface"), "network-vif-plugged") is None
    assert vif_event(_port(), "network-vif-deleted") == ServerEvent(
        "network-vif-deleted", "server-1", "port-1", "completed"
    )


def test_unreachable_compute_is_not_fatal() -> None:
    notifier = RestComputeNotifier("http://127.0.0.1:9/v3", CREDS, "http://127.0.0.1:9/v2.1", 0)
    notifier.notify([ServerEvent("network-vif-plugged", "server-1", "port-1")])
    assert notifier.flush() is False
    notifier.stop()


def test_bootstrap_looks_projects_up_with_one_service_token(fake: FakeCloud) -> None:
    lookup = identity_lookup(f"{fake.url}/v3", CREDS)
    assert lookup("demo") == "p-1"
    assert lookup("nobody") is None
    assert len(fake.tokens) == 1
    assert [token for token, _ in fake.lookups] == ["token-1", "token-1"]
    assert "domain_id=default" in fake.lookups[0][1]
