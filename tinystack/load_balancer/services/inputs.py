"""The typed inputs of the service layer: what a create or an update may set, validated,
and what a list asks for (``ListPage``).

The API's request bodies (``api/schemas.py``) wrap these (``{"loadbalancer": {...}}``).
An update applies only the fields the request set (``model_fields_set``). The limits
and choices are Octavia's (its api-ref and wsme types).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Name = Annotated[str, StringConstraints(max_length=255)]
Port = Annotated[int, Field(ge=1, le=65535)]
Id = Annotated[str, StringConstraints(min_length=1, max_length=36)]
Tags = list[Annotated[str, StringConstraints(max_length=255)]]
ListenerProtocol = Literal["HTTP", "HTTPS", "TCP", "UDP", "TERMINATED_HTTPS", "SCTP", "PROMETHEUS"]
PoolProtocol = Literal["HTTP", "HTTPS", "TCP", "UDP", "PROXY", "PROXYV2", "SCTP"]
Algorithm = Literal["ROUND_ROBIN", "LEAST_CONNECTIONS", "SOURCE_IP", "SOURCE_IP_PORT"]
MonitorType = Literal["HTTP", "HTTPS", "TCP", "PING", "TLS-HELLO", "UDP-CONNECT", "SCTP"]
HttpMethod = Literal["GET", "HEAD", "POST", "PUT", "DELETE", "TRACE", "OPTIONS", "PATCH", "CONNECT"]
Action = Literal["REDIRECT_TO_POOL", "REDIRECT_TO_URL", "REDIRECT_PREFIX", "REJECT"]
RuleType = Literal[
    "HOST_NAME",
    "PATH",
    "FILE_TYPE",
    "HEADER",
    "COOKIE",
    "SSL_CONN_HAS_CERT",
    "SSL_VERIFY_RESULT",
    "SSL_DN_FIELD",
]
CompareType = Literal["REGEX", "STARTS_WITH", "ENDS_WITH", "CONTAINS", "EQUAL_TO"]
Retries = Annotated[int, Field(ge=1, le=10)]
Seconds = Annotated[int, Field(ge=0, le=2147483647)]
Millis = Annotated[int, Field(ge=0, le=31536000000)]
Codes = Annotated[str, StringConstraints(pattern=r"^(\d{3}(\s*,\s*\d{3})*|\d{3}\s*-\s*\d{3})$")]
UrlPath = Annotated[str, StringConstraints(pattern=r"^/[^\s]*$", max_length=2048)]


@dataclass(frozen=True, slots=True)
class ListPage:
    """What a list asks for: attribute filters, (attribute, descending) sort pairs, the
    marker to start after and the page size (both as given; checked when paging)."""

    filters: tuple[tuple[str, str], ...] = ()
    limit: str | None = None
    marker: str | None = None
    sort: tuple[tuple[str, bool], ...] = ()


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Common(_Input):
    name: Name | None = None
    description: Name | None = None
    admin_state_up: bool = True
    tags: Tags = []


class _CommonUpdate(_Input):
    name: Name | None = None
    description: Name | None = None
    admin_state_up: bool | None = None
    tags: Tags | None = None


class SessionPersistence(_Input):
    type: Literal["SOURCE_IP", "HTTP_COOKIE", "APP_COOKIE"]
    cookie_name: Annotated[str, StringConstraints(pattern=r"^[a-zA-Z0-9_\-]+$")] | None = None
    persistence_timeout: int | None = None
    persistence_granularity: str | None = None


class MemberCreate(_Common):
    address: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    protocol_port: Port
    weight: Annotated[int, Field(ge=0, le=256)] = 1
    backup: bool = False
    subnet_id: Id | None = None
    monitor_address: str | None = None
    monitor_port: Port | None = None
    project_id: Id | None = None


class MemberUpdate(_CommonUpdate):
    weight: Annotated[int, Field(ge=0, le=256)] | None = None
    backup: bool | None = None
    monitor_address: str | None = None
    monitor_port: Port | None = None


class HealthMonitorCreate(_Common):
    pool_id: Id
    type: MonitorType
    delay: Seconds
    timeout: Seconds
    max_retries: Retries
    max_retries_down: Retries = 3
    http_method: HttpMethod | None = None
    url_path: UrlPath | None = None
    expected_codes: Codes | None = None
    http_version: float | None = None
    domain_name: Annotated[str, StringConstraints(max_length=255)] | None = None
    project_id: Id | None = None


class HealthMonitorUpdate(_CommonUpdate):
    delay: Seconds | None = None
    timeout: Seconds | None = None
    max_retries: Retries | None = None
    max_retries_down: Retries | None = None
    http_method: HttpMethod | None = None
    url_path: UrlPath | None = None
    expected_codes: Codes | None = None
    http_version: float | None = None
    domain_name: Annotated[str, StringConstraints(max_length=255)] | None = None


class L7RuleCreate(_Common):
    type: RuleType
    compare_type: CompareType
    key: Annotated[str, StringConstraints(max_length=255)] | None = None
    value: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    invert: bool = False
    project_id: Id | None = None


class L7RuleUpdate(_CommonUpdate):
    type: RuleType | None = None
    compare_type: CompareType | None = None
    key: Annotated[str, StringConstraints(max_length=255)] | None = None
    value: Annotated[str, StringConstraints(min_length=1, max_length=255)] | None = None
    invert: bool | None = None


class L7PolicyCreate(_Common):
    listener_id: Id
    action: Action
    position: Annotated[int, Field(ge=1, le=2147483647)] | None = None
    redirect_pool_id: Id | None = None
    redirect_url: Annotated[str, StringConstraints(pattern=r"^https?://\S+$")] | None = None
    redirect_prefix: Annotated[str, StringConstraints(pattern=r"^https?://\S+$")] | None = None
    redirect_http_code: Literal[301, 302, 303, 307, 308] | None = None
    rules: list[L7RuleCreate] = []
    project_id: Id | None = None


class L7PolicyUpdate(_CommonUpdate):
    action: Action | None = None
    position: Annotated[int, Field(ge=1, le=2147483647)] | None = None
    redirect_pool_id: Id | None = None
    redirect_url: Annotated[str, StringConstraints(pattern=r"^https?://\S+$")] | None = None
    redirect_prefix: Annotated[str, StringConstraints(pattern=r"^https?://\S+$")] | None = None
    redirect_http_code: Literal[301, 302, 303, 307, 308] | None = None


class PoolCreate(_Common):
    protocol: PoolProtocol
    lb_algorithm: Algorithm
    loadbalancer_id: Id | None = None
    listener_id: Id | None = None
    session_persistence: SessionPersistence | None = None
    members: list[MemberCreate] = []
    healthmonitor: HealthMonitorCreate | None = None
    project_id: Id | None = None
    tls_enabled: bool = False


class PoolUpdate(_CommonUpdate):
    lb_algorithm: Algorithm | None = None
    session_persistence: SessionPersistence | None = None
    tls_enabled: bool | None = None


class _ListenerFields(_Input):
    connection_limit: Annotated[int, Field(ge=-1, le=2147483647)] | None = None
    default_pool_id: Id | None = None
    timeout_client_data: Millis | None = None
    timeout_member_connect: Millis | None = None
    timeout_member_data: Millis | None = None
    timeout_tcp_inspect: Millis | None = None
    insert_headers: dict[str, str] | None = None
    allowed_cidrs: list[str] | None = None
    default_tls_container_ref: str | None = None


class ListenerCreate(_ListenerFields, _Common):
    loadbalancer_id: Id
    protocol: ListenerProtocol
    protocol_port: Port
    project_id: Id | None = None


class ListenerUpdate(_ListenerFields, _CommonUpdate):
    pass


class LoadBalancerCreate(_Common):
    vip_subnet_id: Id | None = None
    vip_network_id: Id | None = None
    vip_port_id: Id | None = None
    vip_address: str | None = None
    vip_qos_policy_id: Id | None = None
    project_id: Id | None = None
    provider: Annotated[str, StringConstraints(max_length=64)] | None = None
    flavor_id: Id | None = None
    availability_zone: Name | None = None
    listeners: list[ListenerCreate] = []
    pools: list[PoolCreate] = []


class LoadBalancerUpdate(_CommonUpdate):
    vip_qos_policy_id: Id | None = None


class QuotaUpdate(_Input):
    loadbalancer: Annotated[int, Field(ge=-1)] | None = None
    load_balancer: Annotated[int, Field(ge=-1)] | None = None
    listener: Annotated[int, Field(ge=-1)] | None = None
    pool: Annotated[int, Field(ge=-1)] | None = None
    member: Annotated[int, Field(ge=-1)] | None = None
    healthmonitor: Annotated[int, Field(ge=-1)] | None = None
    health_monitor: Annotated[int, Field(ge=-1)] | None = None
    l7policy: Annotated[int, Field(ge=-1)] | None = None
    l7rule: Annotated[int, Field(ge=-1)] | None = None
