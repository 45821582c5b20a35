"""What the provider agent is given to build and what it reports: the value objects the
agent and the service layer share (``services/provider_store.py`` builds them)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class MemberSpec:
    id: str
    address: str
    protocol_port: int
    weight: int
    backup: bool
    enabled: bool
    monitor_address: str | None
    monitor_port: int | None


@dataclass(frozen=True, slots=True)
class MonitorSpec:
    type: str
    delay: int
    timeout: int
    max_retries: int
    max_retries_down: int
    http_method: str
    url_path: str
    expected_codes: str
    domain_name: str | None


@dataclass(frozen=True, slots=True)
class PoolSpec:
    id: str
    protocol: str
    lb_algorithm: str
    persistence_type: str | None
    cookie_name: str | None
    enabled: bool
    members: tuple[MemberSpec, ...]
    monitor: MonitorSpec | None


@dataclass(frozen=True, slots=True)
class RuleSpec:
    type: str
    compare_type: str
    key: str | None
    value: str
    invert: bool


@dataclass(frozen=True, slots=True)
class PolicySpec:
    id: str
    action: str
    redirect_pool_id: str | None
    redirect_url: str | None
    redirect_prefix: str | None
    redirect_http_code: int
    rules: tuple[RuleSpec, ...]


@dataclass(frozen=True, slots=True)
class ListenerSpec:
    id: str
    protocol: str
    protocol_port: int
    connection_limit: int
    default_pool_id: str | None
    timeout_client_data: int
    timeout_member_connect: int
    timeout_member_data: int
    insert_headers: tuple[tuple[str, str], ...]
    allowed_cidrs: tuple[str, ...]
    policies: tuple[PolicySpec, ...]
    enabled: bool


@dataclass(frozen=True, slots=True)
class LoadBalancerSpec:
    id: str
    provider: str
    vip_address: str
    vip_port_id: str
    vip_mac: str
    vip_prefixlen: int
    vip_gateway: str | None
    vip_mtu: int
    enabled: bool
    listeners: tuple[ListenerSpec, ...]
    pools: tuple[PoolSpec, ...]


@dataclass(frozen=True, slots=True)
class ListenerCounters:
    """Raw counters of one HAProxy process (``pid``): they restart at zero with it."""

    listener_id: str
    pid: int
    bytes_in: int
    bytes_out: int
    active_connections: int
    total_connections: int
    request_errors: int


@dataclass(frozen=True, slots=True)
class HealthReport:
    """One read of a load balancer's stats socket: member health and listener counters."""

    #: member id -> ONLINE, ERROR, NO_MONITOR, OFFLINE or DRAINING
    members: tuple[tuple[str, str], ...]
    listeners: tuple[ListenerCounters, ...]
    running: bool
