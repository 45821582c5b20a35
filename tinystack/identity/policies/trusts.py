from tinystack.identity.policies._rule import rule
from tinystack.identity.policies.base import ADMIN, SYSTEM_READER

TRUSTOR = "user_id:%(target.trust.trustor_user_id)s"
TRUSTEE = "user_id:%(target.trust.trustee_user_id)s"
TRUSTS = "/v3/OS-TRUST/trusts"
TRUST = TRUSTS + "/{trust_id}"
RULES = [
    rule("create_trust", TRUSTOR, "POST", TRUSTS, scopes=["project"]),
    rule(
        "list_trusts",
        f"{ADMIN} or {SYSTEM_READER}",
        "GET,HEAD",
        TRUSTS,
        scopes=["system", "project"],
    ),
    rule(
        "list_trusts_for_trustor",
        f"{ADMIN} or {SYSTEM_READER} or {TRUSTOR}",
        "GET,HEAD",
        TRUSTS + "?trustor_user_id={trustor_user_id}",
        scopes=["system", "project"],
    ),
    rule(
        "list_trusts_for_trustee",
        f"{ADMIN} or {SYSTEM_READER} or {TRUSTEE}",
        "GET,HEAD",
        TRUSTS + "?trustee_user_id={trustee_user_id}",
        scopes=["system", "project"],
    ),
    rule(
        "list_roles_for_trust",
        f"{ADMIN} or {SYSTEM_READER} or {TRUSTOR} or {TRUSTEE}",
        "GET,HEAD",
        TRUST + "/roles",
        scopes=["system", "project"],
    ),
    rule(
        "get_role_for_trust",
        f"{ADMIN} or {SYSTEM_READER} or {TRUSTOR} or {TRUSTEE}",
        "GET,HEAD",
        TRUST + "/roles/{role_id}",
        scopes=["system", "project"],
    ),
    rule("delete_trust", f"{ADMIN} or {TRUSTOR}", "DELETE", TRUST, scopes=["system", "project"]),
    rule(
        "get_trust",
        f"{ADMIN} or {SYSTEM_READER} or {TRUSTOR} or {TRUSTEE}",
        "GET,HEAD",
        TRUST,
        scopes=["system", "project"],
    ),
]
