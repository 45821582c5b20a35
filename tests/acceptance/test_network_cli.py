"""Networking acceptance with the real openstack CLI and openstacksdk.

CLI invocations are the expensive part (~0.8 s each): the CLI covers the
commands users type, openstacksdk the rest.
"""

from __future__ import annotations

import subprocess
import uuid

import pytest

from tests.cloudproc import CloudProcess

pytestmark = pytest.mark.cli
DEMO = "tinystack-demo"


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_bootstrap_topology(cloud: CloudProcess) -> None:
    conn = cloud.sdk(DEMO)
    public = conn.network.find_network("public")
    private = conn.network.find_network("private")
    assert public.is_router_external and private is not None
    router = conn.network.find_router("router1")
    assert router.external_gateway_info["network_id"] == public.id
    interfaces = list(
        conn.network.ports(device_id=router.id, device_owner="network:router_interface")
    )
    assert interfaces[0].fixed_ips[0]["ip_address"] == "10.0.0.1"
    assert next(conn.network.subnets(network_id=private.id)).cidr == "10.0.0.0/26"
    admin = cloud.sdk()
    shown = admin.network.get_network(public.id)
    assert shown.provider_network_type == "flat" and shown.provider_physical_network == "public"


def test_cli_topology(cloud: CloudProcess) -> None:
    net, v4, v6, router = _name("net"), _name("v4"), _name("v6"), _name("router")
    vx = cloud.osc("network", "create", "--provider-network-type", "vxlan", _name("vx"))
    assert vx["provider:network_type"] == "vxlan" and vx["mtu"] == 1450
    created = cloud.osc("network", "create", net, cloud=DEMO)
    assert created["status"] == "ACTIVE"
    subnet = cloud.osc(
        "subnet", "create", "--network", net, "--subnet-range", "192.168.77.0/24", v4, cloud=DEMO
    )
    assert subnet["gateway_ip"] == "192.168.77.1"
    subnet6 = cloud.osc(
        "subnet",
        "create",
        "--network",
        net,
        "--ip-version",
        "6",
        "--ipv6-ra-mode",
        "slaac",
        "--ipv6-address-mode",
        "slaac",
        "--subnet-range",
        "2001:db8:77::/64",
        v6,
        cloud=DEMO,
    )
    assert subnet6["ipv6_address_mode"] == "slaac"
    port = cloud.osc(
        "port",
        "create",
        "--network",
        net,
        "--fixed-ip",
        f"subnet={v4},ip-address=192.168.77.10",
        _name("port"),
        cloud=DEMO,
    )
    addresses = {ip["ip_address"] for ip in port["fixed_ips"]}
    assert "192.168.77.10" in addresses and any(a.startswith("2001:db8:77:") for a in addresses)
    cloud.osc("router", "create", router, cloud=DEMO)
    cloud.osc("router", "add", "subnet", router, v4, cloud=DEMO)
    cloud.osc("router", "set", "--external-gateway", "public", router, cloud=DEMO)
    fip = cloud.osc("floating", "ip", "create", "public", cloud=DEMO)
    assert fip["floating_ip_address"].startswith("172.24.4.")
    cloud.osc("floating", "ip", "set", "--port", port["id"], fip["id"], cloud=DEMO)
    conn = cloud.sdk(DEMO)
    associated = conn.network.get_ip(fip["id"])
    assert associated.fixed_ip_address == "192.168.77.10"
    assert associated.router_id == conn.network.find_router(router).id
    failed = cloud.osc_raw("network", "delete", net, cloud=DEMO)
    assert failed.returncode != 0 and "in use" in failed.stderr.lower()


