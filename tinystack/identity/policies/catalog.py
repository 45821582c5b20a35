from tinystack.identity.policies._rule import rule
from tinystack.identity.policies.base import ADMIN, ADMIN_OR_SYSTEM_READER

RULES = [
    rule("get_region", "", "GET,HEAD", "/v3/regions/{region_id}"),
    rule("list_regions", "", "GET,HEAD", "/v3/regions"),
    rule("create_region", ADMIN, "POST,PUT", "/v3/regions"),
    rule("update_region", ADMIN, "PATCH", "/v3/regions/{region_id}"),
    rule("delete_region", ADMIN, "DELETE", "/v3/regions/{region_id}"),
    rule("get_service", ADMIN_OR_SYSTEM_READER, "GET,HEAD", "/v3/services/{service_id}"),
    rule("list_services", ADMIN_OR_SYSTEM_READER, "GET,HEAD", "/v3/services"),
    rule("create_service", ADMIN, "POST", "/v3/services"),
    rule("update_service", ADMIN, "PATCH", "/v3/services/{service_id}"),
    rule("delete_service", ADMIN, "DELETE", "/v3/services/{service_id}"),
    rule("get_endpoint", ADMIN_OR_SYSTEM_READER, "GET,HEAD", "/v3/endpoints/{endpoint_id}"),
    rule("list_endpoints", ADMIN_OR_SYSTEM_READER, "GET,HEAD", "/v3/endpoints"),
    rule("create_endpoint", ADMIN, "POST", "/v3/endpoints"),
    rule("update_endpoint", ADMIN, "PATCH", "/v3/endpoints/{endpoint_id}"),
    rule("delete_endpoint", ADMIN, "DELETE", "/v3/endpoints/{endpoint_id}"),
]
