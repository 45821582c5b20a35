"""Two real guests behind a router: DHCP, east-west, SNAT, floating IPs, security groups,
anti-spoofing, metadata from 169.254.169.254, an agent restart, and the cleanup.

The tests run in order and build on each other (one cloud for the module, boots are
the expensive part): the first makes the topology and boots both guests.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import time
from pathlib import Path

from tests.compute_qemu.conftest import qemu_pids_under
from tests.network_dataplane.support import wait_for
from tests.network_e2e.conftest import OUTSIDE_ADDRESS, PUBLIC_CIDR, Cloud

SNAT_PORT = 7000
USER_DATA = """#!/bin/sh
# tinystack e2e: report what the metadata service says, then reach the peer and outside
MD=http://169.254.169.254
UUID='s/.*"uuid": *"\\([^"]*\\)".*/\\1/p'
echo "E2E-MD uuid=$(wget -qO- $MD/openstack/latest/meta_data.json | sed -n "$UUID")"
echo "E2E-MD hostname=$(wget -qO- $MD/latest/meta-data/hostname)"
echo "E2E-MD key=$(wget -qO- $MD/latest/meta-data/public-keys/0/openssh-key)"
echo "E2E-MD user-data-md5=$(wget -qO- $MD/openstack/latest/user_data | md5sum | cut -d' ' -f1)"
n=0
until ping -c1 -W1 {peer} >/dev/null 2>&1; do
    n=$((n+1)); [ $n -ge 120 ] && break; sleep 1
done
ping -c1 -W1 {peer} >/dev/null 2>&1 && echo "E2E-PEER-PING-OK {peer}"
n=0
until out=$(echo "snat-$(hostname)" | nc -w 3 {outside} {snat_port}) && [ -n "$out" ]; do
    n=$((n+1)); [ $n -ge 60 ] && break; sleep 1
