"""DNS integration: dns_name/dns_assignment/dns_domain of ports, networks and floating IPs."""

from __future__ import annotations

from typing import Any

import pytest

from tests.network.conftest import Api, MakeApi, error_type
from tinystack.network.services import dns


@pytest.fixture
def named(make_api: MakeApi) -> Api:
    """A service whose ports keep their names (a domain other than openstacklocal)."""
    return make_api(**{"network.dns_domain": "example.org"})


def _net(api: Api, **body: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    net = api.network(**body)
    return net, api.subnet(net["id"], "10.0.0.0/24")


def test_extensions_are_listed(api: Api) -> None:
    aliases = {e["alias"] for e in api.get("/v2.0/extensions").json()["extensions"]}
    assert {"dns-integration", "dns-domain-ports"} <= aliases
    shown = api.get("/v2.0/extensions/dns-integration").json()["extension"]
    assert shown["name"] == "DNS Integration"


def test_port_name_and_assignment(named: Api) -> None:
    net, subnet = _net(named)
    port = named.port(net["id"], dns_name="My-Port", fixed_ips=[{"ip_address": "10.0.0.7"}])
    assert port["dns_name"] == "my-port" and port["dns_domain"] == ""
    assert port["dns_assignment"] == [
        {"hostname": "my-port", "ip_address": "10.0.0.7", "fqdn": "my-port.example.org."}
    ]
    assert named.get(f"/v2.0/ports/{port['id']}").json()["port"]["dns_name"] == "my-port"
    # an update renames every address and bumps the revision
    resp = named.put(f"/v2.0/ports/{port['id']}", {"port": {"dns_name": "web.example.org."}})
    assert resp.status_code == 200, resp.text
    updated = resp.json()["port"]
    assert updated["dns_name"] == "web.example.org."
    assert updated["revision_number"] > port["revision_number"]
    assert updated["dns_assignment"][0]["fqdn"] == "web.example.org."
    # back to no name: the address's default name
    cleared = named.put(f"/v2.0/ports/{port['id']}", {"port": {"dns_name": ""}}).json()["port"]
    assert cleared["dns_assignment"] == [
        {
            "hostname": "host-10-0-0-7",
            "ip_address": "10.0.0.7",
            "fqdn": "host-10-0-0-7.example.org.",
        }
    ]
    no_ip = named.port(net["id"], fixed_ips=[], dns_name="lonely")
    assert no_ip["dns_name"] == "lonely" and no_ip["dns_assignment"] == []
    assert subnet["id"]


def test_port_list_filters_on_dns_name(named: Api) -> None:
    net, _ = _net(named)
    first = named.port(net["id"], dns_name="alpha")
    named.port(net["id"], dns_name="beta")
    found = named.get("/v2.0/ports", dns_name="alpha").json()["ports"]
    assert [p["id"] for p in found] == [first["id"]]
    only = named.get("/v2.0/ports", dns_name="alpha", fields="dns_assignment").json()["ports"]
    assert only == [{"dns_assignment": first["dns_assignment"]}]


def test_port_dns_domain(named: Api) -> None:
    net, _ = _net(named)
    port = named.port(net["id"], dns_name="d1", dns_domain="Test.Org.")
    assert port["dns_domain"] == "test.org."
    # dnsmasq's names stay in the service's domain (the port's is for an external DNS)
    assert port["dns_assignment"][0]["fqdn"] == "d1.example.org."
    resp = named.put(f"/v2.0/ports/{port['id']}", {"port": {"dns_domain": "d.org."}})
    assert resp.json()["port"]["dns_domain"] == "d.org."


def test_default_domain_keeps_no_name(api: Api) -> None:
    """With [network] dns_domain openstacklocal, upstream accepts a dns_name and drops it."""
    net, _ = _net(api)
    port = api.port(net["id"], dns_name="ignored", fixed_ips=[{"ip_address": "10.0.0.9"}])
    assert port["dns_name"] == ""
    assert port["dns_assignment"] == [
        {
            "hostname": "host-10-0-0-9",
            "ip_address": "10.0.0.9",
            "fqdn": "host-10-0-0-9.openstacklocal.",
        }
    ]
    updated = api.put(f"/v2.0/ports/{port['id']}", {"port": {"dns_name": "again"}}).json()
    assert updated["port"]["dns_name"] == ""


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"dns_name": "-bad"}, "'-bad' not a valid PQDN or FQDN. Reason: Name '-bad' must not"),
        ({"dns_name": "a..b"}, "Reason: Encountered an empty component"),
        ({"dns_name": "my_port"}, "Name 'my_port' must be 1-63 characters long"),
        ({"dns_name": "a" * 64}, "must be 1-63 characters long"),
        ({"dns_name": "host.123"}, "TLD '123' must not be all numeric"),
        ({"dns_name": "web.other.org."}, "The dns_name passed is a FQDN"),
        ({"dns_name": "example.org."}, "The dns_name passed is a FQDN"),
        ({"dns_name": ("a" * 60 + ".") * 3 + "a" * 60}, "The dns_name passed is a PQDN"),
        ({"dns_domain": "test.org"}, "'test.org' is not a FQDN"),
        ({"dns_name": 5}, "Input should be a valid string"),
        ({"dns_name": None}, "Input should be a valid string"),
    ],
)
def test_bad_port_names(named: Api, body: dict[str, Any], reason: str) -> None:
    net, _ = _net(named)
    resp = named.post("/v2.0/ports", {"port": {"network_id": net["id"], **body}})
    assert resp.status_code == 400, resp.text
    attr = next(iter(body))
    message = resp.json()["NeutronError"]["message"]
    assert message.startswith(f"Invalid input for {attr}. Reason: "), message
    assert reason in message and error_type(resp) == "HTTPBadRequest"


