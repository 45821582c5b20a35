from tinystack.identity.policies._rule import rule
from tinystack.identity.policies.base import ADMIN, ADMIN_OR_SYSTEM_READER

CONFIG = "/v3/domains/{domain_id}/config"
SCOPES = ["system", "project"]
RULES = [
    rule("create_domain_config", ADMIN, "PUT", CONFIG, scopes=SCOPES),
    rule("get_domain_config", ADMIN_OR_SYSTEM_READER, "GET,HEAD", CONFIG, scopes=SCOPES),
    rule("update_domain_config", ADMIN, "PATCH", CONFIG, scopes=SCOPES),
    rule("delete_domain_config", ADMIN, "DELETE", CONFIG, scopes=SCOPES),
    # anyone with a token: a client shows the password rules before a password is picked
    rule(
        "get_security_compliance_domain_config",
        "",
        "GET,HEAD",
        CONFIG + "/security_compliance",
        scopes=["system", "domain", "project"],
    ),
    rule(
        "get_domain_config_default",
        ADMIN_OR_SYSTEM_READER,
        "GET,HEAD",
        "/v3/domains/config/default",
        scopes=SCOPES,
    ),
]