def test_cli_security_groups(cloud: CloudProcess) -> None:
    group = _name("sg")
    created = cloud.osc("security", "group", "create", group, cloud=DEMO)
    assert len(created["rules"]) == 2
    icmp = cloud.osc("security", "group", "rule", "create", "--protocol", "icmp", group, cloud=DEMO)
    assert icmp["protocol"] == "icmp"
    ssh = cloud.osc(
        "security",
        "group",
        "rule",
        "create",
        "--protocol",
        "tcp",
        "--dst-port",
        "22",
        group,
        cloud=DEMO,
    )
    assert ssh["port_range_min"] == ssh["port_range_max"] == 22
    dup = cloud.osc_raw(
        "security",
        "group",
        "rule",
        "create",
        "--protocol",
        "tcp",
        "--dst-port",
        "22",
        group,
        cloud=DEMO,
    )
    assert dup.returncode != 0 and "already exists" in dup.stderr
    # a stateless group cannot join a stateful one on a port
    stateless = _name("nat")
    made = cloud.osc("security", "group", "create", "--stateless", stateless, cloud=DEMO)
    assert made["stateful"] is False
    mixed = cloud.osc_raw(
        "port",
        "create",
        "--network",
        "private",
        "--security-group",
        group,
        "--security-group",
        stateless,
        _name("mixed"),
        cloud=DEMO,
    )
    assert mixed.returncode != 0 and "stateless" in mixed.stderr, mixed.stderr


def test_cli_rbac_tags_quotas_and_lists(cloud: CloudProcess) -> None:
    name = _name("shared")
    net = cloud.osc("network", "create", "--tag", "blue", name)
    assert net["tags"] == ["blue"]
    rbac = cloud.osc(
        "network",
        "rbac",
        "create",
        "--target-project",
        "demo",
        "--action",
        "access_as_shared",
        "--type",
        "network",
        name,
    )
    assert rbac["object_id"] == net["id"]
    demo_view = cloud.sdk(DEMO).network.get_network(net["id"])
    assert demo_view.is_shared
    rows = cloud.osc("network", "list", "--long", "--tags", "blue")
    assert [r["Name"] for r in rows] == [name] and rows[0]["Network Type"] == "vxlan"
    cloud.osc("quota", "set", "--ports", "77", "demo")
    conn = cloud.sdk()
    demo_project = conn.identity.find_project("demo")
    assert conn.network.get_quota(demo_project.id).ports == 77
    device = str(uuid.uuid4())
    private = conn.network.find_network("private")
    port = conn.network.create_port(
        network_id=private.id,
        device_id=device,
        device_owner="compute:nova",
        project_id=demo_project.id,
    )
    listed = cloud.osc("port", "list", "--device-id", device)
    assert [p["ID"] for p in listed] == [port.id]
    if "compute" in cloud.services:
        # `port list --server` resolves a real server: boot one (fake driver) on a new port.
        image = conn.image.create_image(
            name=_name("img"), data=b"\0" * 65536, disk_format="raw", container_format="bare"
        )
        server_port = conn.network.create_port(network_id=private.id)
        server = cloud.osc(
            "server", "create", "--image", image.id, "--flavor", "m1.nano",
            "--port", server_port.id, "--wait", _name("vm"),
        )  # fmt: skip
        rows = cloud.osc("port", "list", "--server", server["id"])
        assert [p["ID"] for p in rows] == [server_port.id]
        cloud.osc("server", "delete", "--wait", server["id"])
        conn.image.delete_image(image)
    with pytest.raises(subprocess.CalledProcessError):
        cloud.osc("network", "show", _name("missing"))


def test_sdk_network_api(cloud: CloudProcess) -> None:
    conn = cloud.sdk(DEMO)
    net = conn.network.create_network(name=_name("sdk"))
    subnet = conn.network.create_subnet(
        network_id=net.id,
        ip_version=4,
        cidr="10.99.0.0/24",
        allocation_pools=[{"start": "10.99.0.100", "end": "10.99.0.102"}],
    )
    ports = [conn.network.create_port(network_id=net.id) for _ in range(3)]
    assert {p.fixed_ips[0]["ip_address"] for p in ports} == {
        "10.99.0.100",
        "10.99.0.101",
        "10.99.0.102",
    }
    from openstack import exceptions

    with pytest.raises(exceptions.ConflictException):
        conn.network.create_port(network_id=net.id)
    paged = list(conn.network.ports(network_id=net.id, limit=2))
    assert len(paged) == 3
    conn.network.update_port(ports[0], name="renamed")
    assert conn.network.get_port(ports[0].id).name == "renamed"
    conn.network.set_tags(net, ["a", "b"])
    assert sorted(conn.network.get_network(net.id).tags) == ["a", "b"]
    groups = list(conn.network.security_groups())
    assert "default" in {g.name for g in groups}
    assert {a.name for a in conn.network.availability_zones()} == {"nova"}
    assert any(e.alias == "router" for e in conn.network.extensions())
    for port in ports:
        conn.network.delete_port(port)
    conn.network.delete_subnet(subnet)
    conn.network.delete_network(net)
    assert conn.network.find_network(net.id) is None


