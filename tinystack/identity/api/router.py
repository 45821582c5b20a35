"""The identity route table: every route, in URL order; handlers live in resource modules.

``READ`` serves GET and HEAD with one handler, as Keystone does: two routes, so the
OpenAPI document has one operation (GET) per path and HEAD stays out of it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from fastapi import FastAPI

from tinystack.identity.api import (
    application_credentials,
    auth,
    catalog,
    domains,
    grants,
    groups,
    projects,
    revoke,
    role_assignments,
    roles,
    users,
    versions,
)

READ = "READ"


class Route(NamedTuple):
    method: str
    path: str
    handler: Callable[..., Any]
    status: int | None = None
    #: left out of the OpenAPI document (an alias of a documented path)
    hidden: bool = False


PROJECT = "/v3/projects/{project_id}"
USER = "/v3/users/{user_id}"
APP_CREDS = USER + "/application_credentials"
GROUP = "/v3/groups/{group_id}"
IMPLIES = "/v3/roles/{prior_role_id}/implies"
GRANTS = "/{target}/{target_id}/{actor}/{actor_id}/roles"
INHERITED = "/v3/OS-INHERIT" + GRANTS
INHERITED_ROLE = INHERITED + "/{role_id}/inherited_to_projects"
SYSTEM = "/v3/system/{actor}/{actor_id}/roles"

# fmt: off
ROUTES = (
    Route(READ,     "/",                                 versions.versions),
    Route(READ,     "/v3/",                              versions.version_v3, hidden=True),
    Route(READ,     "/v3",                               versions.version_v3),
    Route("POST",   "/v3/auth/tokens",                   auth.issue_token, 201),
    Route("GET",    "/v3/auth/tokens",                   auth.validate_token),
    Route("HEAD",   "/v3/auth/tokens",                   auth.check_token),
    Route("DELETE", "/v3/auth/tokens",                   auth.revoke_token, 204),
    Route(READ,     "/v3/auth/catalog",                  auth.auth_catalog),
    Route(READ,     "/v3/auth/projects",                 auth.auth_projects),
    Route(READ,     "/v3/auth/domains",                  auth.auth_domains),
    Route(READ,     "/v3/auth/system",                   auth.auth_system),
    Route("POST",   "/v3/regions",                       catalog.create_region, 201),
    Route("PUT",    "/v3/regions/{region_id}",           catalog.create_region_with_id, 201),
    Route(READ,     "/v3/regions",                       catalog.list_regions),
    Route(READ,     "/v3/regions/{region_id}",           catalog.show_region),
    Route("PATCH",  "/v3/regions/{region_id}",           catalog.update_region),
    Route("DELETE", "/v3/regions/{region_id}",           catalog.delete_region, 204),
    Route("POST",   "/v3/services",                      catalog.create_service, 201),
    Route(READ,     "/v3/services",                      catalog.list_services),
    Route(READ,     "/v3/services/{service_id}",         catalog.show_service),
    Route("PATCH",  "/v3/services/{service_id}",         catalog.update_service),
    Route("DELETE", "/v3/services/{service_id}",         catalog.delete_service, 204),
    Route("POST",   "/v3/endpoints",                     catalog.create_endpoint, 201),
    Route(READ,     "/v3/endpoints",                     catalog.list_endpoints),
    Route(READ,     "/v3/endpoints/{endpoint_id}",       catalog.show_endpoint),
    Route("PATCH",  "/v3/endpoints/{endpoint_id}",       catalog.update_endpoint),
    Route("DELETE", "/v3/endpoints/{endpoint_id}",       catalog.delete_endpoint, 204),
    Route("POST",   "/v3/domains",                       domains.create_domain, 201),
    Route(READ,     "/v3/domains",                       domains.list_domains),
    Route(READ,     "/v3/domains/{domain_id}",           domains.show_domain),
    Route("PATCH",  "/v3/domains/{domain_id}",           domains.update_domain),
    Route("DELETE", "/v3/domains/{domain_id}",           domains.delete_domain, 204),
    Route("POST",   "/v3/projects",                      projects.create_project, 201),
    Route(READ,     "/v3/projects",                      projects.list_projects),
    Route(READ,     PROJECT,                             projects.show_project),
    Route("PATCH",  PROJECT,                             projects.update_project),
    Route("DELETE", PROJECT,                             projects.delete_project, 204),
    Route(READ,     PROJECT + "/tags",                   projects.list_tags),
    Route("PUT",    PROJECT + "/tags",                   projects.replace_tags),
    Route("DELETE", PROJECT + "/tags",                   projects.delete_tags, 204),
    Route(READ,     PROJECT + "/tags/{tag}",             projects.check_tag),
    Route("PUT",    PROJECT + "/tags/{tag}",             projects.add_tag, 201),
    Route("DELETE", PROJECT + "/tags/{tag}",             projects.remove_tag, 204),
    Route("POST",   "/v3/users",                         users.create_user, 201),
    Route(READ,     "/v3/users",                         users.list_users),
    Route(READ,     USER,                                users.show_user),
    Route("PATCH",  USER,                                users.update_user),
    Route("DELETE", USER,                                users.delete_user, 204),
    Route("POST",   USER + "/password",                  users.change_password, 204),
    Route(READ,     USER + "/projects",                  users.user_projects),
    Route(READ,     USER + "/groups",                    users.user_groups),
    Route("POST",   APP_CREDS,                           application_credentials.create, 201),
    Route(READ,     APP_CREDS,                           application_credentials.list_creds),
    Route(READ,     APP_CREDS + "/{cred_id}",            application_credentials.show),
    Route("DELETE", APP_CREDS + "/{cred_id}",            application_credentials.delete, 204),
    Route("POST",   "/v3/groups",                        groups.create_group, 201),
    Route(READ,     "/v3/groups",                        groups.list_groups),
    Route(READ,     GROUP,                               groups.show_group),
    Route("PATCH",  GROUP,                               groups.update_group),
    Route("DELETE", GROUP,                               groups.delete_group, 204),
    Route(READ,     GROUP + "/users",                    groups.list_members),
    Route("PUT",    GROUP + "/users/{user_id}",          groups.add_member, 204),
    Route(READ,     GROUP + "/users/{user_id}",          groups.check_member, 204),
    Route("DELETE", GROUP + "/users/{user_id}",          groups.remove_member, 204),
    Route("POST",   "/v3/roles",                         roles.create_role, 201),
    Route(READ,     "/v3/roles",                         roles.list_roles),
    Route(READ,     "/v3/roles/{role_id}",               roles.show_role),
    Route("PATCH",  "/v3/roles/{role_id}",               roles.update_role),
    Route("DELETE", "/v3/roles/{role_id}",               roles.delete_role, 204),
    Route("PUT",    IMPLIES + "/{implied_role_id}",      roles.create_implied, 201),
    Route("GET",    IMPLIES + "/{implied_role_id}",      roles.get_implied),
    Route("HEAD",   IMPLIES + "/{implied_role_id}",      roles.check_implied, 204),
    Route("DELETE", IMPLIES + "/{implied_role_id}",      roles.delete_implied, 204),
    Route(READ,     IMPLIES,                             roles.list_implied),
    Route(READ,     "/v3/role_inferences",               roles.list_inferences),
    Route("PUT",    "/v3" + GRANTS + "/{role_id}",       grants.create_grant, 204),
    Route(READ,     "/v3" + GRANTS + "/{role_id}",       grants.check_grant, 204),
    Route("DELETE", "/v3" + GRANTS + "/{role_id}",       grants.revoke_grant, 204),
    Route(READ,     "/v3" + GRANTS,                      grants.list_grants),
    Route("PUT",    INHERITED_ROLE,                      grants.create_inherited_grant, 204),
    Route(READ,     INHERITED_ROLE,                      grants.check_inherited_grant, 204),
    Route("DELETE", INHERITED_ROLE,                      grants.revoke_inherited_grant, 204),
    Route(READ,     INHERITED + "/inherited_to_projects", grants.list_inherited_grants),
    Route("PUT",    SYSTEM + "/{role_id}",               grants.create_system_grant, 204),
    Route(READ,     SYSTEM + "/{role_id}",               grants.check_system_grant, 204),
    Route("DELETE", SYSTEM + "/{role_id}",               grants.revoke_system_grant, 204),
    Route(READ,     SYSTEM,                              grants.list_system_grants),
    Route(READ,     "/v3/role_assignments",              role_assignments.list_role_assignments),
    Route("GET",    "/v3/OS-REVOKE/events",              revoke.list_events),
)
# fmt: on


def include_routes(app: FastAPI) -> None:
    for route in ROUTES:
        methods = ["GET", "HEAD"] if route.method == READ else [route.method]
        for method in methods:
            app.add_api_route(
                route.path,
                route.handler,
                methods=[method],
                status_code=route.status,
                tags=[route.handler.__module__.rsplit(".", 1)[-1]],
                include_in_schema=not route.hidden and (method != "HEAD" or route.method != READ),
            )
