from tinystack.identity.policies._rule import rule
from tinystack.identity.policies.base import ADMIN, ADMIN_OR_READER, ADMIN_OR_SYSTEM_READER

RULES = [
    rule("get_role", ADMIN_OR_READER, "GET,HEAD", "/v3/roles/{role_id}"),
    rule("list_roles", ADMIN_OR_READER, "GET,HEAD", "/v3/roles"),
    rule("create_role", ADMIN, "POST", "/v3/roles"),
    rule("update_role", ADMIN, "PATCH", "/v3/roles/{role_id}"),
    rule("delete_role", ADMIN, "DELETE", "/v3/roles/{role_id}"),
    rule(
        "get_implied_role",
        ADMIN_OR_SYSTEM_READER,
        "GET,HEAD",
        "/v3/roles/{prior_role_id}/implies/{implied_role_id}",
    ),
    rule(
        "list_implied_roles",
        ADMIN_OR_SYSTEM_READER,
        "GET,HEAD",
        "/v3/roles/{prior_role_id}/implies",
    ),
    rule(
        "create_implied_role", ADMIN, "PUT", "/v3/roles/{prior_role_id}/implies/{implied_role_id}"
    ),
    rule(
        "delete_implied_role",
        ADMIN,
        "DELETE",
        "/v3/roles/{prior_role_id}/implies/{implied_role_id}",
    ),
    rule("list_role_inference_rules", ADMIN_OR_SYSTEM_READER, "GET,HEAD", "/v3/role_inferences"),
    rule(
        "check_implied_role",
        ADMIN_OR_SYSTEM_READER,
        "HEAD",
        "/v3/roles/{prior_role_id}/implies/{implied_role_id}",
    ),
]