def test_cli_firewall_groups(cloud: CloudProcess) -> None:
    """FWaaS v2 through ``openstack firewall group ...`` (python-openstackclient's
    commands): rules, a policy ordered with --insert-before/--insert-after, a group on
    the bootstrap router's interface, and upstream's refusals."""
    deny, allow, late = _name("deny"), _name("allow"), _name("late")
    policy, group = _name("fwp"), _name("fwg")
    rule = cloud.osc(
        "firewall", "group", "rule", "create", "--name", deny, "--protocol", "tcp",
        "--destination-port", "22", "--action", "deny", cloud=DEMO,
    )  # fmt: skip
    assert (rule["Protocol"], rule["Destination Port"], rule["Action"]) == ("tcp", "22", "deny")
    cloud.osc("firewall", "group", "rule", "create", "--name", allow, "--protocol", "tcp",
              "--destination-port", "22", "--action", "allow", cloud=DEMO)  # fmt: skip
    cloud.osc("firewall", "group", "rule", "create", "--name", late, "--protocol", "icmp",
              "--action", "allow", cloud=DEMO)  # fmt: skip
    created = cloud.osc(
        "firewall", "group", "policy", "create", "--firewall-rule", deny, policy, cloud=DEMO
    )
    assert created["Firewall Rules"] == [rule["ID"]]
    cloud.osc("firewall", "group", "policy", "add", "rule", policy, allow,
              "--insert-before", deny, cloud=DEMO)  # fmt: skip
    cloud.osc("firewall", "group", "policy", "add", "rule", policy, late,
              "--insert-after", deny, cloud=DEMO)  # fmt: skip
    shown = cloud.osc("firewall", "group", "policy", "show", policy, cloud=DEMO)
    names = {r["ID"]: r["Name"] for r in cloud.osc("firewall", "group", "rule", "list", cloud=DEMO)}
    assert [names[r] for r in shown["Firewall Rules"]] == [allow, deny, late]
    conn = cloud.sdk(DEMO)
    router = conn.network.find_router("router1")
    interface = next(
        conn.network.ports(device_id=router.id, device_owner="network:router_interface")
    )
    # this cloud runs no L3 agent (dataplane = none): a group with ports and a policy
    # would stay PENDING_CREATE as upstream's does without an agent, so the group gets
    # its port and its policy one at a time (INACTIVE); the data plane is
    # tests/network_dataplane/test_fwaas.py
    fwg = cloud.osc(
        "firewall", "group", "create", "--name", group, "--port", interface.id, cloud=DEMO
    )
    assert fwg["Ports"] == [interface.id] and fwg["Status"] == "INACTIVE"
    listed = cloud.osc("firewall", "group", "list", cloud=DEMO)
    assert {"default", group} <= {g["Name"] for g in listed}
    # a port is in one group at most; a group with ports, a rule in a policy: in use
    with pytest.raises(subprocess.CalledProcessError) as err:
        cloud.osc("firewall", "group", "create", "--port", interface.id, cloud=DEMO)
    assert "already associated" in err.value.stderr
    with pytest.raises(subprocess.CalledProcessError) as err:
        cloud.osc("firewall", "group", "delete", group, cloud=DEMO)
    assert "still active" in err.value.stderr
    with pytest.raises(subprocess.CalledProcessError) as err:
        cloud.osc("firewall", "group", "rule", "delete", deny, cloud=DEMO)
    assert "is being used" in err.value.stderr
    cloud.osc("firewall", "group", "set", "--no-port", group, cloud=DEMO)
    cloud.osc("firewall", "group", "set", "--ingress-firewall-policy", policy, group, cloud=DEMO)
    fwg = cloud.osc("firewall", "group", "show", group, cloud=DEMO)
    assert fwg["Ingress Policy ID"] == created["ID"] and fwg["Status"] == "INACTIVE"
    cloud.osc("firewall", "group", "policy", "remove", "rule", policy, late, cloud=DEMO)
    cloud.osc("firewall", "group", "delete", group, cloud=DEMO)
    cloud.osc("firewall", "group", "policy", "delete", policy, cloud=DEMO)
    cloud.osc("firewall", "group", "rule", "delete", deny, allow, late, cloud=DEMO)


