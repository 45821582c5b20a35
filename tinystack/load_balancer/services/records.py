"""Frozen records the service layer returns, one per resource, built from rows in one place."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any, TypeVar

R = TypeVar("R")


def of(cls: type[R], row: Any, **extra: Any) -> R:
    """The record ``cls`` of ``row`` (every field a column of the same name, or ``extra``)."""
    values = {f.name: getattr(row, f.name) for f in dataclasses.fields(cls) if f.name not in extra}  # type: ignore[arg-type]
    return cls(**values, **extra)


@dataclasses.dataclass(frozen=True, slots=True)
class _Common:
    id: str
    project_id: str
    name: str
    description: str
    admin_state_up: bool
    provisioning_status: str
    operating_status: str
    tags: list[str]
    created_at: datetime
    updated_at: datetime | None


@dataclasses.dataclass(frozen=True, slots=True)
class LoadBalancerRecord(_Common):
    provider: str
    vip_address: str
    vip_port_id: str
    vip_subnet_id: str
    vip_network_id: str
    vip_qos_policy_id: str | None
    flavor_id: str | None
    availability_zone: str | None
    listener_ids: tuple[str, ...]
    pool_ids: tuple[str, ...]


@dataclasses.dataclass(frozen=True, slots=True)
class ListenerRecord(_Common):
    load_balancer_id: str
    protocol: str
    protocol_port: int
    connection_limit: int
    default_pool_id: str | None
    timeout_client_data: int
    timeout_member_connect: int
    timeout_member_data: int
    timeout_tcp_inspect: int
    insert_headers: dict[str, Any]
    allowed_cidrs: list[str]
    l7policy_ids: tuple[str, ...]


@dataclasses.dataclass(frozen=True, slots=True)
class PoolRecord(_Common):
    load_balancer_id: str
    listener_id: str | None
    protocol: str
    lb_algorithm: str
    session_persistence: dict[str, Any] | None
    member_ids: tuple[str, ...]
    healthmonitor_id: str | None


@dataclasses.dataclass(frozen=True, slots=True)
class MemberRecord(_Common):
    load_balancer_id: str
    pool_id: str
    address: str
    protocol_port: int
    weight: int
    backup: bool
    subnet_id: str | None
    monitor_address: str | None
    monitor_port: int | None


@dataclasses.dataclass(frozen=True, slots=True)
class HealthMonitorRecord(_Common):
    load_balancer_id: str
    pool_id: str
    type: str
    delay: int
    timeout: int
    max_retries: int
    max_retries_down: int
    http_method: str | None
    url_path: str | None
    expected_codes: str | None
    http_version: float | None
    domain_name: str | None


@dataclasses.dataclass(frozen=True, slots=True)
class L7PolicyRecord(_Common):
    load_balancer_id: str
    listener_id: str
    action: str
    position: int
    redirect_pool_id: str | None
    redirect_url: str | None
    redirect_prefix: str | None
    redirect_http_code: int | None
    rule_ids: tuple[str, ...]


@dataclasses.dataclass(frozen=True, slots=True)
class L7RuleRecord(_Common):
    load_balancer_id: str
    l7policy_id: str
    type: str
    compare_type: str
    key: str | None
    value: str
    invert: bool


@dataclasses.dataclass(frozen=True, slots=True)
class StatsRecord:
    bytes_in: int
    bytes_out: int
    active_connections: int
    total_connections: int
    request_errors: int


@dataclasses.dataclass(frozen=True, slots=True)
class QuotaRecord:
    project_id: str
    #: resource -> limit (-1: unlimited), defaults applied
    limits: dict[str, int]


@dataclasses.dataclass(frozen=True, slots=True)
class ProviderRecord:
    name: str
    description: str
