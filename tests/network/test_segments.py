"""Segments (``/v2.0/segments``): CRUD over the network's own segment rows, segmentation
ids from the type drivers' pools, policies, bad input, and subnets on segments."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tests.network.conftest import PROJECT_B, Api, error_type
from tinystack.network.payloads import AgentState
from tinystack.network.plugins.mech_linuxbridge import AGENT_TYPE as LINUXBRIDGE_AGENT
from tinystack.network.services.agent_sync import AgentSync

VXLAN = {"provider:network_type": "vxlan"}


def _segments(api: Api, network_id: str) -> list[dict[str, Any]]:
    resp = api.get("/v2.0/segments", api.admin(), network_id=network_id)
    assert resp.status_code == 200, resp.text
    return list(resp.json()["segments"])


def _segment(api: Api, network_id: str, **body: Any) -> Any:
    return api.post("/v2.0/segments", {"segment": {"network_id": network_id, **body}}, api.admin())


def test_network_segments_are_listed_with_stable_ids(api: Api) -> None:
    net = api.network(api.admin(), **VXLAN, **{"provider:segmentation_id": 40})
    first = _segments(api, net["id"])
    assert len(first) == 1
    seg = first[0]
    assert seg["network_type"] == "vxlan" and seg["segmentation_id"] == 40
    assert seg["physical_network"] is None and seg["name"] is None and seg["description"] is None
    assert seg["revision_number"] == 1 and seg["created_at"] == net["created_at"]
    assert set(seg) == {
        "id", "network_id", "name", "description", "network_type", "physical_network",
        "segmentation_id", "created_at", "updated_at", "revision_number", "tags",
    }  # fmt: skip
    assert _segments(api, net["id"]) == first
    shown = api.get(f"/v2.0/segments/{seg['id']}", api.admin()).json()["segment"]
    assert shown == seg
    fields = api.get(f"/v2.0/segments/{seg['id']}", api.admin(), fields="segmentation_id")
    assert fields.json() == {"segment": {"segmentation_id": 40}}


def test_segment_crud(api: Api) -> None:
    admin = api.admin()
    net = api.network(admin, **VXLAN, **{"provider:segmentation_id": 10})
    resp = _segment(api, net["id"], network_type="vxlan", name="second", description="d")
    assert resp.status_code == 201, resp.text
    seg = resp.json()["segment"]
    assert seg["segmentation_id"] == 1 and seg["name"] == "second" and seg["description"] == "d"
    explicit = _segment(api, net["id"], network_type="vxlan", segmentation_id="20")
    assert explicit.status_code == 201 and explicit.json()["segment"]["segmentation_id"] == 20
    shown = api.get(f"/v2.0/networks/{net['id']}", admin).json()["network"]
    assert "provider:network_type" not in shown
    assert [s["provider:segmentation_id"] for s in shown["segments"]] == [10, 1, 20]
    assert shown["mtu"] == 1450
    listed = api.get("/v2.0/segments", admin, network_id=net["id"], sort_key="segmentation_id")
    assert [s["segmentation_id"] for s in listed.json()["segments"]] == [1, 10, 20]
    assert [
        s["id"] for s in api.get("/v2.0/segments", admin, name="second").json()["segments"]
    ] == [seg["id"]]
    path = f"/v2.0/segments/{seg['id']}"
    updated = api.put(path, {"segment": {"name": "renamed", "description": None}}, admin)
    assert updated.status_code == 200, updated.text
    body = updated.json()["segment"]
    assert body["name"] == "renamed" and body["description"] is None
    assert body["revision_number"] == 2
    stale = api.client.put(
        path, json={"segment": {"name": "x"}}, headers={**admin, "If-Match": "revision_number=1"}
    )
    assert stale.status_code == 412
    assert api.delete(path, admin).status_code == 204
    gone = api.get(path, admin)
    assert gone.status_code == 404 and error_type(gone) == "SegmentNotFound"
    assert api.delete(path, admin).status_code == 404
    # the VNI went back to the pool: a new network may take it
    again = api.network(admin, **VXLAN, **{"provider:segmentation_id": 1})
    assert again["provider:segmentation_id"] == 1
    taken = _segment(api, net["id"], network_type="vxlan", segmentation_id=20)
    assert taken.status_code == 409 and error_type(taken) == "TunnelIdInUse"


def test_segments_of_other_types_share_the_network_pools(api: Api) -> None:
    admin = api.admin()
    net = api.network(
        admin, **{"provider:network_type": "vlan", "provider:physical_network": "physnet1"}
    )
    vlan = _segment(api, net["id"], network_type="vlan", physical_network="physnet1")
    assert vlan.status_code == 201 and vlan.json()["segment"]["segmentation_id"] == 1001
    other = api.network(
        admin, **{"provider:network_type": "vlan", "provider:physical_network": "physnet1"}
    )
    assert other["provider:segmentation_id"] == 1002
    flat = _segment(api, net["id"], network_type="flat", physical_network="public")
    assert flat.status_code == 201 and flat.json()["segment"]["segmentation_id"] is None
    dup = _segment(api, other["id"], network_type="flat", physical_network="public")
    assert dup.status_code == 409 and error_type(dup) == "FlatNetworkInUse"
    # a VXLAN segment carries 1450 bytes, less than this network's 1500: refused
    small = _segment(api, net["id"], network_type="vxlan")
    assert small.status_code == 400 and "maximum is 1450" in small.json()["NeutronError"]["message"]
    assert api.delete(f"/v2.0/networks/{net['id']}", admin).status_code == 204
    assert _segments(api, net["id"]) == []
    # the network's delete gave back all of its segments' ids
    reused = api.network(
        admin, **{"provider:network_type": "flat", "provider:physical_network": "public"}
    )
    assert reused["provider:physical_network"] == "public"
    assert (
        _segment(api, other["id"], network_type="vlan", physical_network="physnet1").json()[
            "segment"
        ]["segmentation_id"]
        == 1000
    )


def test_segments_are_admin_only(api: Api) -> None:
    net = api.network()
    seg = _segments(api, net["id"])[0]
    path = f"/v2.0/segments/{seg['id']}"
    for headers in (api.headers(), api.headers(role="reader"), api.headers(PROJECT_B)):
        assert api.get("/v2.0/segments", headers).json() == {"segments": []}
        shown = api.get(path, headers)
        assert shown.status_code == 404 and error_type(shown) == "SegmentNotFound"
        assert api.put(path, {"segment": {"name": "x"}}, headers).status_code == 404
        assert api.delete(path, headers).status_code == 404
        created = api.post(
            "/v2.0/segments",
            {"segment": {"network_id": net["id"], "network_type": "vxlan"}},
            headers,
        )
        assert created.status_code == 403 and error_type(created) == "PolicyNotAuthorized"
        assert api.put(f"{path}/tags/x", None, headers).status_code == 404
    assert api.put(f"{path}/tags/blue", None, api.admin()).status_code == 201
    assert api.get(path, api.admin()).json()["segment"]["tags"] == ["blue"]
    tagged = api.get("/v2.0/segments", api.admin(), tags="blue").json()["segments"]
    assert [s["id"] for s in tagged] == [seg["id"]]
    assert _segments(api, net["id"])[0]["revision_number"] == 2


def test_bad_input(api: Api) -> None:
    admin = api.admin()
    net = api.network(admin)
    missing = "9b8e7d2c-1111-4222-8333-444455556666"
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"network_type": "vxlan"}, 400, "HTTPBadRequest"),
        ({"network_id": net["id"]}, 400, "HTTPBadRequest"),
        ({"network_id": "nope", "network_type": "vxlan"}, 400, "HTTPBadRequest"),
        ({"network_id": missing, "network_type": "vxlan"}, 404, "NetworkNotFound"),
        ({"network_id": net["id"], "network_type": "gre"}, 400, "InvalidInput"),
        ({"network_id": net["id"], "network_type": "vxlan", "segmentation_id": "x"}, 400, ""),
        ({"network_id": net["id"], "network_type": "vxlan", "segmentation_id": 2**24}, 400, ""),
        ({"network_id": net["id"], "network_type": "vxlan", "physical_network": "p"}, 400, ""),
        ({"network_id": net["id"], "network_type": "vlan", "physical_network": "zz"}, 400, ""),
        ({"network_id": net["id"], "network_type": "vlan", "physical_network": "physnet1",
          "segmentation_id": 5000}, 400, ""),
        ({"network_id": net["id"], "network_type": "flat", "physical_network": "public",
          "segmentation_id": 3}, 400, ""),
        ({"network_id": net["id"], "network_type": "vxlan", "bogus": 1}, 400, ""),
        ({"network_id": net["id"], "network_type": "vxlan", "name": "n" * 256}, 400, ""),
        ({"network_id": net["id"], "network_type": "vxlan", "tags": ["a,b"]}, 400, ""),
    ]  # fmt: skip
    for body, status, kind in cases:
        resp = api.post("/v2.0/segments", {"segment": body}, admin)
        assert resp.status_code == status, (body, resp.text)
        assert set(resp.json()["NeutronError"]) == {"type", "message", "detail"}
        assert not kind or error_type(resp) == kind, (body, resp.text)
    seg = _segments(api, net["id"])[0]
    path = f"/v2.0/segments/{seg['id']}"
    updates: list[Any] = [
        {"segment": {"network_type": "vlan"}},
        {"segment": {"segmentation_id": 3}},
        {"segment": {"name": 5}},
        {"segment": None},
        {"bogus": {}},
        [],
        "x",
    ]
    for update in updates:
        resp = api.put(path, update, admin)
        assert resp.status_code == 400, (update, resp.text)
    malformed: list[Any] = [None, [], "x", 5, {}, {"segment": None}, {"segments": [{}]}]
    for raw in malformed:
        resp = api.post("/v2.0/segments", raw, admin)
        assert resp.status_code == 400, (raw, resp.text)
    for query in ("segmentation_id=abc", "sort_key=tags", "bogus=1", "limit=-1"):
        resp = api.client.get(f"/v2.0/segments?{query}", headers=admin)
        assert resp.status_code == 400, (query, resp.text)
    assert api.get(f"/v2.0/segments?segmentation_id={seg['segmentation_id']}", admin).json()[
        "segments"
    ] == [seg]
    assert _segments(api, net["id"]) == [seg]


def test_subnets_on_segments(api: Api) -> None:
    admin = api.admin()
    net = api.network(admin, **VXLAN)
    first = _segments(api, net["id"])[0]
    second = _segment(api, net["id"], network_type="vxlan").json()["segment"]
    subnet = api.subnet(net["id"], "10.1.0.0/24", admin, segment_id=first["id"])
    assert subnet["segment_id"] == first["id"]
    other = api.subnet(net["id"], "10.2.0.0/24", admin, segment_id=second["id"])
    routed = api.get(f"/v2.0/networks/{net['id']}", admin).json()["network"]
    assert routed["l2_adjacency"] is False
    listed = api.get("/v2.0/subnets", admin, segment_id=second["id"]).json()["subnets"]
    assert [s["id"] for s in listed] == [other["id"]]
    # all or none: a subnet without a segment is refused on a routed network
    plain = api.post(
        "/v2.0/subnets",
        {"subnet": {"network_id": net["id"], "cidr": "10.3.0.0/24", "ip_version": 4}},
        admin,
    )
    assert plain.status_code == 400 and error_type(plain) == "SubnetsNotAllAssociatedWithSegments"
    elsewhere = api.network(admin)
    foreign = api.post(
        "/v2.0/subnets",
        {"subnet": {"network_id": elsewhere["id"], "cidr": "10.4.0.0/24", "ip_version": 4,
                    "segment_id": first["id"]}},
        admin,
    )  # fmt: skip
    assert foreign.status_code == 400 and error_type(foreign) == "NetworkIdsDontMatch"
    for segment_id, status, kind in (
        ("9b8e7d2c-1111-4222-8333-444455556666", 404, "SegmentNotFound"),
        ("nope", 400, "HTTPBadRequest"),
    ):
        resp = api.post(
            "/v2.0/subnets",
            {"subnet": {"network_id": net["id"], "cidr": "10.5.0.0/24", "ip_version": 4,
                        "segment_id": segment_id}},
            admin,
        )  # fmt: skip
        assert resp.status_code == status and error_type(resp) == kind, resp.text
    busy = api.delete(f"/v2.0/segments/{first['id']}", admin)
    assert busy.status_code == 409 and error_type(busy) == "SegmentInUse"
    assert subnet["id"] in busy.json()["NeutronError"]["message"]
    port = api.port(net["id"], admin, fixed_ips=[{"subnet_id": subnet["id"]}])
    assert port["fixed_ips"][0]["ip_address"].startswith("10.1.0.")
    avail = api.get(f"/v2.0/network-ip-availabilities/{net['id']}", admin).json()
    by_subnet = {
        s["subnet_id"]: s for s in avail["network_ip_availability"]["subnet_ip_availability"]
    }
    assert by_subnet[subnet["id"]]["used_ips"] == 1 and by_subnet[other["id"]]["used_ips"] == 0
    assert avail["network_ip_availability"]["total_ips"] == 2 * 253
    assert api.delete(f"/v2.0/ports/{port['id']}", admin).status_code == 204
    assert api.delete(f"/v2.0/subnets/{subnet['id']}", admin).status_code == 204
    assert api.delete(f"/v2.0/segments/{first['id']}", admin).status_code == 204
    assert api.delete(f"/v2.0/networks/{net['id']}", admin).status_code == 204


def test_subnet_segment_id_policy_and_update(api: Api) -> None:
    admin = api.admin()
    net = api.network()
    seg = _segments(api, net["id"])[0]
    subnet = api.subnet(net["id"], "10.0.0.0/24")
    assert "segment_id" not in subnet  # admin-only attribute
    assert api.get(f"/v2.0/networks/{net['id']}").json()["network"]["l2_adjacency"] is True
    denied = api.put(f"/v2.0/subnets/{subnet['id']}", {"subnet": {"segment_id": seg["id"]}})
    assert denied.status_code == 403
    bound = api.put(f"/v2.0/subnets/{subnet['id']}", {"subnet": {"segment_id": seg["id"]}}, admin)
    assert bound.status_code == 200 and bound.json()["subnet"]["segment_id"] == seg["id"]
    second = _segment(api, net["id"], network_type="vxlan").json()["segment"]
    moved = api.put(
        f"/v2.0/subnets/{subnet['id']}", {"subnet": {"segment_id": second["id"]}}, admin
    )
    assert moved.status_code == 400
    assert error_type(moved) == "SubnetSegmentAssociationChangeNotAllowed"
    mine = api.post(
        "/v2.0/subnets",
        {"subnet": {"network_id": net["id"], "cidr": "10.7.0.0/24", "ip_version": 4,
                    "segment_id": second["id"]}},
    )  # fmt: skip
    assert mine.status_code == 403
    plain = api.network(admin)
    one = api.subnet(plain["id"], "10.8.0.0/24", admin)
    api.subnet(plain["id"], "10.9.0.0/24", admin)
    plain_seg = _segments(api, plain["id"])[0]
    many = api.put(f"/v2.0/subnets/{one['id']}", {"subnet": {"segment_id": plain_seg["id"]}}, admin)
    assert many.status_code == 400 and error_type(many) == "SubnetsNotAllAssociatedWithSegments"


def test_concurrent_segment_creates_get_distinct_ids(api: Api) -> None:
    net = api.network(api.admin(), **VXLAN)

    def create(_i: int) -> int:
        resp = _segment(api, net["id"], network_type="vxlan")
        assert resp.status_code == 201, resp.text
        return int(resp.json()["segment"]["segmentation_id"])

    with ThreadPoolExecutor(max_workers=8) as pool:
        vnis = list(pool.map(create, range(16)))
    ids = [s["segmentation_id"] for s in _segments(api, net["id"])]
    assert len(ids) == 17 and len(set(ids)) == 17 and set(vnis) <= set(ids)


def test_extensions_list_segments(api: Api) -> None:
    aliases = {e["alias"] for e in api.get("/v2.0/extensions").json()["extensions"]}
    assert {"segment", "standard-attr-segment", "subnet-segmentid-writable"} <= aliases
    shown = api.get("/v2.0/extensions/segment").json()["extension"]
    assert shown["alias"] == "segment"


def test_ports_bind_to_the_segment_their_host_wires(api: Api) -> None:
    """A host whose agent carries only the flat physical network gets the flat segment of
    a VXLAN+flat network in its device details; that segment is then in use."""
    admin = api.admin()
    deps = api.services
    deps.agents.report_state(
        AgentState(
            agent_type=LINUXBRIDGE_AGENT,
            host="flat-host",
            binary="lb-agent",
            topic="q-agent-notifier",
            configurations={"interface_mappings": {"public": "eth9"}, "tunnel_types": []},
            start_flag=True,
        )
    )
    net = api.network(admin, **VXLAN)
    vxlan = _segments(api, net["id"])[0]
    flat = _segment(api, net["id"], network_type="flat", physical_network="public")
    assert flat.status_code == 201, flat.text
    flat_id = flat.json()["segment"]["id"]
    port = api.port(net["id"], admin, **{"binding:host_id": "flat-host"})
    assert port["binding:vif_type"] == "bridge"
    sync = AgentSync(deps)
    details = sync.device_details("tap" + port["id"][:11], "flat-host")
    assert (details.network_type, details.physical_network) == ("flat", "public")
    elsewhere = api.port(net["id"], admin, **{"binding:host_id": "no-agent-host"})
    other = sync.device_details("tap" + elsewhere["id"][:11], "no-agent-host")
    assert (other.network_type, other.segmentation_id) == ("vxlan", vxlan["segmentation_id"])
    busy = api.delete(f"/v2.0/segments/{flat_id}", admin)
    assert busy.status_code == 409 and error_type(busy) == "SegmentInUse"
    assert "bound with 1 port(s)" in busy.json()["NeutronError"]["message"]
    assert api.delete(f"/v2.0/ports/{port['id']}", admin).status_code == 204
    assert api.delete(f"/v2.0/segments/{flat_id}", admin).status_code == 204


def _report(api: Api, host: str, configurations: dict[str, Any]) -> None:
    api.services.agents.report_state(
        AgentState(
            agent_type=LINUXBRIDGE_AGENT,
            host=host,
            binary="lb-agent",
            topic="q-agent-notifier",
            configurations=configurations,
            start_flag=True,
        )
    )


def test_routed_network_ports_take_addresses_on_their_hosts_segment(api: Api) -> None:
    admin = api.admin()
    _report(api, "tunnel-host", {"tunnel_types": ["vxlan"]})
    _report(api, "lonely-host", {"tunnel_types": []})
    segments = [
        {"provider:network_type": "flat", "provider:physical_network": "public"},
        {"provider:network_type": "vxlan"},
    ]
    net = api.network(admin, segments=segments)
    flat, vxlan = sorted(_segments(api, net["id"]), key=lambda s: s["network_type"])
    on_flat = api.subnet(net["id"], "10.1.0.0/24", admin, segment_id=flat["id"])
    on_vxlan = api.subnet(net["id"], "10.2.0.0/24", admin, segment_id=vxlan["id"])
    # no host yet: the allocation waits for the binding (upstream's deferred allocation)
    waiting = api.port(net["id"], admin)
    assert waiting["fixed_ips"] == []
    bound = api.put(
        f"/v2.0/ports/{waiting['id']}", {"port": {"binding:host_id": "tunnel-host"}}, admin
    )
    assert bound.status_code == 200, bound.text
    assert [ip["subnet_id"] for ip in bound.json()["port"]["fixed_ips"]] == [on_vxlan["id"]]
    # a host without agents binds the first segment (the emulation mode)
    emulated = api.port(net["id"], admin, **{"binding:host_id": "agentless"})
    assert [ip["subnet_id"] for ip in emulated["fixed_ips"]] == [on_flat["id"]]
    lonely = api.post(
        "/v2.0/ports",
        {"port": {"network_id": net["id"], "binding:host_id": "lonely-host"}},
        admin,
    )
    assert lonely.status_code == 409 and error_type(lonely) == "HostNotConnectedToAnySegment"
    both = api.post(
        "/v2.0/ports",
        {"port": {"network_id": net["id"], "fixed_ips": [{"subnet_id": on_flat["id"]},
                                                          {"ip_address": "10.2.0.40"}]}},
        admin,
    )  # fmt: skip
    assert both.status_code == 400 and error_type(both) == "FixedIpsSubnetsNotOnSameSegment"
    chosen = api.port(net["id"], admin, fixed_ips=[{"ip_address": "10.2.0.41"}])
    assert chosen["fixed_ips"] == [{"subnet_id": on_vxlan["id"], "ip_address": "10.2.0.41"}]
    dhcp = api.port(
        net["id"],
        admin,
        device_owner="network:dhcp",
        fixed_ips=[{"subnet_id": on_flat["id"]}, {"subnet_id": on_vxlan["id"]}],
    )
    assert len(dhcp["fixed_ips"]) == 2


def test_peer_subnet_host_routes(api: Api) -> None:
    """Subnets of a routed network route to the other segments' subnets through their
    own gateway (``segments-peer-subnet-host-routes``), kept as subnets come and go."""
    admin = api.admin()
    net = api.network(admin, **VXLAN)
    first = _segments(api, net["id"])[0]
    second = _segment(api, net["id"], network_type="vxlan").json()["segment"]
    pools = [{"start": "10.1.0.10", "end": "10.1.0.100"}]
    a = api.subnet(net["id"], "10.1.0.0/24", admin, segment_id=first["id"], allocation_pools=pools)
    assert a["host_routes"] == [] and a["revision_number"] == 1
    summary = {"destination": "10.0.0.0/8", "nexthop": "10.3.0.254"}
    b = api.subnet(net["id"], "10.2.0.0/24", admin, segment_id=second["id"])
    c = api.subnet(net["id"], "10.3.0.0/24", admin, segment_id=second["id"], host_routes=[summary])
    assert b["host_routes"] == [{"destination": "10.1.0.0/24", "nexthop": "10.2.0.1"}]
    assert c["host_routes"] == [summary]  # its own route covers 10.1.0.0/24
    shown = api.get(f"/v2.0/subnets/{a['id']}", admin).json()["subnet"]
    assert shown["host_routes"] == [
        {"destination": "10.2.0.0/24", "nexthop": "10.1.0.1"},
        {"destination": "10.3.0.0/24", "nexthop": "10.1.0.1"},
    ]
    assert shown["revision_number"] == 3
    moved = api.put(f"/v2.0/subnets/{a['id']}", {"subnet": {"gateway_ip": "10.1.0.254"}}, admin)
    assert moved.status_code == 200, moved.text
    assert moved.json()["subnet"]["host_routes"] == [
        {"destination": "10.2.0.0/24", "nexthop": "10.1.0.254"},
        {"destination": "10.3.0.0/24", "nexthop": "10.1.0.254"},
    ]
    assert moved.json()["subnet"]["revision_number"] == 4
    assert api.delete(f"/v2.0/subnets/{b['id']}", admin).status_code == 204
    after = api.get(f"/v2.0/subnets/{a['id']}", admin).json()["subnet"]
    assert after["host_routes"] == [{"destination": "10.3.0.0/24", "nexthop": "10.1.0.254"}]
