from oslo_policy import policy

from tinystack.identity.policies._rule import rule
from tinystack.identity.policies.base import ADMIN, ADMIN_OR_SYSTEM_READER

FED = "/v3/OS-FEDERATION"
IDP = FED + "/identity_providers/{idp_id}"
PROTOCOL = IDP + "/protocols/{protocol_id}"
MAPPING = FED + "/mappings/{mapping_id}"
SP = FED + "/service_providers/{sp_id}"
SCOPES = ["system", "project"]


def _crud(name: str, collection: str, member: str) -> list[policy.DocumentedRuleDefault]:
    return [
        rule(f"create_{name}", ADMIN, "PUT", member, scopes=SCOPES),
        rule(f"list_{name}s", ADMIN_OR_SYSTEM_READER, "GET,HEAD", collection, scopes=SCOPES),
        rule(f"get_{name}", ADMIN_OR_SYSTEM_READER, "GET,HEAD", member, scopes=SCOPES),
        rule(f"update_{name}", ADMIN, "PATCH", member, scopes=SCOPES),
        rule(f"delete_{name}", ADMIN, "DELETE", member, scopes=SCOPES),
    ]


RULES = [
    *_crud("identity_provider", FED + "/identity_providers", IDP),
    *_crud("protocol", IDP + "/protocols", PROTOCOL),
    *_crud("mapping", FED + "/mappings", MAPPING),
    *_crud("service_provider", FED + "/service_providers", SP),
]