done
echo "E2E-SNAT $out"
"""


def _port(cloud: Cloud, name: str, network: str) -> dict[str, str]:
    port = cloud.osc("port", "create", "--network", network, name)
    return {"id": port["id"], "ip": port["fixed_ips"][0]["ip_address"], "mac": port["mac_address"]}


def test_two_guests_get_their_addresses_and_ping_each_other(cloud: Cloud) -> None:
    tag = cloud.tag
    pub = cloud.osc(
        "network", "create", "--external", "--provider-network-type", "flat",
        "--provider-physical-network", "public", f"{tag}-public",
    )  # fmt: skip
    cloud.networks.append(pub["id"])
    cloud.osc(
        "subnet", "create", "--network", pub["id"], "--subnet-range", PUBLIC_CIDR,
        "--gateway", OUTSIDE_ADDRESS, "--no-dhcp",
        "--allocation-pool", "start=203.0.113.10,end=203.0.113.200", f"{tag}-public-v4",
    )  # fmt: skip
    net = cloud.osc("network", "create", f"{tag}-net")
    cloud.networks.append(net["id"])
    subnet = cloud.osc(
        "subnet", "create", "--network", net["id"], "--subnet-range", "10.90.0.0/24",
        f"{tag}-net-v4",
    )  # fmt: skip
    router = cloud.osc("router", "create", f"{tag}-router")
    cloud.osc_ok("router", "set", "--external-gateway", pub["id"], router["id"])
    cloud.osc_ok("router", "add", "subnet", router["id"], subnet["id"])
    gateway = cloud.osc("router", "show", router["id"])["external_gateway_info"]
    cloud.state.update(network=net["id"], subnet=subnet["id"], router=router["id"])
    cloud.state["router_ip"] = gateway["external_fixed_ips"][0]["ip_address"]

    # the outside host answers each TCP line with the address it came from
    cloud.outside_host().serve_tcp(SNAT_PORT)
    cloud.osc_ok("keypair", "create", "--public-key", f"{cloud.key}.pub", f"{tag}-key")
    ports = {name: _port(cloud, f"{tag}-{name}", net["id"]) for name in ("a", "b")}
    servers = {}
    for name, peer in (("a", "b"), ("b", "a")):
        script = USER_DATA.format(
            peer=ports[peer]["ip"], outside=OUTSIDE_ADDRESS, snat_port=SNAT_PORT
        )
        path = Path(cloud.proc.state_dir) / f"user-data-{name}"
        path.write_text(script)
        server = cloud.osc(
            "server", "create", "--image", "tinystack-test", "--flavor", "m1.tiny",
            "--port", ports[name]["id"], "--key-name", f"{tag}-key",
            "--user-data", str(path), f"{tag}-{name}",
        )  # fmt: skip
        servers[name] = server["id"]
    cloud.state.update(ports=ports, servers=servers)
    cloud.state["user_data_md5"] = {
        n: hashlib.md5((Path(cloud.proc.state_dir) / f"user-data-{n}").read_bytes()).hexdigest()
        for n in servers
    }  # what the guest's md5sum prints
    for sid in servers.values():
        cloud.wait_status(sid, "ACTIVE")
    for name, sid in servers.items():
        ready = cloud.wait_console(sid, "TINYSTACK-GUEST-READY", timeout=120)
        assert f"addresses={ports[name]['ip']}" in ready, ready[-2000:]
        assert f"lease of {ports[name]['ip']} obtained" in ready
    # dnsmasq handed out exactly the addresses the network service assigned
    leases = Path(cloud.proc.state_dir) / "network" / "dhcp" / net["id"] / "leases"
    text = leases.read_text()
    for port in ports.values():
        assert re.search(rf"\b{port['mac']} {re.escape(port['ip'])}\b", text), text
    for name, peer in (("a", "b"), ("b", "a")):
        cloud.wait_console(servers[name], f"E2E-PEER-PING-OK {ports[peer]['ip']}", 150)
    for name in servers:
        status = cloud.osc("port", "show", ports[name]["id"])["status"]
        assert status == "ACTIVE"


def test_metadata_from_169_254_169_254(cloud: Cloud) -> None:
    public_key = Path(f"{cloud.key}.pub").read_text().strip()
    for name, sid in cloud.state["servers"].items():
        log = cloud.wait_console(sid, "E2E-MD user-data-md5=", 60)
        assert "TINYSTACK-GUEST-METADATA source=metadata-service" in log
        assert f"E2E-MD uuid={sid}" in log
        assert f"E2E-MD hostname={cloud.tag}-{name}.novalocal" in log
        assert f"E2E-MD key={public_key}" in log
        assert f"E2E-MD user-data-md5={cloud.state['user_data_md5'][name]}" in log
        assert f"TINYSTACK-GUEST-READY hostname={cloud.tag}-{name} instance-id={sid}" in log
    # the real CLI shows the same console
    out = cloud.proc.osc_raw("console", "log", "show", cloud.state["servers"]["a"]).stdout
    assert "E2E-MD uuid=" in out


def test_snat_to_the_outside_host(cloud: Cloud) -> None:
    router_ip = cloud.state["router_ip"]
    for name, sid in cloud.state["servers"].items():
        # the outside host saw the router's gateway address, not the guest's
        cloud.wait_console(sid, f"E2E-SNAT {router_ip} snat-{cloud.tag}-{name}", 90)


def test_floating_ip_and_security_groups(cloud: Cloud) -> None:
    port_a = cloud.state["ports"]["a"]["id"]
    fip = cloud.osc("floating", "ip", "create", "--port", port_a, cloud.networks[0])
    address = fip["floating_ip_address"]
    cloud.state.update(fip=address, fip_id=fip["id"])
    group = cloud.osc("port", "show", port_a)["security_group_ids"][0]

    # the default group admits nothing from outside
    assert not cloud.ping(address)
    assert cloud.http_get(address) is None

    # timed from the API request (openstacksdk; the CLI's own start-up is not the cloud's)
    sdk = cloud.proc.sdk()
    assert sdk.network.get_security_group(group)  # authenticated before the clock starts
    asked = time.monotonic()
    rule = sdk.network.create_security_group_rule(
        security_group_id=group, direction="ingress", ethertype="IPv4", protocol="icmp"
    )
    assert wait_for(lambda: cloud.ping(address, wait=0.2), 10, 0.0)
    took = time.monotonic() - asked
    print(f"\nicmp rule requested → floating IP answers ping: {took:.2f}s")
    assert took < 1.5

    for port in ("22", "80"):
        cloud.osc("security", "group", "rule", "create", "--protocol", "tcp",
                  "--dst-port", port, group)  # fmt: skip
    assert wait_for(lambda: cloud.http_get(address) == f"{cloud.tag}-a", 10, 0.2)
    result = cloud.ssh(address, "hostname")
    assert result.returncode == 0 and result.stdout.strip() == f"{cloud.tag}-a", result.stderr

    removed = time.monotonic()
    sdk.network.delete_security_group_rule(rule)
    assert wait_for(lambda: not cloud.ping(address, wait=0.2), 10, 0.0)
    took = time.monotonic() - removed
    print(f"icmp rule deletion requested → ping blocked: {took:.2f}s")
    assert took < 1.5
    assert cloud.osc("security", "group", "rule", "list", group, "--protocol", "icmp") == []
    assert cloud.http_get(address) == f"{cloud.tag}-a"  # tcp/80 still allowed

    cloud.osc_ok("floating", "ip", "unset", "--port", address)
    assert wait_for(lambda: cloud.http_get(address) is None, 10, 0.2)
    assert cloud.ssh(address, "true").returncode != 0
    cloud.osc_ok("floating", "ip", "set", "--port", port_a, address)
    assert wait_for(lambda: cloud.http_get(address) == f"{cloud.tag}-a", 10, 0.2)


def test_a_guest_cannot_spoof_its_source_address(cloud: Cloud) -> None:
    address = cloud.state["fip"]
    port_a = cloud.state["ports"]["a"]["id"]
    spoofed = "10.90.0.250"
    probe = (
        f"ip addr add {spoofed}/24 dev eth0; "
        f"ping -c2 -W2 {OUTSIDE_ADDRESS} >/dev/null; echo plain=$?; "
        f"ping -c2 -W2 -I {spoofed} {OUTSIDE_ADDRESS} >/dev/null; echo spoofed=$?; "
        f"ip addr del {spoofed}/24 dev eth0"
    )
    result = cloud.ssh(address, probe)
    assert "plain=0" in result.stdout and "spoofed=1" in result.stdout, result

    # an allowed address pair makes the same address legitimate
    cloud.osc_ok("port", "set", "--allowed-address", f"ip-address={spoofed}", port_a)
    time.sleep(1)
    result = cloud.ssh(address, probe)
    assert "spoofed=0" in result.stdout, result
    cloud.osc_ok("port", "set", "--no-allowed-address", port_a)
    time.sleep(1)
    assert "spoofed=1" in cloud.ssh(address, probe).stdout


def _rules_snapshot(cloud: Cloud) -> dict[str, list[str]]:
    snap = {save: sorted(cloud.chain_rules(save)) for save in ("iptables-save", "ip6tables-save")}
    for ns in cloud.namespaces():
        snap[ns] = cloud.namespace_rules(ns)
    return snap


def test_restart_keeps_guests_reachable_without_duplicate_rules(cloud: Cloud) -> None:
    address = cloud.state["fip"]
    group = cloud.osc("port", "show", cloud.state["ports"]["a"]["id"])["security_group_ids"][0]
    cloud.osc("security", "group", "rule", "create", "--protocol", "icmp", group)
    assert wait_for(lambda: cloud.ping(address, wait=0.5), 10, 0.0)
    before = _rules_snapshot(cloud)
    qemus = sorted(qemu_pids_under(cloud.proc.state_dir))
    assert len(qemus) == 2

    # ping the floating IP every 0.2 s while the whole cloud process restarts
    pinger = subprocess.Popen(
        ["ip", "netns", "exec", cloud.outside_host().name, "busybox", "ping", "-i", "0.2",
         "-c", "150", "-W", "1", address],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        time.sleep(2)
        cloud.proc.stop()
        cloud.proc.start(timeout=120)
        out, _ = pinger.communicate(timeout=90)
    finally:
        if pinger.poll() is None:
            pinger.kill()
            pinger.wait()
    match = re.search(r"(\d+) packets transmitted, (\d+) packets received", out)
    assert match, out
    lost = int(match.group(1)) - int(match.group(2))
    print(f"\nrestart: {lost} of {match.group(1)} pings (0.2 s apart) lost")
    assert lost <= 15  # at most ~3 s

    for sid in cloud.state["servers"].values():
        cloud.wait_status(sid, "ACTIVE")
    assert sorted(qemu_pids_under(cloud.proc.state_dir)) == qemus  # adopted, not restarted
    # the agents resynced: the same rules, none twice
    time.sleep(3)
    after = _rules_snapshot(cloud)
    assert after == before
    for lines in after.values():
        assert len(lines) == len(set(lines))
    assert cloud.http_get(address) == f"{cloud.tag}-a"


def test_deleted_resources_leave_nothing_behind(cloud: Cloud) -> None:
    state = cloud.state
    for sid in state["servers"].values():
        cloud.osc_ok("server", "delete", "--wait", sid)
    cloud.osc_ok("floating", "ip", "delete", state["fip_id"])
    cloud.osc_ok("router", "remove", "subnet", state["router"], state["subnet"])
    cloud.osc_ok("router", "unset", "--external-gateway", state["router"])
    cloud.osc_ok("router", "delete", state["router"])
    for port in state["ports"].values():
        cloud.proc.osc_raw("port", "delete", port["id"])
    cloud.osc_ok("network", "delete", state["network"])

    def leftovers() -> list[str]:
        left = [f"netns {ns}" for ns in cloud.namespaces()]
        left += [f"link {n}" for n in cloud.links(f"brq{state['network'][:11]}")]
        for port in state["ports"].values():
            left += [f"link {n}" for n in cloud.links(f"tap{port['id'][:11]}")]
            rules = cloud.chain_rules() + cloud.chain_rules("ip6tables-save")
            left += [f"rule {r}" for r in rules if port["id"][:11] in r]
        return left

    assert wait_for(lambda: not leftovers(), 20, 0.2), leftovers()
    dnsmasq = subprocess.run(["pgrep", "-f", f"dnsmasq.*{state['network']}"],
                             capture_output=True, text=True).stdout  # fmt: skip
    assert not dnsmasq.strip()
