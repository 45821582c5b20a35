from tinystack.identity.policies._rule import rule

OWNER = "user_id:%(target.user.id)s"
PATH = "/v3/users/{user_id}/access_rules"
RULES = [
    rule(
        "get_access_rule",
        f"(role:reader and system_scope:all) or {OWNER}",
        "GET,HEAD",
        PATH + "/{access_rule_id}",
    ),
    rule("list_access_rules", f"(role:reader and system_scope:all) or {OWNER}", "GET,HEAD", PATH),
    rule(
        "delete_access_rule",
        f"(role:admin and system_scope:all) or {OWNER}",
        "DELETE",
        PATH + "/{access_rule_id}",
    ),
]
