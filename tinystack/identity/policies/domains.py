from tinystack.identity.policies._rule import rule
from tinystack.identity.policies.base import ADMIN, ADMIN_OR_SYSTEM_READER, SYSTEM_READER

DOMAIN_USER = "domain_id:%(target.domain.id)s"
RULES = [
    rule(
        "get_domain",
        f"{ADMIN} or {SYSTEM_READER} or {DOMAIN_USER} or project_domain_id:%(target.domain.id)s",
        "GET,HEAD",
        "/v3/domains/{domain_id}",
    ),
    rule("list_domains", ADMIN_OR_SYSTEM_READER, "GET,HEAD", "/v3/domains"),
    rule("create_domain", ADMIN, "POST", "/v3/domains"),
    rule("update_domain", ADMIN, "PATCH", "/v3/domains/{domain_id}"),
    rule("delete_domain", ADMIN, "DELETE", "/v3/domains/{domain_id}"),
]
