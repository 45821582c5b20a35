from tinystack.identity.policies._rule import rule
from tinystack.identity.policies.base import ADMIN, SYSTEM_READER

LIMIT_READER = (
    f"{ADMIN} or {SYSTEM_READER} or "
    "(domain_id:%(target.limit.domain.id)s or domain_id:%(target.limit.project.domain_id)s) or "
    "(project_id:%(target.limit.project_id)s and not None:%(target.limit.project_id)s)"
)
WRITERS = ["system", "project"]
REGISTERED = "/v3/registered_limits/{registered_limit_id}"
LIMIT = "/v3/limits/{limit_id}"
RULES = [
    rule("get_limit_model", "", "GET,HEAD", "/v3/limits/model"),
    rule("get_limit", LIMIT_READER, "GET,HEAD", LIMIT),
    rule("list_limits", "", "GET,HEAD", "/v3/limits"),
    rule("create_limits", ADMIN, "POST", "/v3/limits", scopes=WRITERS),
    rule("update_limit", ADMIN, "PATCH", LIMIT, scopes=WRITERS),
    rule("delete_limit", ADMIN, "DELETE", LIMIT, scopes=WRITERS),
    rule("get_registered_limit", "", "GET,HEAD", REGISTERED),
    rule("list_registered_limits", "", "GET,HEAD", "/v3/registered_limits"),
    rule("create_registered_limits", ADMIN, "POST", "/v3/registered_limits", scopes=WRITERS),
    rule("update_registered_limit", ADMIN, "PATCH", REGISTERED, scopes=WRITERS),
    rule("delete_registered_limit", ADMIN, "DELETE", REGISTERED, scopes=WRITERS),
]