def test_read_only_assignment(named: Api) -> None:
    net, _ = _net(named)
    body = {"port": {"network_id": net["id"], "dns_assignment": []}}
    assert named.post("/v2.0/ports", body).status_code == 400


def test_network_dns_domain(api: Api) -> None:
    net = api.network(dns_domain="Test.Org.")
    assert net["dns_domain"] == "test.org."
    listed = api.get("/v2.0/networks", id=net["id"]).json()["networks"]
    assert listed[0]["dns_domain"] == "test.org."
    # as upstream (not an is_filter attribute), networks do not filter on it
    assert api.get("/v2.0/networks", dns_domain="test.org.").status_code == 400
    resp = api.put(f"/v2.0/networks/{net['id']}", {"network": {"dns_domain": "d.org."}})
    updated = resp.json()["network"]
    assert updated["dns_domain"] == "d.org."
    assert updated["revision_number"] > net["revision_number"]
    cleared = api.put(f"/v2.0/networks/{net['id']}", {"network": {"dns_domain": ""}}).json()
    assert cleared["network"]["dns_domain"] == ""
    assert api.network()["dns_domain"] == ""
    bad = api.post("/v2.0/networks", {"network": {"dns_domain": "no-dot"}})
    assert bad.status_code == 400
    assert bad.json()["NeutronError"]["message"] == (
        "Invalid input for dns_domain. Reason: 'no-dot' is not a FQDN."
    )
    long = ("a" * 60 + ".") * 4 + "abcdefghij."  # 255: no room for a sub-domain
    assert api.post("/v2.0/networks", {"network": {"dns_domain": long}}).status_code == 400


def test_floating_ip_dns_attributes(api: Api) -> None:
    public, _ = api.external_network()
    body = {"floating_network_id": public["id"], "dns_name": "fip", "dns_domain": "d.org."}
    resp = api.post("/v2.0/floatingips", {"floatingip": body})
    assert resp.status_code == 201, resp.text
    fip = resp.json()["floatingip"]
    # without an external DNS service, upstream keeps neither
    assert fip["dns_name"] == "" and fip["dns_domain"] == ""
    bad = {"floating_network_id": public["id"], "dns_name": "fip.d.org."}
    resp = api.post("/v2.0/floatingips", {"floatingip": bad})
    assert resp.status_code == 400 and "It should be a relative domain name" in resp.text
    update = api.put(f"/v2.0/floatingips/{fip['id']}", {"floatingip": {"dns_name": "x"}})
    assert update.status_code == 400


def test_checks() -> None:
    assert dns.domain_of("openstacklocal") == dns.DEFAULT_DOMAIN
    assert not dns.names_enabled("openstacklocal.") and not dns.names_enabled("")
    assert dns.format_error("host") is None and dns.format_error("a.b.c.") is None
    assert dns.check_port_dns_name("a", "openstacklocal.") == ""
    v6 = dns.assignment(["fd00::5"], "", "example.org.")[0]
    assert v6.hostname == "host-fd00--5" and v6.fqdn == "host-fd00--5.example.org."
