from tinystack.identity.policies._rule import rule
from tinystack.identity.policies.base import ADMIN, ADMIN_OR_SYSTEM_READER

POLICIES = "/v3/policies"
POLICY = POLICIES + "/{policy_id}"
EP = POLICY + "/OS-ENDPOINT-POLICY"
SYS = ["system", "project"]
RULES = [
    rule("get_policy", ADMIN_OR_SYSTEM_READER, "GET,HEAD", POLICY, scopes=SYS),
    rule("list_policies", ADMIN_OR_SYSTEM_READER, "GET,HEAD", POLICIES, scopes=SYS),
    rule("create_policy", ADMIN, "POST", POLICIES, scopes=SYS),
    rule("update_policy", ADMIN, "PATCH", POLICY, scopes=SYS),
    rule("delete_policy", ADMIN, "DELETE", POLICY, scopes=SYS),
    rule(
        "create_policy_association_for_endpoint",
        ADMIN,
        "PUT",
        EP + "/endpoints/{endpoint_id}",
        scopes=SYS,
    ),
    rule(
        "check_policy_association_for_endpoint",
        ADMIN_OR_SYSTEM_READER,
        "GET,HEAD",
        EP + "/endpoints/{endpoint_id}",
        scopes=SYS,
    ),
    rule(
        "delete_policy_association_for_endpoint",
        ADMIN,
        "DELETE",
        EP + "/endpoints/{endpoint_id}",
        scopes=SYS,
    ),
    rule(
        "create_policy_association_for_service",
        ADMIN,
        "PUT",
        EP + "/services/{service_id}",
        scopes=SYS,
    ),
    rule(
        "check_policy_association_for_service",
        ADMIN_OR_SYSTEM_READER,
        "GET,HEAD",
        EP + "/services/{service_id}",
        scopes=SYS,
    ),
    rule(
        "delete_policy_association_for_service",
        ADMIN,
        "DELETE",
        EP + "/services/{service_id}",
        scopes=SYS,
    ),
    rule(
        "create_policy_association_for_region_and_service",
        ADMIN,
        "PUT",
        EP + "/services/{service_id}/regions/{region_id}",
        scopes=SYS,
    ),
    rule(
        "check_policy_association_for_region_and_service",
        ADMIN_OR_SYSTEM_READER,
        "GET,HEAD",
        EP + "/services/{service_id}/regions/{region_id}",
        scopes=SYS,
    ),
    rule(
        "delete_policy_association_for_region_and_service",
        ADMIN,
        "DELETE",
        EP + "/services/{service_id}/regions/{region_id}",
        scopes=SYS,
    ),
    rule(
        "get_policy_for_endpoint",
        ADMIN_OR_SYSTEM_READER,
        "GET,HEAD",
        "/v3/endpoints/{endpoint_id}/OS-ENDPOINT-POLICY/policy",
        scopes=SYS,
    ),
    rule(
        "list_endpoints_for_policy",
        ADMIN_OR_SYSTEM_READER,
        "GET,HEAD",
        EP + "/endpoints",
        scopes=SYS,
    ),
]
