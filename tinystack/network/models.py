"""Network tables.

Every API resource row carries its standard attributes (description,
created_at, updated_at, revision_number and, where upstream tags the resource,
``tags`` as a JSON list). Small lists that are only ever read with their owner
(allocation pools, DNS servers, host routes, address pairs, static routes) are
JSON columns; relations that are queried (fixed IPs, security group bindings,
segments) are tables. ``shared``/``router:external`` visibility lives in
``rbac_policies`` as upstream.

IPAM's guarantee against duplicates is the primary key of ``ip_allocations``
(subnet, address); segment allocation's is the one of ``segment_allocations``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

ID = String(36)
PROJECT = String(255)
NAME = String(255)


class Base(DeclarativeBase):
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


class StandardAttrs:
    """created_at, updated_at, revision_number and description."""

    description: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)
    revision_number: Mapped[int] = mapped_column(Integer, default=0)


class Network(StandardAttrs, Base):
    __tablename__ = "networks"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    project_id: Mapped[str] = mapped_column(PROJECT, index=True)
    name: Mapped[str] = mapped_column(NAME, default="")
    status: Mapped[str] = mapped_column(String(16), default="ACTIVE")
    admin_state_up: Mapped[bool] = mapped_column(Boolean, default=True)
    mtu: Mapped[int] = mapped_column(Integer)
    port_security_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    external: Mapped[bool] = mapped_column(Boolean, default=False)
    availability_zone_hints: Mapped[list[str]] = mapped_column(JSON, default=list)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    qos_policy_id: Mapped[str | None] = mapped_column(ID, index=True, nullable=True)
    #: the default external network (auto-allocated topologies use it)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    #: dns-integration: the domain of the network's ports in an external DNS service
    dns_domain: Mapped[str] = mapped_column(String(255), default="", server_default="")


class NetworkSegment(Base):
    """A segment of a network (``/v2.0/segments``). ``name`` and ``description`` stay
    NULL until given, as upstream shows them; the first segment by ``segment_index``
    (then id) is the one the provider attributes and the L2 agents use."""

    __tablename__ = "network_segments"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    network_id: Mapped[str] = mapped_column(
        ForeignKey("networks.id", ondelete="CASCADE"), index=True
    )
    network_type: Mapped[str] = mapped_column(String(32))
    physical_network: Mapped[str | None] = mapped_column(String(64))
    segmentation_id: Mapped[int | None] = mapped_column(Integer)
    segment_index: Mapped[int] = mapped_column(Integer, default=0)
    name: Mapped[str | None] = mapped_column(NAME, nullable=True)
    description: Mapped[str | None] = mapped_column(String(255), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)
    revision_number: Mapped[int] = mapped_column(Integer, default=0)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)


class SegmentAllocation(Base):
    """A taken (type, physical network, id); flat networks use segmentation id 0."""

    __tablename__ = "segment_allocations"
    network_type: Mapped[str] = mapped_column(String(32), primary_key=True)
    physical_network: Mapped[str] = mapped_column(String(64), primary_key=True)
    segmentation_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    network_id: Mapped[str] = mapped_column(
        ForeignKey("networks.id", ondelete="CASCADE"), index=True
    )


class Subnet(StandardAttrs, Base):
    __tablename__ = "subnets"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    project_id: Mapped[str] = mapped_column(PROJECT, index=True)
    network_id: Mapped[str] = mapped_column(ForeignKey("networks.id"), index=True)
    name: Mapped[str] = mapped_column(NAME, default="")
    ip_version: Mapped[int] = mapped_column(Integer)
    cidr: Mapped[str] = mapped_column(String(64))
    gateway_ip: Mapped[str | None] = mapped_column(String(64))
    enable_dhcp: Mapped[bool] = mapped_column(Boolean, default=True)
    ipv6_ra_mode: Mapped[str | None] = mapped_column(String(32))
    ipv6_address_mode: Mapped[str | None] = mapped_column(String(32))
    subnetpool_id: Mapped[str | None] = mapped_column(ID, index=True)
    #: the segment of a routed network the subnet is on (``segment`` extension)
    segment_id: Mapped[str | None] = mapped_column(
        ForeignKey("network_segments.id"), index=True, nullable=True
    )
    allocation_pools: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    dns_nameservers: Mapped[list[str]] = mapped_column(JSON, default=list)
    host_routes: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    service_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)


class Port(StandardAttrs, Base):
    __tablename__ = "ports"
    __table_args__ = (UniqueConstraint("network_id", "mac_address"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    project_id: Mapped[str] = mapped_column(PROJECT, index=True)
    network_id: Mapped[str] = mapped_column(ForeignKey("networks.id"), index=True)
    name: Mapped[str] = mapped_column(NAME, default="")
    admin_state_up: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[str] = mapped_column(String(16), default="DOWN")
    mac_address: Mapped[str] = mapped_column(String(32))
    device_id: Mapped[str] = mapped_column(String(255), default="", index=True)
    device_owner: Mapped[str] = mapped_column(String(255), default="", index=True)
    port_security_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    allowed_address_pairs: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    extra_dhcp_opts: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    binding_host_id: Mapped[str] = mapped_column(String(255), default="", index=True)
    binding_vif_type: Mapped[str] = mapped_column(String(64), default="unbound")
    binding_vif_details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    binding_vnic_type: Mapped[str] = mapped_column(String(64), default="normal")
    binding_profile: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    qos_policy_id: Mapped[str | None] = mapped_column(ID, index=True, nullable=True)
    #: dns-integration / dns-domain-ports: the port's name (lowercase) and its own domain
    dns_name: Mapped[str] = mapped_column(String(255), default="", server_default="")
    dns_domain: Mapped[str] = mapped_column(String(255), default="", server_default="")


class IPAllocation(Base):
    """One fixed IP of a port; the primary key makes double allocation impossible."""

    __tablename__ = "ip_allocations"
    subnet_id: Mapped[str] = mapped_column(
        ForeignKey("subnets.id", ondelete="CASCADE"), primary_key=True
    )
    ip_address: Mapped[str] = mapped_column(String(64), primary_key=True)
    port_id: Mapped[str] = mapped_column(ForeignKey("ports.id", ondelete="CASCADE"), index=True)
    network_id: Mapped[str] = mapped_column(ID, index=True)


class PortSecurityGroup(Base):
    __tablename__ = "port_security_groups"
    port_id: Mapped[str] = mapped_column(
        ForeignKey("ports.id", ondelete="CASCADE"), primary_key=True
    )
    security_group_id: Mapped[str] = mapped_column(
        ForeignKey("security_groups.id"), primary_key=True, index=True
    )


class Router(StandardAttrs, Base):
    __tablename__ = "routers"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    project_id: Mapped[str] = mapped_column(PROJECT, index=True)
    name: Mapped[str] = mapped_column(NAME, default="")
    status: Mapped[str] = mapped_column(String(16), default="ACTIVE")
    admin_state_up: Mapped[bool] = mapped_column(Boolean, default=True)
    gw_port_id: Mapped[str | None] = mapped_column(
        ForeignKey("ports.id", ondelete="SET NULL"), index=True
    )
    gw_network_id: Mapped[str | None] = mapped_column(ID, index=True)
    enable_snat: Mapped[bool] = mapped_column(Boolean, default=True)
    routes: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    availability_zone_hints: Mapped[list[str]] = mapped_column(JSON, default=list)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)


class FloatingIP(StandardAttrs, Base):
    __tablename__ = "floatingips"
    __table_args__ = (UniqueConstraint("floating_network_id", "port_id", "fixed_ip_address"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    project_id: Mapped[str] = mapped_column(PROJECT, index=True)
    floating_network_id: Mapped[str] = mapped_column(ForeignKey("networks.id"), index=True)
    floating_port_id: Mapped[str] = mapped_column(
        ForeignKey("ports.id", ondelete="CASCADE"), unique=True
    )
    floating_ip_address: Mapped[str] = mapped_column(String(64))
    port_id: Mapped[str | None] = mapped_column(
        ForeignKey("ports.id", ondelete="SET NULL"), index=True
    )
    fixed_ip_address: Mapped[str | None] = mapped_column(String(64))
    router_id: Mapped[str | None] = mapped_column(
        ForeignKey("routers.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[str] = mapped_column(String(16), default="DOWN")
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)


class SecurityGroup(StandardAttrs, Base):
    __tablename__ = "security_groups"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    project_id: Mapped[str] = mapped_column(PROJECT, index=True)
    name: Mapped[str] = mapped_column(NAME, default="")
    stateful: Mapped[bool] = mapped_column(Boolean, default=True)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)


class DefaultSecurityGroup(Base):
    """Which group is a project's default: one per project, created on first use."""

    __tablename__ = "default_security_groups"
    project_id: Mapped[str] = mapped_column(PROJECT, primary_key=True)
    security_group_id: Mapped[str] = mapped_column(
        ForeignKey("security_groups.id", ondelete="CASCADE"), unique=True
    )