def test_cli_metering(cloud: CloudProcess) -> None:
    """``openstack network meter ...`` and ``... meter rule ...``: admin-only writes,
    the project sees its label, an overlapping rule is refused. The counters are
    tests/network_dataplane/test_metering.py (this cloud runs no L3 agent)."""
    name = _name("meter")
    demo = cloud.sdk(DEMO).current_project_id
    meter = cloud.osc("network", "meter", "create", "--project", demo, name)
    assert meter["name"] == name and meter["shared"] is False
    rule = cloud.osc("network", "meter", "rule", "create", "--egress",
                     "--remote-ip-prefix", "198.51.100.0/24", name)  # fmt: skip
    assert rule["direction"] == "egress" and rule["metering_label_id"] == meter["id"]
    with pytest.raises(subprocess.CalledProcessError) as err:
        cloud.osc("network", "meter", "rule", "create", "--egress",
                  "--remote-ip-prefix", "198.51.100.128/25", name)  # fmt: skip
    assert "overlaps" in err.value.stderr
    with pytest.raises(subprocess.CalledProcessError) as err:
        cloud.osc("network", "meter", "create", _name("mine"), cloud=DEMO)
    assert "disallowed by policy" in err.value.stderr
    assert name in {m["Name"] for m in cloud.osc("network", "meter", "list", cloud=DEMO)}
    shown = cloud.osc("network", "meter", "rule", "show", rule["id"])
    assert shown["remote_ip_prefix"] == "198.51.100.0/24"
    assert rule["id"] in {r["ID"] for r in cloud.osc("network", "meter", "rule", "list")}
    cloud.osc("network", "meter", "rule", "delete", rule["id"])
    cloud.osc("network", "meter", "delete", name)
    assert name not in {m["Name"] for m in cloud.osc("network", "meter", "list")}


def test_cli_segments(cloud: CloudProcess) -> None:
    """``openstack network segment ...`` and ``subnet create --network-segment``: the
    network's own segment is listed, a second one takes the next VNI, a segment in use by
    a subnet is refused deletion, and a project sees none."""
    net = _name("routed")
    created = cloud.osc("network", "create", "--provider-network-type", "vxlan", net)
    own = cloud.osc("network", "segment", "list", "--network", net)
    assert [s["ID"] for s in own] and own[0]["Network Type"] == "vxlan"
    name = _name("seg")
    seg = cloud.osc("network", "segment", "create", "--network", net,
                    "--network-type", "vxlan", "--description", "second", name)  # fmt: skip
    assert seg["network_id"] == created["id"] and seg["description"] == "second"
    assert seg["segmentation_id"] not in (None, own[0]["Segment"])
    cloud.osc("network", "segment", "set", "--name", name + "-x", seg["id"])
    shown = cloud.osc("network", "segment", "show", seg["id"])
    assert shown["name"] == name + "-x" and shown["revision_number"] == 2
    subnet = cloud.osc("subnet", "create", "--network", net, "--network-segment", seg["id"],
                       "--subnet-range", "192.168.88.0/24", _name("sub"))  # fmt: skip
    assert subnet["segment_id"] == seg["id"]
    with pytest.raises(subprocess.CalledProcessError) as err:
        cloud.osc("network", "segment", "delete", seg["id"])
    assert "still associated with subnet" in err.value.stderr
    assert cloud.osc("network", "segment", "list", cloud=DEMO) == []
    cloud.osc("subnet", "delete", subnet["id"])
    cloud.osc("network", "segment", "delete", seg["id"])
    assert [s["ID"] for s in cloud.osc("network", "segment", "list", "--network", net)] == [
        own[0]["ID"]
    ]
    cloud.osc("network", "delete", net)
