from tinystack.identity.policies._rule import rule
from tinystack.identity.policies.base import ADMIN, ADMIN_OR_READER, ADMIN_OR_READER_OR_OWNER

RULES = [
    rule("get_group", ADMIN_OR_READER, "GET,HEAD", "/v3/groups/{group_id}"),
    rule("list_groups", ADMIN_OR_READER, "GET,HEAD", "/v3/groups"),
    rule(
        "list_groups_for_user", ADMIN_OR_READER_OR_OWNER, "GET,HEAD", "/v3/users/{user_id}/groups"
    ),
    rule("create_group", ADMIN, "POST", "/v3/groups"),
    rule("update_group", ADMIN, "PATCH", "/v3/groups/{group_id}"),
    rule("delete_group", ADMIN, "DELETE", "/v3/groups/{group_id}"),
    rule("list_users_in_group", ADMIN_OR_READER, "GET,HEAD", "/v3/groups/{group_id}/users"),
    rule("remove_user_from_group", ADMIN, "DELETE", "/v3/groups/{group_id}/users/{user_id}"),
    rule(
        "check_user_in_group", ADMIN_OR_READER, "GET,HEAD", "/v3/groups/{group_id}/users/{user_id}"
    ),
    rule("add_user_to_group", ADMIN, "PUT", "/v3/groups/{group_id}/users/{user_id}"),
]
