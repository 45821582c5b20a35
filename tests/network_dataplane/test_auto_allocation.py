"""Auto-allocated topology: from a default subnet pool and the default external network,
a project gets a network, subnet and router on first request, and a guest on it reaches
the outside host through the router."""

from __future__ import annotations

from tests.network_dataplane.conftest import Cloud


def test_auto_allocated_topology(fresh: Cloud) -> None:
    cloud = fresh
    path = f"/auto-allocated-topology/{cloud.project}"
    # no defaults yet: a deployment error, as upstream (409), for the dry run too
    failed = cloud.call("GET", path, expect=409)
    assert failed["NeutronError"]["type"] == "AutoAllocationFailure"
    cloud.call("GET", path + "?fields=dry-run", expect=409)
    public, _ = cloud.public_network()
    cloud.call("PUT", f"/networks/{public['id']}", {"network": {"is_default": True}}, True, 200)
    pool = cloud.create(
        "subnetpool",
        admin=True,
        name=f"{cloud.tag}-pool",
        prefixes=["10.80.0.0/16"],
        default_prefixlen=26,
        is_default=True,
        shared=True,
    )
    dry = cloud.call("GET", path + "?fields=dry-run", expect=200)["auto_allocated_topology"]
    assert dry["id"] == "dry-run=pass"
    cloud.call("GET", "/auto-allocated-topology/someone-else", expect=403)
    topology = cloud.call("GET", path, expect=200)["auto_allocated_topology"]
    assert topology["project_id"] == cloud.project
    again = cloud.call("GET", path, expect=200)["auto_allocated_topology"]
    assert again["id"] == topology["id"]  # made once
    net = cloud.get("network", topology["id"])
    assert net["project_id"] == cloud.project and len(net["subnets"]) == 1
    subnet = cloud.get("subnet", net["subnets"][0])
    assert subnet["subnetpool_id"] == pool["id"] and subnet["cidr"].endswith("/26")
    routers = cloud.call("GET", f"/routers?project_id={cloud.project}", admin=True)["routers"]
    (router,) = [r for r in routers if r["name"] == "auto_allocated_router"]
    assert router["external_gateway_info"]["network_id"] == public["id"]
    # a guest on it reaches the outside host through the router (SNAT)
    guest = cloud.guest(cloud.server_port(net["id"]))
    assert cloud.wait_active(guest.port["id"])
    guest.static(f"{guest.fixed_ip}/26", subnet["gateway_ip"])
    cloud.outside_host()
    assert guest.eventually_pings("203.0.113.1")
    cloud.destroy_namespaces()
    cloud.delete(f"/ports/{guest.port['id']}")
    cloud.call("DELETE", path, expect=204)
    cloud.call("GET", f"/networks/{net['id']}", admin=True, expect=404)
    cloud.call("GET", f"/routers/{router['id']}", admin=True, expect=404)
    cloud.delete(f"/subnetpools/{pool['id']}")
    cloud.delete(f"/networks/{public['id']}")
