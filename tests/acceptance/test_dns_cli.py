"""DNS integration through the real ``openstack`` CLI and openstacksdk.

A cloud of its own: ports keep a ``dns_name`` only when ``[network] dns_domain`` is not
upstream's default (``openstacklocal``), which the shared cloud keeps.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cloudproc import CloudProcess

pytestmark = pytest.mark.cli
DEMO = "tinystack-demo"


@pytest.fixture(scope="module")
def dns_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CloudProcess]:
    extra = "[network]\ndns_domain = example.org.\n"
    proc = CloudProcess(Path(tmp_path_factory.mktemp("dns")), ["identity", "network"], extra)
    proc.start(timeout=120)
    try:
        yield proc
    finally:
        proc.stop()


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_cli_dns_names(dns_cloud: CloudProcess) -> None:
    cloud = dns_cloud
    aliases = {row["Alias"] for row in cloud.osc("extension", "list", "--network")}
    assert {"dns-integration", "dns-domain-ports"} <= aliases
    net = _name("net")
    cloud.osc("network", "create", net, cloud=DEMO)
    cloud.osc("network", "set", "--dns-domain", "lab.example.org.", net, cloud=DEMO)
    assert cloud.osc("network", "show", net, cloud=DEMO)["dns_domain"] == "lab.example.org."
    cloud.osc(
        "subnet", "create", "--network", net, "--subnet-range", "10.9.0.0/24", net, cloud=DEMO
    )
    port = cloud.osc(
        "port", "create", "--network", net, "--dns-name", "Web1",
        "--fixed-ip", "ip-address=10.9.0.20", _name("port"), cloud=DEMO,
    )  # fmt: skip
    assert port["dns_name"] == "web1"
    assert port["dns_assignment"] == [
        {"hostname": "web1", "ip_address": "10.9.0.20", "fqdn": "web1.example.org."}
    ]
    cloud.osc("port", "set", "--dns-name", "web2", port["id"], cloud=DEMO)
    shown = cloud.osc("port", "show", port["id"], cloud=DEMO)
    assert shown["dns_name"] == "web2" and shown["dns_assignment"][0]["fqdn"] == (
        "web2.example.org."
    )
    bad = cloud.osc_raw("port", "set", "--dns-name", "bad_name", port["id"], cloud=DEMO)
    assert bad.returncode != 0 and "Invalid input for dns_name" in bad.stderr, bad.stderr
    conn = cloud.sdk(DEMO)
    # (openstacksdk's port query has no dns_name: ask the API)
    url = cloud.endpoint("network").rstrip("/") + "/v2.0/ports?dns_name=web2"
    found = conn.session.get(url, endpoint_filter=None).json()["ports"]
    assert [p["id"] for p in found] == [port["id"]]
    sdk_port = conn.network.update_port(port["id"], dns_domain="other.org.")
    assert sdk_port.dns_domain == "other.org." and sdk_port.dns_name == "web2"
