from tinystack.identity.policies._rule import rule
from tinystack.identity.policies.base import ADMIN, ADMIN_OR_SYSTEM_READER

CONSUMERS = "/v3/OS-OAUTH1/consumers"
TOKENS = "/v3/users/{user_id}/OS-OAUTH1/access_tokens"
SYS = ["system", "project"]
RULES = [
    rule("get_consumer", ADMIN_OR_SYSTEM_READER, "GET", CONSUMERS + "/{consumer_id}", scopes=SYS),
    rule("list_consumers", ADMIN_OR_SYSTEM_READER, "GET", CONSUMERS, scopes=SYS),
    rule("create_consumer", ADMIN, "POST", CONSUMERS, scopes=SYS),
    rule("update_consumer", ADMIN, "PATCH", CONSUMERS + "/{consumer_id}", scopes=SYS),
    rule("delete_consumer", ADMIN, "DELETE", CONSUMERS + "/{consumer_id}", scopes=SYS),
    rule(
        "authorize_request_token",
        ADMIN,
        "PUT",
        "/v3/OS-OAUTH1/authorize/{request_token_id}",
        scopes=["project"],
    ),
    rule("get_access_token", ADMIN, "GET", TOKENS + "/{access_token_id}", scopes=["project"]),
    rule(
        "get_access_token_role",
        ADMIN,
        "GET",
        TOKENS + "/{access_token_id}/roles/{role_id}",
        scopes=["project"],
    ),
    rule("list_access_tokens", ADMIN, "GET", TOKENS, scopes=["project"]),
    rule(
        "list_access_token_roles",
        ADMIN,
        "GET",
        TOKENS + "/{access_token_id}/roles",
        scopes=["project"],
    ),
    rule("delete_access_token", ADMIN, "DELETE", TOKENS + "/{access_token_id}", scopes=["project"]),
]
