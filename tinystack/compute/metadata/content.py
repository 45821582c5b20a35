"""What an instance learns about itself: the OpenStack and EC2 metadata trees.

One set of builders for the metadata API and the config drive, so both serve the same
content. Version rules follow upstream Nova: files and keys appear from the version that
introduced them (``latest`` has everything).
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import os
from typing import Any

from tinystack.common.rpc.payload import JSON
from tinystack.compute.objects import VIF, InstanceMeta, SubnetMeta

OPENSTACK_VERSIONS = (
    "2012-08-10",
    "2013-04-04",
    "2013-10-17",
    "2015-10-15",
    "2016-06-30",
    "2016-10-06",
    "2017-02-22",
    "2018-08-27",
    "2020-10-14",
    "latest",
)
EC2_VERSIONS = (
    "1.0",
    "2007-01-19",
    "2007-03-01",
    "2007-08-29",
    "2007-10-10",
    "2007-12-15",
    "2008-02-01",
    "2008-09-01",
    "2009-04-04",
    "latest",
)
DHCP_DOMAIN = "novalocal"

MD_JSON = "meta_data.json"
USER_DATA = "user_data"
VD_JSON = "vendor_data.json"
NW_JSON = "network_data.json"
VD2_JSON = "vendor_data2.json"
#: the OpenStack version that introduced each file
OPENSTACK_FILES = (
    (MD_JSON, "2012-08-10"),
    (USER_DATA, "2012-08-10"),
    (VD_JSON, "2013-10-17"),
    (NW_JSON, "2015-10-15"),
    (VD2_JSON, "2016-10-06"),
)


def since(version: str, first: str) -> bool:
    """Whether metadata ``version`` (a date or ``latest``) has what ``first`` introduced."""
    return version == "latest" or version >= first


def user_data_bytes(raw: str | None) -> bytes | None:
    """The instance's user_data (stored base64-encoded, as the API takes it)."""
    if not raw:
        return None
    try:
        return base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        return raw.encode()


def fqdn(instance: InstanceMeta) -> str:
    return f"{instance.hostname}.{DHCP_DOMAIN}" if instance.hostname else ""


def key_name(instance: InstanceMeta) -> str:
    return instance.key_name or ("default" if instance.key_data else "")


def openstack_files(version: str, has_user_data: bool) -> list[str]:
    """The files of ``openstack/<version>/`` in upstream's listing order."""
    return [
        name
        for name, first in OPENSTACK_FILES
        if since(version, first) and (name != USER_DATA or has_user_data)
    ]


def meta_data(
    instance: InstanceMeta, admin_password: str | None = None, version: str = "latest"
) -> dict[str, JSON]:
    """``openstack/<version>/meta_data.json``."""
    data: dict[str, Any] = {
        "uuid": instance.uuid,
        "name": instance.display_name or instance.name,
        "hostname": fqdn(instance),
        "launch_index": instance.launch_index,
        "availability_zone": instance.availability_zone or "nova",
        "meta": dict(instance.metadata),
    }
    if instance.key_data:
        name = key_name(instance)
        data["public_keys"] = {name: instance.key_data}
        if since(version, "2015-10-15"):
            data["keys"] = [{"name": name, "type": "ssh", "data": instance.key_data}]
    if admin_password:
        data["admin_pass"] = admin_password
    if since(version, "2013-04-04"):
        data["random_seed"] = base64.b64encode(os.urandom(512)).decode()
    if since(version, "2015-10-15"):
        data["project_id"] = instance.project_id
    if since(version, "2016-06-30"):
        data["devices"] = []
    return data


def _subnet_of(address: str, subnets: tuple[SubnetMeta, ...]) -> SubnetMeta | None:
    ip = ipaddress.ip_address(address)
    for subnet in subnets:
        try:
            if ip in ipaddress.ip_network(subnet.cidr, strict=False):
                return subnet
        except ValueError:
            continue
    return None


def _route(destination: str, gateway: str) -> dict[str, str]:
    net = ipaddress.ip_network(destination, strict=False)
    mask = str(net.netmask) if net.version == 4 else str(net.prefixlen)
    return {"network": str(net.network_address), "netmask": mask, "gateway": gateway}


def _network(n: int, link: str, vif: VIF, address: str) -> tuple[dict[str, Any], list[str]]:
    """One entry of ``networks`` (and its DNS servers): DHCP unless the subnet is known to
    have DHCP off, as upstream's netutils decides."""
    version = 6 if ":" in address else 4
    subnet = _subnet_of(address, vif.subnets)
    entry: dict[str, Any] = {"id": f"network{n}", "link": link, "network_id": vif.network_id}
    if subnet is None or subnet.enable_dhcp:
        if version == 6 and subnet is not None and subnet.ipv6_address_mode:
            entry["type"] = f"ipv6_{subnet.ipv6_address_mode}"
        else:
            entry["type"] = f"ipv{version}_dhcp"
        return entry, list(subnet.dns_nameservers) if subnet else []
    net = ipaddress.ip_network(subnet.cidr, strict=False)
    routes = []
    if subnet.gateway_ip:
        default = "0.0.0.0/0" if version == 4 else "::/0"
        routes.append(_route(default, subnet.gateway_ip))
    routes += [_route(dest, hop) for dest, hop in subnet.host_routes]
    entry.update(
        {
            "type": f"ipv{version}",
            "ip_address": address,
            "netmask": str(net.netmask) if version == 4 else str(net.prefixlen),
            "routes": routes,
            "services": [{"type": "dns", "address": a} for a in subnet.dns_nameservers],
        }
    )
    return entry, list(subnet.dns_nameservers)