class SecurityGroupRule(StandardAttrs, Base):
    __tablename__ = "security_group_rules"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    project_id: Mapped[str] = mapped_column(PROJECT, index=True)
    security_group_id: Mapped[str] = mapped_column(
        ForeignKey("security_groups.id", ondelete="CASCADE"), index=True
    )
    direction: Mapped[str] = mapped_column(String(16))
    ethertype: Mapped[str] = mapped_column(String(8))
    protocol: Mapped[str | None] = mapped_column(String(40))
    port_range_min: Mapped[int | None] = mapped_column(Integer)
    port_range_max: Mapped[int | None] = mapped_column(Integer)
    remote_ip_prefix: Mapped[str | None] = mapped_column(String(64))
    remote_group_id: Mapped[str | None] = mapped_column(
        ForeignKey("security_groups.id", ondelete="CASCADE"), index=True
    )


class AddressScope(StandardAttrs, Base):
    __tablename__ = "address_scopes"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    project_id: Mapped[str] = mapped_column(PROJECT, index=True)
    name: Mapped[str] = mapped_column(NAME, default="")
    ip_version: Mapped[int] = mapped_column(Integer)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)


class SubnetPool(StandardAttrs, Base):
    __tablename__ = "subnetpools"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    project_id: Mapped[str] = mapped_column(PROJECT, index=True)
    name: Mapped[str] = mapped_column(NAME, default="")
    ip_version: Mapped[int] = mapped_column(Integer)
    default_prefixlen: Mapped[int] = mapped_column(Integer)
    min_prefixlen: Mapped[int] = mapped_column(Integer)
    max_prefixlen: Mapped[int] = mapped_column(Integer)
    default_quota: Mapped[int | None] = mapped_column(Integer)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    address_scope_id: Mapped[str | None] = mapped_column(
        ForeignKey("address_scopes.id"), index=True
    )
    prefixes: Mapped[list[str]] = mapped_column(JSON, default=list)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)


