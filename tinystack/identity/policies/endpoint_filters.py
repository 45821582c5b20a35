from tinystack.identity.policies._rule import rule
from tinystack.identity.policies.base import ADMIN, ADMIN_OR_SYSTEM_READER

EP = "/v3/OS-EP-FILTER"
GROUPS = EP + "/endpoint_groups"
GROUP = GROUPS + "/{endpoint_group_id}"
SYS = ["system", "project"]
RULES = [
    rule("create_endpoint_group", ADMIN, "POST", GROUPS, scopes=SYS),
    rule("list_endpoint_groups", ADMIN_OR_SYSTEM_READER, "GET,HEAD", GROUPS, scopes=SYS),
    rule("get_endpoint_group", ADMIN_OR_SYSTEM_READER, "GET,HEAD", GROUP, scopes=SYS),
    rule("update_endpoint_group", ADMIN, "PATCH", GROUP, scopes=SYS),
    rule("delete_endpoint_group", ADMIN, "DELETE", GROUP, scopes=SYS),
    rule(
        "list_projects_associated_with_endpoint_group",
        ADMIN_OR_SYSTEM_READER,
        "GET,HEAD",
        GROUP + "/projects",
        scopes=SYS,
    ),
    rule(
        "list_endpoints_associated_with_endpoint_group",
        ADMIN_OR_SYSTEM_READER,
        "GET,HEAD",
        GROUP + "/endpoints",
        scopes=SYS,
    ),
    rule(
        "get_endpoint_group_in_project",
        ADMIN_OR_SYSTEM_READER,
        "GET,HEAD",
        GROUP + "/projects/{project_id}",
        scopes=SYS,
    ),
    rule(
        "list_endpoint_groups_for_project",
        ADMIN_OR_SYSTEM_READER,
        "GET,HEAD",
        EP + "/projects/{project_id}/endpoint_groups",
        scopes=SYS,
    ),
    rule(
        "add_endpoint_group_to_project", ADMIN, "PUT", GROUP + "/projects/{project_id}", scopes=SYS
    ),
    rule(
        "remove_endpoint_group_from_project",
        ADMIN,
        "DELETE",
        GROUP + "/projects/{project_id}",
        scopes=SYS,
    ),
    rule(
        "list_projects_for_endpoint",
        ADMIN_OR_SYSTEM_READER,
        "GET,HEAD",
        EP + "/endpoints/{endpoint_id}/projects",
        scopes=SYS,
    ),
    rule(
        "add_endpoint_to_project",
        ADMIN,
        "PUT",
        EP + "/projects/{project_id}/endpoints/{endpoint_id}",
        scopes=SYS,
    ),
    rule(
        "check_endpoint_in_project",
        ADMIN_OR_SYSTEM_READER,
        "GET,HEAD",
        EP + "/projects/{project_id}/endpoints/{endpoint_id}",
        scopes=SYS,
    ),
    rule(
        "list_endpoints_for_project",
        ADMIN_OR_SYSTEM_READER,
        "GET,HEAD",
        EP + "/projects/{project_id}/endpoints",
        scopes=SYS,
    ),
    rule(
        "remove_endpoint_from_project",
        ADMIN,
        "DELETE",
        EP + "/projects/{project_id}/endpoints/{endpoint_id}",
        scopes=SYS,
    ),
]
