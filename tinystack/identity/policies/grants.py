from tinystack.identity.policies._rule import rule
from tinystack.identity.policies.base import ADMIN, ADMIN_OR_READER

GRANT = "/v3/{target}/{target_id}/{actor}/{actor_id}/roles/{role_id}"
RULES = [
    rule("check_grant", ADMIN_OR_READER, "GET,HEAD", GRANT),
    rule(
        "list_grants",
        ADMIN_OR_READER,
        "GET,HEAD",
        "/v3/{target}/{target_id}/{actor}/{actor_id}/roles",
    ),
    rule("create_grant", ADMIN, "PUT", GRANT),
    rule("revoke_grant", ADMIN, "DELETE", GRANT),
    rule("list_role_assignments", ADMIN_OR_READER, "GET,HEAD", "/v3/role_assignments"),
    rule(
        "list_role_assignments_for_tree",
        ADMIN_OR_READER,
        "GET,HEAD",
        "/v3/role_assignments?include_subtree",
    ),
    rule(
        "check_system_grant_for_user",
        ADMIN_OR_READER,
        "GET,HEAD",
        "/v3/system/users/{user_id}/roles/{role_id}",
    ),
    rule(
        "list_system_grants_for_user",
        ADMIN_OR_READER,
        "GET,HEAD",
        "/v3/system/users/{user_id}/roles",
    ),
    rule(
        "create_system_grant_for_user", ADMIN, "PUT", "/v3/system/users/{user_id}/roles/{role_id}"
    ),
    rule(
        "revoke_system_grant_for_user",
        ADMIN,
        "DELETE",
        "/v3/system/users/{user_id}/roles/{role_id}",
    ),
    rule(
        "check_system_grant_for_group",
        ADMIN_OR_READER,
        "GET,HEAD",
        "/v3/system/groups/{group_id}/roles/{role_id}",
    ),
    rule(
        "list_system_grants_for_group",
        ADMIN_OR_READER,
        "GET,HEAD",
        "/v3/system/groups/{group_id}/roles",
    ),
    rule(
        "create_system_grant_for_group",
        ADMIN,
        "PUT",
        "/v3/system/groups/{group_id}/roles/{role_id}",
    ),
    rule(
        "revoke_system_grant_for_group",
        ADMIN,
        "DELETE",
        "/v3/system/groups/{group_id}/roles/{role_id}",
    ),
]
