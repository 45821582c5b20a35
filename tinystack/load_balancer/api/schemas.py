"""The request bodies: Octavia wraps each object in its resource name
(``{"loadbalancer": {...}}``); the objects are the service layer's inputs."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from tinystack.load_balancer.services.inputs import (
    HealthMonitorCreate,
    HealthMonitorUpdate,
    L7PolicyCreate,
    L7PolicyUpdate,
    L7RuleCreate,
    L7RuleUpdate,
    ListenerCreate,
    ListenerUpdate,
    LoadBalancerCreate,
    LoadBalancerUpdate,
    MemberCreate,
    MemberUpdate,
    PoolCreate,
    PoolUpdate,
    QuotaUpdate,
)


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LoadBalancerCreateBody(_Body):
    loadbalancer: LoadBalancerCreate


class LoadBalancerUpdateBody(_Body):
    loadbalancer: LoadBalancerUpdate


class ListenerCreateBody(_Body):
    listener: ListenerCreate


class ListenerUpdateBody(_Body):
    listener: ListenerUpdate


class PoolCreateBody(_Body):
    pool: PoolCreate


class PoolUpdateBody(_Body):
    pool: PoolUpdate


class MemberCreateBody(_Body):
    member: MemberCreate


class MemberUpdateBody(_Body):
    member: MemberUpdate


class MembersBatchBody(_Body):
    """A pool's whole member list (``PUT .../members``), each member as on create."""

    members: list[MemberCreate]


class HealthMonitorCreateBody(_Body):
    healthmonitor: HealthMonitorCreate


class HealthMonitorUpdateBody(_Body):
    healthmonitor: HealthMonitorUpdate


class L7PolicyCreateBody(_Body):
    l7policy: L7PolicyCreate


class L7PolicyUpdateBody(_Body):
    l7policy: L7PolicyUpdate


class L7RuleCreateBody(_Body):
    rule: L7RuleCreate


class L7RuleUpdateBody(_Body):
    rule: L7RuleUpdate


class QuotaUpdateBody(_Body):
    quota: QuotaUpdate


class FailoverBody(_Body):
    """Octavia's failover takes no body; an empty object is accepted."""
