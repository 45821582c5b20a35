from tinystack.identity.policies._rule import rule
from tinystack.identity.policies.base import ADMIN, SYSTEM_READER

CRED_OWNER = "user_id:%(target.credential.user_id)s"
#: upstream's rule:owner, on the user of the request's path
OWNER = "user_id:%(user_id)s"
ADMIN_OR_SERVICE = "role:admin or role:service"
CREDS = "/v3/credentials"
EC2 = "/v3/users/{user_id}/credentials/OS-EC2"
RULES = [
    rule(
        "get_credential",
        f"{ADMIN} or {SYSTEM_READER} or {CRED_OWNER}",
        "GET,HEAD",
        CREDS + "/{credential_id}",
    ),
    rule("list_credentials", f"{ADMIN} or {SYSTEM_READER} or {CRED_OWNER}", "GET,HEAD", CREDS),
    rule("create_credential", f"{ADMIN} or {CRED_OWNER}", "POST", CREDS),
    rule("update_credential", f"{ADMIN} or {CRED_OWNER}", "PATCH", CREDS + "/{credential_id}"),
    rule("delete_credential", f"{ADMIN} or {CRED_OWNER}", "DELETE", CREDS + "/{credential_id}"),
    rule(
        "ec2_get_credential",
        f"{ADMIN} or {SYSTEM_READER} or {CRED_OWNER}",
        "GET",
        EC2 + "/{credential_id}",
    ),
    rule("ec2_list_credentials", f"{ADMIN} or {SYSTEM_READER} or {OWNER}", "GET", EC2),
    rule("ec2_create_credential", f"{ADMIN} or (role:member and {CRED_OWNER})", "POST", EC2),
    rule(
        "ec2_delete_credential",
        f"{ADMIN} or (role:member and {CRED_OWNER})",
        "DELETE",
        EC2 + "/{credential_id}",
    ),
    rule("ec2tokens_validate", ADMIN_OR_SERVICE, "POST", "/v3/ec2tokens"),
    rule("s3tokens_validate", ADMIN_OR_SERVICE, "POST", "/v3/s3tokens"),
]
