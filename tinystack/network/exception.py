"""The network service's domain errors, typed as upstream names them.

Every error carries ``code``: the ``NeutronError.type`` clients see. Messages
are our own wording of what went wrong.
"""

from __future__ import annotations

from tinystack.common.exceptions import (
    BadRequest,
    Conflict,
    NotFound,
    PreconditionFailed,
    ServiceUnavailable,
)

#: resource name -> the word used in messages and NotFound types
_KINDS = {
    "network": ("Network", "NetworkNotFound"),
    "subnet": ("Subnet", "SubnetNotFound"),
    "port": ("Port", "PortNotFound"),
    "router": ("Router", "RouterNotFound"),
    "floatingip": ("Floating IP", "FloatingIPNotFound"),
    "security_group": ("Security group", "SecurityGroupNotFound"),
    "security_group_rule": ("Security group rule", "SecurityGroupRuleNotFound"),
    "subnetpool": ("Subnet pool", "SubnetPoolNotFound"),
    "address_scope": ("Address scope", "AddressScopeNotFound"),
    "rbac_policy": ("RBAC policy", "RbacPolicyNotFound"),
    "agent": ("Agent", "AgentNotFound"),
    "quota": ("Quota", "QuotaNotFound"),
    "extension": ("Extension", "ExtensionNotFound"),
    "policy": ("QoS policy", "QosPolicyNotFound"),
    "auto_allocated_topology": ("Auto-allocated topology of project", "TopologyNotFound"),
    "qos_rule": ("QoS rule", "QosRuleNotFound"),
    "rule_type": ("QoS rule type", "QosRuleTypeNotFound"),
    "segment": ("Segment", "SegmentNotFound"),
}


def not_found(resource: str, resource_id: str) -> NotFound:
    word, code = _KINDS.get(resource, (resource.capitalize(), "HTTPNotFound"))
    return NotFound(f"{word} {resource_id} could not be found.", code=code)


def invalid_input(message: str) -> BadRequest:
    return BadRequest(f"Invalid input for operation: {message}.", code="InvalidInput")


def bad_request(resource: str, message: str) -> BadRequest:
    return BadRequest(f"Bad {resource} request: {message}.", code="BadRequest")


def http_bad_request(message: str) -> BadRequest:
    return BadRequest(message, code="HTTPBadRequest")


def conflict(code: str, message: str) -> Conflict:
    return Conflict(message, code=code)


def in_use(code: str, message: str) -> Conflict:
    return Conflict(message, code=code)


def network_in_use(net_id: str) -> Conflict:
    return in_use(
        "NetworkInUse",
        f"Unable to complete operation on network {net_id}. "
        "There are one or more ports still in use on the network.",
    )


def subnet_in_use(subnet_id: str) -> Conflict:
    return in_use(
        "SubnetInUse",
        f"Unable to complete operation on subnet {subnet_id}: "
        "one or more ports have an IP allocation from this subnet.",
    )


def ip_already_allocated(ip: str, subnet_id: str) -> Conflict:
    return conflict(
        "IpAddressAlreadyAllocated", f"IP address {ip} already allocated in subnet {subnet_id}"
    )


def ip_generation_failure(net_id: str) -> Conflict:
    return conflict(
        "IpAddressGenerationFailure", f"No more IP addresses available on network {net_id}."
    )


def over_quota(resources: list[str]) -> Conflict:
    return conflict("OverQuota", f"Quota exceeded for resources: {resources}.")


def revision_mismatch(wanted: int, current: int) -> PreconditionFailed:
    return PreconditionFailed(
        f"Constrained to {wanted}, but current revision is {current}",
        code="RevisionNumberConstraintFailed",
    )


def no_network_available() -> ServiceUnavailable:
    return ServiceUnavailable(
        "Unable to create the network. No tenant network is available for allocation.",
        code="NoNetworkAvailable",
    )