def network_data(vifs: list[VIF], mtu: int | None = None) -> dict[str, JSON]:
    """``openstack/<version>/network_data.json``: one link per port, one network per fixed
    IP (a port without addresses gets a DHCP entry), the DNS servers of their subnets."""
    links: list[JSON] = []
    networks: list[JSON] = []
    dns: list[str] = []
    for vif in vifs:
        link_id = f"tap{vif.id[:11]}"
        link: dict[str, JSON] = {
            "id": link_id,
            "vif_id": vif.id,
            "type": "bridge",
            "ethernet_mac_address": vif.address,
        }
        if vif.mtu or mtu:
            link["mtu"] = vif.mtu or mtu
        links.append(link)
        addresses = list(vif.fixed_ips)
        if not addresses:
            n = len(networks)
            networks.append(
                {
                    "id": f"network{n}",
                    "link": link_id,
                    "type": "ipv4_dhcp",
                    "network_id": vif.network_id,
                }
            )
        for address in addresses:
            try:
                entry, servers = _network(len(networks), link_id, vif, address)
            except ValueError:
                continue
            networks.append(entry)
            dns += [s for s in servers if s not in dns]
    services: list[JSON] = [{"type": "dns", "address": a} for a in dns]
    return {"links": links, "networks": networks, "services": services}


def ec2_id(instance: InstanceMeta) -> str:
    """The EC2-style instance id ``i-xxxxxxxx`` (from the database id, as upstream)."""
    return f"i-{instance.internal_id:08x}"


def ami_id(image_id: str) -> str:
    """An EC2-style image id, stable for the image's uuid."""
    digits = "".join(c for c in image_id.lower() if c in "0123456789abcdef")
    return f"ami-{(digits + '0' * 8)[:8]}"


def _block_device_mapping(instance: InstanceMeta) -> dict[str, str]:
    root = instance.root_device_name or "/dev/vda"
    mapping = {"ami": root.removeprefix("/dev/"), "root": root}
    prefix, letter = (root[:-1], ord(root[-1])) if root[-1].isalpha() else ("/dev/vd", ord("a"))
    if instance.flavor.ephemeral_gb:
        letter += 1
        mapping["ephemeral0"] = f"{prefix}{chr(letter)}"
    if instance.flavor.swap:
        letter += 1
        mapping["swap"] = f"{prefix}{chr(letter)}"
    return mapping


def ec2_meta_data(
    instance: InstanceMeta, vifs: list[VIF], version: str = "latest"
) -> dict[str, JSON]:
    """``<version>/meta-data`` of the EC2 API (``ec2/<version>/meta-data.json`` on the
    config drive). ``public-keys`` entries carry their listing name in ``_name``."""
    fixed = next((a for v in vifs for a in v.fixed_ips if ":" not in a), "")
    floating = next((a for v in vifs for a in v.floating_ips if ":" not in a), "")
    hostname = fqdn(instance)
    data: dict[str, Any] = {
        "ami-id": ami_id(instance.image.id) if instance.image else "",
        "ami-launch-index": instance.launch_index,
        "ami-manifest-path": "FIXME",  # upstream nova serves this literal value
        "hostname": hostname,
        "instance-id": ec2_id(instance),
        "local-ipv4": fixed,
        "reservation-id": instance.reservation_id,
        "security-groups": list(instance.security_groups) or ["default"],
    }
    if instance.key_data:
        data["public-keys"] = {
            "0": {"_name": f"0={key_name(instance)}", "openssh-key": instance.key_data}
        }
    if since(version, "2007-01-19"):
        data["local-hostname"] = hostname
        data["public-hostname"] = hostname
        if floating:
            data["public-ipv4"] = floating
    if since(version, "2007-08-29"):
        data["instance-type"] = instance.flavor.name
    if since(version, "2007-12-15"):
        data["block-device-mapping"] = _block_device_mapping(instance)
    if since(version, "2008-02-01"):
        data["placement"] = {"availability-zone": instance.availability_zone or "nova"}
    if since(version, "2008-09-01"):
        data["instance-action"] = "none"
    return data


def ec2_tree(instance: InstanceMeta, vifs: list[VIF], version: str = "latest") -> dict[str, JSON]:
    """``<version>/`` of the EC2 API: meta-data, user-data (when given) and dynamic."""
    tree: dict[str, Any] = {"meta-data": ec2_meta_data(instance, vifs, version)}
    user_data = user_data_bytes(instance.user_data)
    if user_data is not None:
        tree["user-data"] = user_data
    if since(version, "2009-04-04"):
        tree["dynamic"] = {}
    return tree


def openstack_file(
    name: str,
    version: str,
    instance: InstanceMeta,
    vifs: list[VIF],
    admin_password: str | None = None,
) -> bytes | None:
    """The content of ``openstack/<version>/<name>``, or None when it does not exist."""
    user_data = user_data_bytes(instance.user_data)
    if name not in openstack_files(version, user_data is not None):
        return None
    if name == USER_DATA:
        return user_data
    if name == MD_JSON:
        return json.dumps(meta_data(instance, admin_password, version)).encode()
    if name == NW_JSON:
        return json.dumps(network_data(vifs)).encode()
    return b"{}"  # vendor_data.json, vendor_data2.json: no vendor data providers
