"""The DHCP agent's dnsmasq files: the ports' DNS names, DNS servers and forwarders, and
the leases of ports gone."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.network.conftest import MakeApi
from tinystack.network.agents.dhcp import Dnsmasq
from tinystack.network.conf import Options
from tinystack.network.payloads import DnsName, FixedIP, NetworkInfo, PortInfo, Subnet

SUBNET = Subnet(id="s1", network_id="n1", cidr="10.5.0.0/24", ip_version=4)


def _port(port_id: str, address: str, *names: DnsName) -> PortInfo:
    return PortInfo(
        id=port_id,
        network_id="n1",
        project_id="p",
        mac_address=f"fa:16:3e:00:00:0{port_id[-1]}",
        fixed_ips=(FixedIP("s1", address),),
        dns_assignment=names,
    )


def test_host_files_carry_the_assigned_names(make_api: MakeApi, tmp_path: Path) -> None:
    api = make_api(
        **{"network.dns_domain": "example.org.", "network.dnsmasq_dns_servers": ["192.0.2.53"]}
    )
    opts = Options.from_conf(api.runtime.conf)
    named = _port("p1", "10.5.0.7", DnsName("10.5.0.7", "web", "web.example.org."))
    older = _port("p2", "10.5.0.8")  # an older server: no dns_assignment
    dhcp = _port("p3", "10.5.0.2")
    info = NetworkInfo(id="n1", subnets=(SUBNET,), ports=(named, older, dhcp))
    dnsmasq = Dnsmasq(tmp_path, "ns", "ns-p3", opts)
    hosts = dnsmasq._hosts(info, [SUBNET]).splitlines()
    assert "fa:16:3e:00:00:01,web.example.org,10.5.0.7" in hosts
    assert "fa:16:3e:00:00:02,host-10-5-0-8.example.org,10.5.0.8" in hosts
    addn = dnsmasq._addn_hosts(info, [SUBNET]).splitlines()
    assert "10.5.0.7\tweb.example.org web" in addn
    assert "10.5.0.8\thost-10-5-0-8.example.org host-10-5-0-8" in addn
    # no dns_nameservers: no DNS server option (dnsmasq offers itself) ...
    assert "dns-server" not in dnsmasq._options(info, [SUBNET], dhcp)
    # ... and forwards to dnsmasq_dns_servers; DNS is on (no --port=0)
    command = dnsmasq._command([SUBNET], 1500)
    assert "--server=192.0.2.53" in command and "--port=0" not in command
    assert "--domain=example.org." in command
    given = Subnet(
        id="s1", network_id="n1", cidr="10.5.0.0/24", ip_version=4, dns_nameservers=("9.9.9.9",)
    )
    assert "tag:subnet-s1,option:dns-server,9.9.9.9" in dnsmasq._options(info, [given], dhcp)


def test_a_lease_of_a_port_gone_is_released_before_its_address_is_handed_out(
    make_api: MakeApi, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A deleted port's lease (its address now a new port's, another MAC) leaves the lease
    file and dnsmasq starts again: dnsmasq offers no client an address leased to another
    (Tempest's next server on a /28 never got its address). Leases of current ports and
    IPv6 lines stay; with nothing stale a port change is a SIGHUP, not a restart."""
    opts = Options.from_conf(make_api().runtime.conf)
    dhcp = _port("p3", "10.5.0.2")
    new = _port("p4", "10.5.0.7")  # the address p1 had
    kept = _port("p2", "10.5.0.8")
    info = NetworkInfo(id="n1", subnets=(SUBNET,), ports=(new, kept, dhcp))
    dnsmasq = Dnsmasq(tmp_path, "ns", "ns-p3", opts)
    started: list[list[str]] = []
    stopped: list[int] = []
    hups: list[int] = []
    agent = "tinystack.network.agents.dhcp"
    monkeypatch.setattr(f"{agent}.ip_lib.execute", lambda cmd, namespace: started.append(cmd))
    monkeypatch.setattr(f"{agent}.ip_lib.stop_pid", lambda pid, marker: stopped.append(pid))
    monkeypatch.setattr(f"{agent}.os.kill", lambda pid, sig: hups.append(pid))
    monkeypatch.setattr(Dnsmasq, "pid", lambda self: 4242)
    dnsmasq.cmd_file.write_text("\0".join(dnsmasq._command([SUBNET], 1500)))
    v6 = ["duid 00:01:00:01:2c:9a:6b:11:fa:16:3e:00:00:03", "1796730100 1 fd00::5 host-fd00--5 *"]
    dnsmasq.leases.write_text(
        "1796730189 fa:16:3e:00:00:01 10.5.0.7 host-10-5-0-7 01:fa:16:3e:00:00:01\n"
        "1796730190 FA:16:3E:00:00:02 10.5.0.8 host-10-5-0-8 *\n" + "\n".join(v6) + "\n"
    )
    dnsmasq.update(info, [SUBNET], dhcp, 1500)
    assert stopped == [4242] and len(started) == 1 and not hups
    assert dnsmasq.leases.read_text().splitlines() == [
        "1796730190 FA:16:3E:00:00:02 10.5.0.8 host-10-5-0-8 *",
        *v6,
    ]
    # a port more, no lease stale: the files change and dnsmasq reloads them
    more = NetworkInfo(id="n1", subnets=(SUBNET,), ports=(new, kept, dhcp, _port("p5", "10.5.0.9")))
    dnsmasq.update(more, [SUBNET], dhcp, 1500)
    assert len(started) == 1 and stopped == [4242] and hups == [4242]
    # p2 deleted: its lease goes, with a restart
    dnsmasq.update(info_without(more, "p2"), [SUBNET], dhcp, 1500)
    assert len(started) == 2 and stopped == [4242, 4242]
    assert dnsmasq.leases.read_text().splitlines() == v6


def info_without(info: NetworkInfo, port_id: str) -> NetworkInfo:
    return NetworkInfo(
        id=info.id, subnets=info.subnets, ports=tuple(p for p in info.ports if p.id != port_id)
    )
