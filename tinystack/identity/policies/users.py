from tinystack.identity.policies._rule import rule
from tinystack.identity.policies.base import ADMIN, ADMIN_OR_READER, ADMIN_OR_READER_OR_OWNER

RULES = [
    rule("get_user", ADMIN_OR_READER_OR_OWNER, "GET,HEAD", "/v3/users/{user_id}"),
    rule("list_users", ADMIN_OR_READER, "GET,HEAD", "/v3/users"),
    rule("create_user", ADMIN, "POST", "/v3/users"),
    rule("update_user", ADMIN, "PATCH", "/v3/users/{user_id}"),
    rule("delete_user", ADMIN, "DELETE", "/v3/users/{user_id}"),
]
