from tinystack.identity.policies._rule import rule
from tinystack.identity.policies.base import ADMIN, SERVICE, SYSTEM_READER

SUBJECT = "user_id:%(target.token.user_id)s"
SERVICE_OR_ADMIN = f"{ADMIN} or {SERVICE}"
RULES = [
    rule("check_token", f"{ADMIN} or {SYSTEM_READER} or {SUBJECT}", "HEAD", "/v3/auth/tokens"),
    rule(
        "validate_token",
        f"{ADMIN} or {SYSTEM_READER} or {SERVICE} or {SUBJECT}",
        "GET",
        "/v3/auth/tokens",
    ),
    rule("revoke_token", f"{ADMIN} or {SUBJECT}", "DELETE", "/v3/auth/tokens"),
    rule("list_revoke_events", SERVICE_OR_ADMIN, "GET", "/v3/OS-REVOKE/events"),
    # Any token may list what it could be scoped to (no scope_types, as upstream).
    rule("get_auth_catalog", "", "GET,HEAD", "/v3/auth/catalog", scopes=None),
    rule("get_auth_projects", "", "GET,HEAD", "/v3/auth/projects", scopes=None),
    rule("get_auth_domains", "", "GET,HEAD", "/v3/auth/domains", scopes=None),
    rule("get_auth_system", "", "GET,HEAD", "/v3/auth/system", scopes=None),
]
