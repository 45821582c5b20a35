"""Records rendered as the Networking API shows them (attribute names and order of
upstream's responses). Field-level policy then filters the view (``rendering.py``)."""

from __future__ import annotations

from typing import Any

from tinystack.common.timeutils import isotime
from tinystack.network.services.records import (
    AddressScopeRecord,
    NetworkRecord,
    RbacPolicyRecord,
)


def owner(project_id: str) -> dict[str, str]:
    return {"project_id": project_id, "tenant_id": project_id}


def network_view(net: NetworkRecord) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": net.id,
        "name": net.name,
        **owner(net.project_id),
        "admin_state_up": net.admin_state_up,
        "status": net.status,
        "subnets": list(net.subnets),
        "shared": net.shared,
        "router:external": net.external,
        "mtu": net.mtu,
        "port_security_enabled": net.port_security_enabled,
        "availability_zone_hints": list(net.availability_zone_hints),
        "availability_zones": list(net.availability_zones),
        "ipv4_address_scope": net.ipv4_address_scope,
        "ipv6_address_scope": net.ipv6_address_scope,
        "l2_adjacency": True,
        "description": net.description,
        "created_at": isotime(net.created_at),
        "updated_at": isotime(net.updated_at),
        "revision_number": net.revision_number,
        "tags": list(net.tags),
    }
    provider = net.provider
    if provider is None:
        out["segments"] = [s.as_provider() for s in net.segments]
    else:
        out.update(provider.as_provider())
    return out


def address_scope_view(scope: AddressScopeRecord) -> dict[str, Any]:
    return {
        "id": scope.id,
        "name": scope.name,
        **owner(scope.project_id),
        "ip_version": scope.ip_version,
        "shared": scope.shared,
        "description": scope.description,
        "created_at": isotime(scope.created_at),
        "updated_at": isotime(scope.updated_at),
        "revision_number": scope.revision_number,
        "tags": list(scope.tags),
    }


def rbac_policy_view(policy: RbacPolicyRecord) -> dict[str, Any]:
    return {
        "id": policy.id,
        **owner(policy.project_id),
        "object_type": policy.object_type,
        "object_id": policy.object_id,
        "action": policy.action,
        "target_tenant": policy.target_project,
    }
