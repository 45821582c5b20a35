"""Type drivers, IPAM helpers and port binding as plain logic."""

from __future__ import annotations

from typing import Any

import pytest

from tests.network.conftest import MakeApi, error_type
from tinystack.network import ipam
from tinystack.network.plugins.mech_base import BindingRequest, HostAgent
from tinystack.network.plugins.mech_linuxbridge import LinuxBridgeMechanism
from tinystack.network.plugins.type_base import Segment
from tinystack.network.plugins.type_vlan import parse_vlan_ranges


def test_default_pools_and_eui64() -> None:
    assert ipam.default_pools("10.0.0.0/24", "10.0.0.1") == [
        {"start": "10.0.0.2", "end": "10.0.0.254"}
    ]
    assert ipam.default_pools("10.0.0.0/24", "10.0.0.100") == [
        {"start": "10.0.0.1", "end": "10.0.0.99"},
        {"start": "10.0.0.101", "end": "10.0.0.254"},
    ]
    assert ipam.default_pools("10.0.0.0/31", None) == [{"start": "10.0.0.0", "end": "10.0.0.1"}]
    assert ipam.default_pools("2001:db8::/126", "2001:db8::") == [
        {"start": "2001:db8::1", "end": "2001:db8::3"}
    ]
    assert ipam.pool_size([{"start": "10.0.0.2", "end": "10.0.0.254"}]) == 253
    assert ipam.eui64("2001:db8::/64", "fa:16:3e:12:34:56") == "2001:db8::f816:3eff:fe12:3456"


def test_vlan_ranges() -> None:
    assert parse_vlan_ranges(["physnet1:10:20", "physnet2", "physnet1:30:31"]) == {
        "physnet1": [(10, 20), (30, 31)],
        "physnet2": [],
    }
    for bad in ("physnet1:20:10", "physnet1:0:5", "physnet1:a:b", ":1:2"):
        with pytest.raises(ValueError):
            parse_vlan_ranges([bad])


def test_tenant_segments_run_out(make_api: MakeApi) -> None:
    api = make_api(**{"network.vni_ranges": ["5:6"], "network.tenant_network_types": ["vxlan"]})
    vnis = [
        api.get(f"/v2.0/networks/{api.network()['id']}", api.admin()).json()["network"][
            "provider:segmentation_id"
        ]
        for _ in range(2)
    ]
    assert vnis == [5, 6]
    resp = api.post("/v2.0/networks", {"network": {"name": "third"}})
    assert resp.status_code == 503 and error_type(resp) == "NoNetworkAvailable"
    api.delete(
        f"/v2.0/networks/{api.get('/v2.0/networks', name='net').json()['networks'][0]['id']}"
    )
    assert api.post("/v2.0/networks", {"network": {"name": "again"}}).status_code == 201


def test_linuxbridge_binding() -> None:
    mech = LinuxBridgeMechanism()
    vlan = Segment("vlan", "physnet1", 100)
    vxlan = Segment("vxlan", None, 7)

    def request(segments: list[Segment], agents: list[HostAgent], vnic: str = "normal") -> Any:
        return BindingRequest("p", "0123456789abcdef", "h", vnic, {}, segments, agents)

    bound = mech.try_bind(request([vlan], []), require_agent=False)
    assert bound is not None and bound.vif_type == "bridge"
    assert bound.vif_details["bridge_name"] == "brq0123456789a"
    assert mech.try_bind(request([vlan], []), require_agent=True) is None
    agent = HostAgent("Linux bridge agent", {"tunnel_types": ["vxlan"], "interface_mappings": {}})
    assert mech.try_bind(request([vlan], [agent]), require_agent=True) is None
    got = mech.try_bind(request([vlan, vxlan], [agent]), require_agent=True)
    assert got is not None and got.segment == vxlan
    assert mech.try_bind(request([vxlan], [agent], vnic="direct"), require_agent=False) is None
