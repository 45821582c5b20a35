"""Load balancer tables: Octavia's resources, one table each, children keyed to their parent.

A child's ``load_balancer_id`` is denormalised (as Octavia's members and pools carry
``project_id``) so that the provisioning lock and the agent's load of a whole tree are
one indexed query per table.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, DateTime, ForeignKey, Integer, MetaData, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

UUID = String(36)


class Base(DeclarativeBase):
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


class _Common:
    id: Mapped[str] = mapped_column(UUID, primary_key=True)
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    description: Mapped[str] = mapped_column(String(255), default="")
    admin_state_up: Mapped[bool] = mapped_column(Boolean, default=True)
    provisioning_status: Mapped[str] = mapped_column(String(16))
    operating_status: Mapped[str] = mapped_column(String(16), default="OFFLINE")
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class LoadBalancer(_Common, Base):
    __tablename__ = "load_balancers"
    provider: Mapped[str] = mapped_column(String(64))
    host: Mapped[str] = mapped_column(String(255), default="")
    vip_address: Mapped[str] = mapped_column(String(64), default="")
    vip_port_id: Mapped[str] = mapped_column(UUID, default="")
    vip_subnet_id: Mapped[str] = mapped_column(UUID, default="")
    vip_network_id: Mapped[str] = mapped_column(UUID, default="")
    #: the VIP port's MAC, the subnet's prefix length and gateway, the network's MTU
    vip_mac: Mapped[str] = mapped_column(String(32), default="")
    vip_prefixlen: Mapped[int] = mapped_column(Integer, default=24)
    vip_gateway: Mapped[str | None] = mapped_column(String(64), nullable=True)
    vip_mtu: Mapped[int] = mapped_column(Integer, default=1500)
    vip_qos_policy_id: Mapped[str | None] = mapped_column(UUID, nullable=True)
    #: whether the VIP port was made for the load balancer (and is deleted with it)
    owns_port: Mapped[bool] = mapped_column(Boolean, default=True)
    flavor_id: Mapped[str | None] = mapped_column(UUID, nullable=True)
    availability_zone: Mapped[str | None] = mapped_column(String(255), nullable=True)


class _Child(_Common):
    load_balancer_id: Mapped[str] = mapped_column(
        UUID, ForeignKey("load_balancers.id", ondelete="CASCADE"), index=True
    )


class Listener(_Child, Base):
    __tablename__ = "listeners"
    protocol: Mapped[str] = mapped_column(String(32))
    protocol_port: Mapped[int] = mapped_column(Integer)
    connection_limit: Mapped[int] = mapped_column(Integer, default=-1)
    default_pool_id: Mapped[str | None] = mapped_column(UUID, nullable=True)
    timeout_client_data: Mapped[int] = mapped_column(Integer, default=50000)
    timeout_member_connect: Mapped[int] = mapped_column(Integer, default=5000)
    timeout_member_data: Mapped[int] = mapped_column(Integer, default=50000)
    timeout_tcp_inspect: Mapped[int] = mapped_column(Integer, default=0)
    insert_headers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    allowed_cidrs: Mapped[list[str]] = mapped_column(JSON, default=list)


class Pool(_Child, Base):
    __tablename__ = "pools"
    listener_id: Mapped[str | None] = mapped_column(UUID, nullable=True)
    protocol: Mapped[str] = mapped_column(String(32))
    lb_algorithm: Mapped[str] = mapped_column(String(32))
    session_persistence: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


class Member(_Child, Base):
    __tablename__ = "members"
    pool_id: Mapped[str] = mapped_column(UUID, ForeignKey("pools.id", ondelete="CASCADE"))
    address: Mapped[str] = mapped_column(String(64))
    protocol_port: Mapped[int] = mapped_column(Integer)
    weight: Mapped[int] = mapped_column(Integer, default=1)
    backup: Mapped[bool] = mapped_column(Boolean, default=False)
    subnet_id: Mapped[str | None] = mapped_column(UUID, nullable=True)
    monitor_address: Mapped[str | None] = mapped_column(String(64), nullable=True)
    monitor_port: Mapped[int | None] = mapped_column(Integer, nullable=True)


class HealthMonitor(_Child, Base):
    __tablename__ = "health_monitors"
    pool_id: Mapped[str] = mapped_column(UUID, ForeignKey("pools.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(32))
    delay: Mapped[int] = mapped_column(Integer)
    timeout: Mapped[int] = mapped_column(Integer)
    max_retries: Mapped[int] = mapped_column(Integer)
    max_retries_down: Mapped[int] = mapped_column(Integer, default=3)
    http_method: Mapped[str | None] = mapped_column(String(16), nullable=True)
    url_path: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    expected_codes: Mapped[str | None] = mapped_column(String(64), nullable=True)
    http_version: Mapped[float | None] = mapped_column(nullable=True)
    domain_name: Mapped[str | None] = mapped_column(String(255), nullable=True)


class L7Policy(_Child, Base):
    __tablename__ = "l7policies"
    listener_id: Mapped[str] = mapped_column(UUID, ForeignKey("listeners.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(String(32))
    position: Mapped[int] = mapped_column(Integer)
    redirect_pool_id: Mapped[str | None] = mapped_column(UUID, nullable=True)
    redirect_url: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    redirect_prefix: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    redirect_http_code: Mapped[int | None] = mapped_column(Integer, nullable=True)


class L7Rule(_Child, Base):
    __tablename__ = "l7rules"
    l7policy_id: Mapped[str] = mapped_column(UUID, ForeignKey("l7policies.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(32))
    compare_type: Mapped[str] = mapped_column(String(32))
    key: Mapped[str | None] = mapped_column(String(255), nullable=True)
    value: Mapped[str] = mapped_column(String(255))
    invert: Mapped[bool] = mapped_column(Boolean, default=False)


class ListenerStats(Base):
    """A listener's counters, accumulated from what the agent reads from HAProxy."""

    __tablename__ = "listener_stats"
    listener_id: Mapped[str] = mapped_column(
        UUID, ForeignKey("listeners.id", ondelete="CASCADE"), primary_key=True
    )
    bytes_in: Mapped[int] = mapped_column(BigInteger, default=0)
    bytes_out: Mapped[int] = mapped_column(BigInteger, default=0)
    active_connections: Mapped[int] = mapped_column(Integer, default=0)
    total_connections: Mapped[int] = mapped_column(BigInteger, default=0)
    request_errors: Mapped[int] = mapped_column(BigInteger, default=0)
    #: the HAProxy process last read and its raw counters: a reload or restart starts
    #: them at zero again, so the totals above add what changed since the last read
    last_pid: Mapped[int] = mapped_column(Integer, default=0)
    last_bytes_in: Mapped[int] = mapped_column(BigInteger, default=0)
    last_bytes_out: Mapped[int] = mapped_column(BigInteger, default=0)
    last_total_connections: Mapped[int] = mapped_column(BigInteger, default=0)
    last_request_errors: Mapped[int] = mapped_column(BigInteger, default=0)


class Quota(Base):
    """A project's limits; a missing row or a null limit means the configured default."""

    __tablename__ = "quotas"
    project_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    limits: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
