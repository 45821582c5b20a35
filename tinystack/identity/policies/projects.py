from tinystack.identity.policies._rule import rule
from tinystack.identity.policies.base import ADMIN, ADMIN_OR_READER

PROJECT_USER = "project_id:%(target.project.id)s"
RULES = [
    rule(
        "get_project",
        f"{ADMIN_OR_READER} or {PROJECT_USER}",
        "GET,HEAD",
        "/v3/projects/{project_id}",
    ),
    rule("list_projects", ADMIN_OR_READER, "GET,HEAD", "/v3/projects"),
    rule(
        "list_user_projects",
        f"{ADMIN_OR_READER} or user_id:%(target.user.id)s",
        "GET,HEAD",
        "/v3/users/{user_id}/projects",
    ),
    rule("create_project", ADMIN, "POST", "/v3/projects"),
    rule("update_project", ADMIN, "PATCH", "/v3/projects/{project_id}"),
    rule("delete_project", ADMIN, "DELETE", "/v3/projects/{project_id}"),
    rule(
        "list_project_tags",
        f"{ADMIN_OR_READER} or {PROJECT_USER}",
        "GET,HEAD",
        "/v3/projects/{project_id}/tags",
    ),
    rule(
        "get_project_tag",
        f"{ADMIN_OR_READER} or {PROJECT_USER}",
        "GET,HEAD",
        "/v3/projects/{project_id}/tags/{value}",
    ),
    rule("update_project_tags", ADMIN, "PUT", "/v3/projects/{project_id}/tags"),
    rule("create_project_tag", ADMIN, "PUT", "/v3/projects/{project_id}/tags/{value}"),
    rule("delete_project_tags", ADMIN, "DELETE", "/v3/projects/{project_id}/tags"),
    rule("delete_project_tag", ADMIN, "DELETE", "/v3/projects/{project_id}/tags/{value}"),
]
