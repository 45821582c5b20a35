from tinystack.identity.policies._rule import rule
from tinystack.identity.policies.base import ADMIN, SYSTEM_READER

OWNER = "user_id:%(target.user.id)s"
PATH = "/v3/users/{user_id}/application_credentials"
RULES = [
    rule(
        "get_application_credential",
        f"{ADMIN} or {SYSTEM_READER} or {OWNER}",
        "GET,HEAD",
        PATH + "/{application_credential_id}",
    ),
    rule(
        "list_application_credentials", f"{ADMIN} or {SYSTEM_READER} or {OWNER}", "GET,HEAD", PATH
    ),
    rule("create_application_credential", OWNER, "POST", PATH),
    rule(
        "delete_application_credential",
        f"{ADMIN} or {OWNER}",
        "DELETE",
        PATH + "/{application_credential_id}",
    ),
]