class RbacPolicy(Base):
    __tablename__ = "rbac_policies"
    __table_args__ = (
        UniqueConstraint("object_type", "object_id", "action", "target_project"),
        Index("ix_rbac_policies_target", "object_type", "target_project", "action"),
    )
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    project_id: Mapped[str] = mapped_column(PROJECT, index=True)
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[str] = mapped_column(ID, index=True)
    action: Mapped[str] = mapped_column(String(32))
    target_project: Mapped[str] = mapped_column(PROJECT)


class Quota(Base):
    __tablename__ = "quotas"
    project_id: Mapped[str] = mapped_column(PROJECT, primary_key=True)
    resource: Mapped[str] = mapped_column(String(64), primary_key=True)
    limit: Mapped[int] = mapped_column(Integer)


class Agent(Base):
    __tablename__ = "agents"
    __table_args__ = (UniqueConstraint("agent_type", "host"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    agent_type: Mapped[str] = mapped_column(String(255))
    binary: Mapped[str] = mapped_column(String(255))
    topic: Mapped[str] = mapped_column(String(255))
    host: Mapped[str] = mapped_column(String(255), index=True)
    availability_zone: Mapped[str | None] = mapped_column(String(255))
    admin_state_up: Mapped[bool] = mapped_column(Boolean, default=True)
    configurations: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    resource_versions: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    started_at: Mapped[datetime] = mapped_column(DateTime)
    heartbeat_timestamp: Mapped[datetime] = mapped_column(DateTime)


class QosPolicy(StandardAttrs, Base):
    """A QoS policy; ``is_default``: the one a project's new networks get."""

    __tablename__ = "qos_policies"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    project_id: Mapped[str] = mapped_column(PROJECT, index=True)
    name: Mapped[str] = mapped_column(NAME, default="")
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)


class QosRule(Base):
    """A rule of a QoS policy; its type decides which columns mean something
    (``bandwidth_limit``: max_kbps, max_burst_kbps, direction; ``dscp_marking``: dscp_mark;
    ``minimum_bandwidth``: min_kbps, direction). One rule per (policy, type, direction)."""

    __tablename__ = "qos_rules"
    __table_args__ = (UniqueConstraint("policy_id", "rule_type", "direction"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    policy_id: Mapped[str] = mapped_column(
        ForeignKey("qos_policies.id", ondelete="CASCADE"), index=True
    )
    rule_type: Mapped[str] = mapped_column(String(32))
    direction: Mapped[str] = mapped_column(String(16), default="egress")
    max_kbps: Mapped[int | None] = mapped_column(Integer)
    max_burst_kbps: Mapped[int | None] = mapped_column(Integer)
    dscp_mark: Mapped[int | None] = mapped_column(Integer)
    min_kbps: Mapped[int | None] = mapped_column(Integer)


class PortForwarding(Base):
    """A floating IP's port forwarding: ``external`` ports of the floating IP (a range,
    start = end for one port) to ``internal`` ports of a fixed IP of an internal port."""

    __tablename__ = "port_forwardings"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    floatingip_id: Mapped[str] = mapped_column(
        ForeignKey("floatingips.id", ondelete="CASCADE"), index=True
    )
    internal_port_id: Mapped[str] = mapped_column(
        ForeignKey("ports.id", ondelete="CASCADE"), index=True
    )
    internal_ip_address: Mapped[str] = mapped_column(String(64))
    protocol: Mapped[str] = mapped_column(String(8))
    internal_port_start: Mapped[int] = mapped_column(Integer)
    internal_port_end: Mapped[int] = mapped_column(Integer)
    external_port_start: Mapped[int] = mapped_column(Integer)
    external_port_end: Mapped[int] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(String(255), default="")


class AutoAllocatedTopology(Base):
    """A project's auto-allocated network and router (one per project)."""

    __tablename__ = "auto_allocated_topologies"
    project_id: Mapped[str] = mapped_column(PROJECT, primary_key=True)
    network_id: Mapped[str] = mapped_column(ForeignKey("networks.id", ondelete="CASCADE"))
    router_id: Mapped[str | None] = mapped_column(
        ForeignKey("routers.id", ondelete="SET NULL"), nullable=True
    )


class FirewallRule(StandardAttrs, Base):
    """An FWaaS v2 rule: a match (protocol, addresses, port ranges) and an action.
    Port ranges are (min, max), both None for any port."""

    __tablename__ = "firewall_rules"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    project_id: Mapped[str] = mapped_column(PROJECT, index=True)
    name: Mapped[str] = mapped_column(NAME, default="")
    shared: Mapped[bool] = mapped_column(Boolean, default=False)
    protocol: Mapped[str | None] = mapped_column(String(40), nullable=True)
    ip_version: Mapped[int] = mapped_column(Integer, default=4)
    source_ip_address: Mapped[str | None] = mapped_column(String(64), nullable=True)
    destination_ip_address: Mapped[str | None] = mapped_column(String(64), nullable=True)
    source_port_min: Mapped[int | None] = mapped_column(Integer, nullable=True)
    source_port_max: Mapped[int | None] = mapped_column(Integer, nullable=True)
    destination_port_min: Mapped[int | None] = mapped_column(Integer, nullable=True)
    destination_port_max: Mapped[int | None] = mapped_column(Integer, nullable=True)
    action: Mapped[str] = mapped_column(String(16), default="deny")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)


class FirewallPolicy(StandardAttrs, Base):
    """An ordered list of firewall rules (``firewall_policy_rules``); ``audited`` is
    cleared by every change to the policy or its rules."""

    __tablename__ = "firewall_policies"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    project_id: Mapped[str] = mapped_column(PROJECT, index=True)
    name: Mapped[str] = mapped_column(NAME, default="")
    shared: Mapped[bool] = mapped_column(Boolean, default=False)
    audited: Mapped[bool] = mapped_column(Boolean, default=False)


class FirewallPolicyRule(Base):
    """A rule's place in a policy: positions count from 1, first match wins."""

    __tablename__ = "firewall_policy_rules"
    firewall_policy_id: Mapped[str] = mapped_column(
        ForeignKey("firewall_policies.id", ondelete="CASCADE"), primary_key=True
    )
    firewall_rule_id: Mapped[str] = mapped_column(
        ForeignKey("firewall_rules.id"), primary_key=True, index=True
    )
    position: Mapped[int] = mapped_column(Integer)


class FirewallGroup(StandardAttrs, Base):
    """Ingress and egress policies applied to router interface ports.
    ``default_of``: the project whose default group (``default``) this is."""

    __tablename__ = "firewall_groups"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    project_id: Mapped[str] = mapped_column(PROJECT, index=True)
    name: Mapped[str] = mapped_column(NAME, default="")
    shared: Mapped[bool] = mapped_column(Boolean, default=False)
    admin_state_up: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[str] = mapped_column(String(16), default="INACTIVE")
    ingress_firewall_policy_id: Mapped[str | None] = mapped_column(
        ForeignKey("firewall_policies.id"), nullable=True, index=True
    )
    egress_firewall_policy_id: Mapped[str | None] = mapped_column(
        ForeignKey("firewall_policies.id"), nullable=True, index=True
    )
    default_of: Mapped[str | None] = mapped_column(PROJECT, nullable=True, unique=True)


class FirewallGroupPort(Base):
    """A port in a firewall group; a port is in one group at most (its primary key)."""

    __tablename__ = "firewall_group_ports"
    port_id: Mapped[str] = mapped_column(
        ForeignKey("ports.id", ondelete="CASCADE"), primary_key=True
    )
    firewall_group_id: Mapped[str] = mapped_column(
        ForeignKey("firewall_groups.id", ondelete="CASCADE"), index=True
    )


class MeteringLabel(Base):
    """A metering label: traffic of its project's routers (every router when ``shared``)
    counted by its rules. No standard attributes (upstream has none but ``description``)."""

    __tablename__ = "metering_labels"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    project_id: Mapped[str] = mapped_column(PROJECT, index=True)
    name: Mapped[str] = mapped_column(NAME, default="")
    description: Mapped[str] = mapped_column(String(1024), default="")
    shared: Mapped[bool] = mapped_column(Boolean, default=False)


class MeteringLabelRule(Base):
    """What a label counts on a router's gateway: ``direction`` and either
    ``remote_ip_prefix`` or source/destination prefixes; ``excluded`` ones are not
    counted (checked first). ``project_id`` is the label's (a policy target)."""

    __tablename__ = "metering_label_rules"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    project_id: Mapped[str] = mapped_column(PROJECT, index=True)
    metering_label_id: Mapped[str] = mapped_column(
        ForeignKey("metering_labels.id", ondelete="CASCADE"), index=True
    )
    direction: Mapped[str] = mapped_column(String(16))
    remote_ip_prefix: Mapped[str | None] = mapped_column(String(64), nullable=True)
    source_ip_prefix: Mapped[str | None] = mapped_column(String(64), nullable=True)
    destination_ip_prefix: Mapped[str | None] = mapped_column(String(64), nullable=True)
    excluded: Mapped[bool] = mapped_column(Boolean, default=False)
