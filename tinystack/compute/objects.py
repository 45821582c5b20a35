"""Compute's value objects: what the agent, the virt drivers, the services and the
metadata service hand each other about an instance, a flavor, an image, a port or a host.

Frozen dataclasses built from database rows by ``services/instances.py``; drivers and the
metadata service read them and never see a database row.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class FlavorMeta:
    flavorid: str
    name: str
    vcpus: int
    memory_mb: int
    root_gb: int
    ephemeral_gb: int = 0
    swap: int = 0
    extra_specs: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FlavorMeta:
        return cls(
            flavorid=str(data.get("flavorid", "")),
            name=str(data.get("name", "")),
            vcpus=int(data.get("vcpus", 0)),
            memory_mb=int(data.get("memory_mb", 0)),
            root_gb=int(data.get("root_gb", 0)),
            ephemeral_gb=int(data.get("ephemeral_gb", 0)),
            swap=int(data.get("swap") or 0),
            extra_specs=dict(data.get("extra_specs") or {}),
        )


@dataclass(frozen=True)
class ImageMeta:
    id: str
    name: str = ""
    disk_format: str | None = None
    container_format: str | None = None
    size: int = 0
    min_disk: int = 0
    min_ram: int = 0
    properties: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SubnetMeta:
    """A subnet of one of an instance's fixed IPs, as the network service described it."""

    id: str
    cidr: str
    gateway_ip: str | None = None
    enable_dhcp: bool = True
    dns_nameservers: tuple[str, ...] = ()
    #: (destination CIDR, nexthop) pairs
    host_routes: tuple[tuple[str, str], ...] = ()
    ipv6_address_mode: str | None = None


@dataclass(frozen=True)
class VIF:
    """One network interface of an instance (a port)."""

    id: str
    address: str
    network_id: str
    network_label: str = ""
    fixed_ips: tuple[str, ...] = ()
    active: bool = True
    tag: str | None = None
    floating_ips: tuple[str, ...] = ()
    #: the subnets of ``fixed_ips`` when known (the instance's stored network info)
    subnets: tuple[SubnetMeta, ...] = ()
    mtu: int | None = None


@dataclass(frozen=True)
class InstanceMeta:
    uuid: str
    name: str
    hostname: str
    project_id: str
    user_id: str
    flavor: FlavorMeta
    image: ImageMeta | None = None
    user_data: str | None = None
    key_data: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    # what the metadata service and the config drive also show
    display_name: str = ""
    key_name: str = ""
    availability_zone: str = ""
    launch_index: int = 0
    reservation_id: str = ""
    security_groups: tuple[str, ...] = ()
    #: the database id (EC2-style ids are derived from it)
    internal_id: int = 0
    root_device_name: str = ""


@dataclass(frozen=True)
class InstanceInfo:
    """What the hypervisor says about an instance."""

    power_state: int
    internal_id: str = ""


@dataclass(frozen=True)
class HostResources:
    vcpus: int
    memory_mb: int
    local_gb: int
    hypervisor_type: str
    hypervisor_version: int
    hypervisor_hostname: str
    host_ip: str = "127.0.0.1"
    cpu_info: dict[str, Any] = field(default_factory=dict)
    supported_instances: tuple[tuple[str, str, str], ...] = ()


@dataclass(frozen=True)
class ConsoleInfo:
    host: str
    port: int
    internal_access_path: str | None = None


@dataclass(frozen=True)
class DiskImage:
    """A snapshot's data, streamed by the agent to the image service."""

    disk_format: str
    container_format: str
    chunks: Iterator[bytes]


@dataclass(frozen=True)
class MigrationMeta:
    uuid: str
    source_host: str
    dest_host: str
    migration_type: str
