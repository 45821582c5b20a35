"""The identity route table: every route, in URL order; handlers live in resource modules.

Each route names the policy rules its handler checks (without the ``identity:`` prefix;
``*`` stands for ``user`` and ``group``, the actor in the path), or ``PUBLIC``. ``READ``
serves GET and HEAD with one handler, as Keystone does: two routes, so the OpenAPI
document has one operation (GET) per path and HEAD stays out of it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from fastapi import FastAPI

from tinystack.common.api import openapi
from tinystack.identity.api import (
    access_rules,
    auth,
    catalog,
    credentials,
    domain_configs,
    domains,
    federation,
    grants,
    groups,
    limits,
    oauth1,
    policies,
    projects,
    revoke,
    roles,
    saml2,
    trusts,
    users,
    versions,
)
from tinystack.identity.api import (
    application_credentials as app_creds,
)
from tinystack.identity.api import (
    endpoint_filters as ep_filter,
)
from tinystack.identity.api import (
    role_assignments as assignments,
)

READ = "READ"
PUBLIC = ""


class Route(NamedTuple):
    method: str
    path: str
    handler: Callable[..., Any]
    #: the policy rules the handler checks, space-separated; PUBLIC for none
    rules: str
    status: int | None = None
    #: left out of the OpenAPI document (an alias of a documented path)
    hidden: bool = False


PROJECT = "/v3/projects/{project_id}"
USER = "/v3/users/{user_id}"
CREDS = USER + "/application_credentials"
GROUP = "/v3/groups/{group_id}"
IMPLIES = "/v3/roles/{prior_role_id}/implies"
GRANTS = "/{target}/{target_id}/{actor}/{actor_id}/roles"
INHERITED = "/v3/OS-INHERIT" + GRANTS
INHERITED_ROLE = INHERITED + "/{role_id}/inherited_to_projects"
INHERITED_LIST = INHERITED + "/inherited_to_projects"
SYSTEM = "/v3/system/{actor}/{actor_id}/roles"
SYSTEM_ROLE = SYSTEM + "/{role_id}"
PROJECT_TAG = PROJECT + "/tags/{tag}"
MEMBER = GROUP + "/users/{user_id}"
IMPLIED = IMPLIES + "/{implied_role_id}"
GRANT = "/v3" + GRANTS + "/{role_id}"
ASSIGNMENT_RULES = "list_role_assignments list_role_assignments_for_tree"
DOMAIN_CONFIG = "/v3/domains/{domain_id}/config"
CONFIG_GROUP = DOMAIN_CONFIG + "/{group}"
CONFIG_OPTION = CONFIG_GROUP + "/{option}"
CONFIG_DEFAULT = "get_domain_config_default"
REGISTERED_LIMIT = "/v3/registered_limits/{registered_limit_id}"
LIMIT = "/v3/limits/{limit_id}"
FED = "/v3/OS-FEDERATION"
IDPS = FED + "/identity_providers"
IDP = IDPS + "/{idp_id}"
PROTOCOLS = IDP + "/protocols"
PROTOCOL = PROTOCOLS + "/{protocol_id}"
MAPPING = FED + "/mappings/{mapping_id}"
SP = FED + "/service_providers/{sp_id}"
ACCESS_RULE = USER + "/access_rules/{access_rule_id}"
TRUSTS = "/v3/OS-TRUST/trusts"
TRUST = TRUSTS + "/{trust_id}"
TRUST_LIST_RULES = "list_trusts list_trusts_for_trustor list_trusts_for_trustee"
CREDENTIAL = "/v3/credentials/{credential_id}"
EC2 = USER + "/credentials/OS-EC2"
EC2_CRED = EC2 + "/{credential_id}"
OAUTH = "/v3/OS-OAUTH1"
CONSUMER = OAUTH + "/consumers/{consumer_id}"
ACCESS_TOKENS = USER + "/OS-OAUTH1/access_tokens"
ACCESS_TOKEN = ACCESS_TOKENS + "/{access_token_id}"
EPF = "/v3/OS-EP-FILTER"
EP_GROUPS = EPF + "/endpoint_groups"
EP_GROUP = EP_GROUPS + "/{endpoint_group_id}"
EP_GROUP_PROJECT = EP_GROUP + "/projects/{project_id}"
PROJECT_ENDPOINT = EPF + "/projects/{project_id}/endpoints/{endpoint_id}"
POLICY = "/v3/policies/{policy_id}"
EP_POLICY = POLICY + "/OS-ENDPOINT-POLICY"
POLICY_ENDPOINT = EP_POLICY + "/endpoints/{endpoint_id}"
POLICY_SERVICE = EP_POLICY + "/services/{service_id}"
POLICY_REGION = POLICY_SERVICE + "/regions/{region_id}"

# fmt: off
ROUTES = (
    Route(READ,     "/",                           versions.versions, PUBLIC, 300),
    Route(READ,     "/v3/",                        versions.version_v3, PUBLIC, hidden=True),
    Route(READ,     "/v3",                         versions.version_v3, PUBLIC),
    Route("POST",   "/v3/auth/tokens",             auth.issue_token, PUBLIC, 201),
    Route("GET",    "/v3/auth/tokens",             auth.validate_token, "validate_token"),
    Route("HEAD",   "/v3/auth/tokens",             auth.check_token, "check_token"),
    Route("DELETE", "/v3/auth/tokens",             auth.revoke_token, "revoke_token", 204),
    Route(READ,     "/v3/auth/catalog",            auth.auth_catalog, "get_auth_catalog"),
    Route(READ,     "/v3/auth/projects",           auth.auth_projects, "get_auth_projects"),
    Route(READ,     "/v3/auth/domains",            auth.auth_domains, "get_auth_domains"),
    Route(READ,     "/v3/auth/system",             auth.auth_system, "get_auth_system"),
    Route("POST",   "/v3/regions",                 catalog.create_region, "create_region", 201),
    Route("PUT",    "/v3/regions/{region_id}", catalog.create_region_with_id, "create_region", 201),
    Route(READ,     "/v3/regions",                 catalog.list_regions, "list_regions"),
    Route(READ,     "/v3/regions/{region_id}",     catalog.show_region, "get_region"),
    Route("PATCH",  "/v3/regions/{region_id}",     catalog.update_region, "update_region"),
    Route("DELETE", "/v3/regions/{region_id}",     catalog.delete_region, "delete_region", 204),
    Route("POST",   "/v3/services",                catalog.create_service, "create_service", 201),
    Route(READ,     "/v3/services",                catalog.list_services, "list_services"),
    Route(READ,     "/v3/services/{service_id}",   catalog.show_service, "get_service"),
    Route("PATCH",  "/v3/services/{service_id}",   catalog.update_service, "update_service"),
    Route("DELETE", "/v3/services/{service_id}",   catalog.delete_service, "delete_service", 204),
    Route("POST",   "/v3/endpoints",               catalog.create_endpoint, "create_endpoint", 201),
    Route(READ,     "/v3/endpoints",               catalog.list_endpoints, "list_endpoints"),
    Route(READ,     "/v3/endpoints/{endpoint_id}", catalog.show_endpoint, "get_endpoint"),
    Route("PATCH",  "/v3/endpoints/{endpoint_id}", catalog.update_endpoint, "update_endpoint"),
    Route("DELETE", "/v3/endpoints/{endpoint_id}", catalog.delete_endpoint, "delete_endpoint", 204),
    Route(READ,     "/v3/domains/config/default", domain_configs.default_config, CONFIG_DEFAULT),
    Route(READ, "/v3/domains/config/{group}/default", domain_configs.default_group, CONFIG_DEFAULT),
    Route(READ, "/v3/domains/config/{group}/{option}/default", domain_configs.default_option,
          CONFIG_DEFAULT),
    Route("PUT",    DOMAIN_CONFIG, domain_configs.create_config, "create_domain_config", 201),
    Route(READ,     DOMAIN_CONFIG, domain_configs.show_config, "get_domain_config"),
    Route("PATCH",  DOMAIN_CONFIG, domain_configs.update_config, "update_domain_config"),
    Route("DELETE", DOMAIN_CONFIG, domain_configs.delete_config, "delete_domain_config", 204),
    Route(READ,     CONFIG_GROUP, domain_configs.show_group,
          "get_domain_config get_security_compliance_domain_config"),
    Route("PATCH",  CONFIG_GROUP, domain_configs.update_group, "update_domain_config"),
    Route("DELETE", CONFIG_GROUP, domain_configs.delete_group, "delete_domain_config", 204),
    Route(READ,     CONFIG_OPTION, domain_configs.show_option,
          "get_domain_config get_security_compliance_domain_config"),
    Route("PATCH",  CONFIG_OPTION, domain_configs.update_option, "update_domain_config"),
    Route("DELETE", CONFIG_OPTION, domain_configs.delete_option, "delete_domain_config", 204),
    Route("POST",   "/v3/domains",                 domains.create_domain, "create_domain", 201),
    Route(READ,     "/v3/domains",                 domains.list_domains, "list_domains"),
    Route(READ,     "/v3/domains/{domain_id}",     domains.show_domain, "get_domain"),
    Route("PATCH",  "/v3/domains/{domain_id}",     domains.update_domain, "update_domain"),
    Route("DELETE", "/v3/domains/{domain_id}",     domains.delete_domain, "delete_domain", 204),
    Route("POST",   "/v3/projects",                projects.create_project, "create_project", 201),
    Route(READ,     "/v3/projects",                projects.list_projects, "list_projects"),
    Route(READ,     PROJECT,                       projects.show_project, "get_project"),
    Route("PATCH",  PROJECT,                       projects.update_project, "update_project"),
    Route("DELETE", PROJECT,                       projects.delete_project, "delete_project", 204),
    Route(READ,     PROJECT + "/tags",             projects.list_tags, "list_project_tags"),
    Route("PUT",    PROJECT + "/tags",             projects.replace_tags, "update_project_tags"),
    Route("DELETE", PROJECT + "/tags", projects.delete_tags, "delete_project_tags", 204),
    Route(READ,     PROJECT_TAG,                   projects.check_tag, "get_project_tag"),
    Route("PUT",    PROJECT_TAG,                   projects.add_tag, "create_project_tag", 201),
    Route("DELETE", PROJECT_TAG,                   projects.remove_tag, "delete_project_tag", 204),
    Route("POST",   "/v3/users",                   users.create_user, "create_user", 201),
    Route(READ,     "/v3/users",                   users.list_users, "list_users"),
    Route(READ,     USER,                          users.show_user, "get_user"),
    Route("PATCH",  USER,                          users.update_user, "update_user"),
    Route("DELETE", USER,                          users.delete_user, "delete_user", 204),
    Route("POST",   USER + "/password",            users.change_password, PUBLIC, 204),
    Route(READ,     USER + "/projects",            users.user_projects, "list_user_projects"),
    Route(READ,     USER + "/groups",              users.user_groups, "list_groups_for_user"),
    Route("POST",   CREDS, app_creds.create, "create_application_credential", 201),
    Route(READ,     CREDS, app_creds.list_creds, "list_application_credentials"),
    Route(READ,     CREDS + "/{cred_id}",          app_creds.show, "get_application_credential"),
    Route("DELETE", CREDS + "/{cred_id}", app_creds.delete, "delete_application_credential", 204),
    Route("POST",   "/v3/groups",                  groups.create_group, "create_group", 201),
    Route(READ,     "/v3/groups",                  groups.list_groups, "list_groups"),
    Route(READ,     GROUP,                         groups.show_group, "get_group"),
    Route("PATCH",  GROUP,                         groups.update_group, "update_group"),
    Route("DELETE", GROUP,                         groups.delete_group, "delete_group", 204),
    Route(READ,     GROUP + "/users",              groups.list_members, "list_users_in_group"),
    Route("PUT",    MEMBER,                        groups.add_member, "add_user_to_group", 204),
    Route(READ,     MEMBER,                        groups.check_member, "check_user_in_group", 204),
    Route("DELETE", MEMBER, groups.remove_member, "remove_user_from_group", 204),
    Route("POST",   "/v3/roles",                   roles.create_role, "create_role", 201),
    Route(READ,     "/v3/roles",                   roles.list_roles, "list_roles"),
    Route(READ,     "/v3/roles/{role_id}",         roles.show_role, "get_role"),
    Route("PATCH",  "/v3/roles/{role_id}",         roles.update_role, "update_role"),
    Route("DELETE", "/v3/roles/{role_id}",         roles.delete_role, "delete_role", 204),
    Route("PUT",    IMPLIED, roles.create_implied, "create_implied_role", 201),
    Route("GET",    IMPLIED,                       roles.get_implied, "get_implied_role"),
    Route("HEAD",   IMPLIED,                       roles.check_implied, "check_implied_role", 204),
    Route("DELETE", IMPLIED, roles.delete_implied, "delete_implied_role", 204),
    Route(READ,     IMPLIES,                       roles.list_implied, "list_implied_roles"),
    Route(READ,     "/v3/role_inferences", roles.list_inferences, "list_role_inference_rules"),
    Route("PUT",    GRANT,                         grants.create_grant, "create_grant", 204),
    Route(READ,     GRANT,                         grants.check_grant, "check_grant", 204),
    Route("DELETE", GRANT,                         grants.revoke_grant, "revoke_grant", 204),
    Route(READ,     "/v3" + GRANTS,                grants.list_grants, "list_grants"),
    Route("PUT",    INHERITED_ROLE, grants.create_inherited_grant, "create_grant", 204),
    Route(READ,     INHERITED_ROLE, grants.check_inherited_grant, "check_grant", 204),
    Route("DELETE", INHERITED_ROLE, grants.revoke_inherited_grant, "revoke_grant", 204),
    Route(READ,     INHERITED_LIST,                grants.list_inherited_grants, "list_grants"),
    Route("PUT", SYSTEM_ROLE, grants.create_system_grant, "create_system_grant_for_*", 204),
    Route(READ,     SYSTEM_ROLE, grants.check_system_grant, "check_system_grant_for_*", 204),
    Route("DELETE", SYSTEM_ROLE, grants.revoke_system_grant, "revoke_system_grant_for_*", 204),
    Route(READ,     SYSTEM, grants.list_system_grants, "list_system_grants_for_*"),
    Route(READ,     "/v3/role_assignments", assignments.list_role_assignments, ASSIGNMENT_RULES),
    Route("POST", "/v3/registered_limits", limits.create_registered_limits,
          "create_registered_limits", 201),
    Route(READ, "/v3/registered_limits", limits.list_registered_limits, "list_registered_limits"),
    Route(READ, REGISTERED_LIMIT, limits.show_registered_limit, "get_registered_limit"),
    Route("PATCH", REGISTERED_LIMIT, limits.update_registered_limit, "update_registered_limit"),
    Route("DELETE", REGISTERED_LIMIT, limits.delete_registered_limit, "delete_registered_limit",
          204),
    Route(READ,     "/v3/limits/model",            limits.limit_model, "get_limit_model"),
    Route("POST",   "/v3/limits",                  limits.create_limits, "create_limits", 201),
    Route(READ,     "/v3/limits",                  limits.list_limits, "list_limits"),
    Route(READ,     LIMIT,                         limits.show_limit, "get_limit"),
    Route("PATCH",  LIMIT,                         limits.update_limit, "update_limit"),
    Route("DELETE", LIMIT,                         limits.delete_limit, "delete_limit", 204),
    Route(READ,     IDPS,                          federation.list_idps, "list_identity_providers"),
    Route("PUT",    IDP, federation.create_idp, "create_identity_provider", 201),
    Route(READ,     IDP,                           federation.show_idp, "get_identity_provider"),
    Route("PATCH",  IDP,                   federation.update_idp, "update_identity_provider"),
    Route("DELETE", IDP,               federation.delete_idp, "delete_identity_provider", 204),
    Route(READ,     PROTOCOLS,                     federation.list_protocols, "list_protocols"),
    Route("PUT",    PROTOCOL,           federation.create_protocol, "create_protocol", 201),
    Route(READ,     PROTOCOL,                      federation.show_protocol, "get_protocol"),
    Route("PATCH",  PROTOCOL,                      federation.update_protocol, "update_protocol"),
    Route("DELETE", PROTOCOL,           federation.delete_protocol, "delete_protocol", 204),
    Route("GET",    PROTOCOL + "/auth",            federation.authenticate, PUBLIC, 201),
    Route("POST",   PROTOCOL + "/auth",            federation.authenticate, PUBLIC, 201),
    Route(READ,     FED + "/mappings",             federation.list_mappings, "list_mappings"),
    Route("PUT",    MAPPING,                federation.create_mapping, "create_mapping", 201),
    Route(READ,     MAPPING,                       federation.show_mapping, "get_mapping"),
    Route("PATCH",  MAPPING,                       federation.update_mapping, "update_mapping"),
    Route("DELETE", MAPPING,                federation.delete_mapping, "delete_mapping", 204),
    Route(READ, FED + "/service_providers", federation.list_sps, "list_service_providers"),
    Route("POST", "/v3/auth/OS-FEDERATION/saml2",  saml2.create_assertion, PUBLIC),
    Route("POST", "/v3/auth/OS-FEDERATION/saml2/ecp", saml2.create_ecp_assertion, PUBLIC),
    Route(READ,     FED + "/saml2/metadata",       saml2.metadata, PUBLIC),
    Route("POST",   "/Shibboleth.sso/SAML2/ECP",   saml2.ecp, PUBLIC, 201),
    Route("PUT",    SP,                 federation.create_sp, "create_service_provider", 201),
    Route(READ,     SP,                            federation.show_sp, "get_service_provider"),
    Route("PATCH",  SP,                      federation.update_sp, "update_service_provider"),
    Route("DELETE", SP,                 federation.delete_sp, "delete_service_provider", 204),
    Route(READ,     FED + "/projects",             auth.auth_projects, "get_auth_projects",
          hidden=True),
    Route(READ,     FED + "/domains",              auth.auth_domains, "get_auth_domains",
          hidden=True),
    Route("GET",    "/v3/OS-REVOKE/events",        revoke.list_events, "list_revoke_events"),
    # delegation: access rules, trusts
    Route(READ,     USER + "/access_rules", access_rules.list_rules, "list_access_rules"),
    Route(READ,     ACCESS_RULE,                   access_rules.show_rule, "get_access_rule"),
    Route("DELETE", ACCESS_RULE, access_rules.delete_rule, "delete_access_rule", 204),
    Route("POST",   TRUSTS,                        trusts.create_trust, "create_trust", 201),
    Route(READ,     TRUSTS,                        trusts.list_trusts, TRUST_LIST_RULES),
    Route(READ, TRUSTS + "/", trusts.list_trusts, TRUST_LIST_RULES, hidden=True),
    Route(READ,     TRUST,                         trusts.show_trust, "get_trust"),
    Route("DELETE", TRUST,                         trusts.delete_trust, "delete_trust", 204),
    Route(READ,     TRUST + "/roles",    trusts.list_trust_roles, "list_roles_for_trust"),
    Route(READ,     TRUST + "/roles/{role_id}", trusts.show_trust_role, "get_role_for_trust"),
    # credentials, EC2 credentials, tokens from signed requests
    Route("POST", "/v3/credentials", credentials.create_credential, "create_credential", 201),
    Route(READ,   "/v3/credentials", credentials.list_credentials, "list_credentials"),
    Route(READ,     CREDENTIAL,        credentials.show_credential, "get_credential"),
    Route("PATCH",  CREDENTIAL,        credentials.update_credential, "update_credential"),
    Route("DELETE", CREDENTIAL, credentials.delete_credential, "delete_credential", 204),
    Route("POST",   EC2, credentials.create_ec2_credential, "ec2_create_credential", 201),
    Route(READ,     EC2, credentials.list_ec2_credentials, "ec2_list_credentials"),
    Route(READ,     EC2_CRED, credentials.show_ec2_credential, "ec2_get_credential"),
    Route("DELETE", EC2_CRED, credentials.delete_ec2_credential, "ec2_delete_credential", 204),
    Route("POST",   "/v3/ec2tokens",   credentials.ec2_token, "ec2tokens_validate"),
    Route("POST",   "/v3/s3tokens",    credentials.s3_token, "s3tokens_validate"),
    # OAuth1
    Route("POST", OAUTH + "/consumers", oauth1.create_consumer, "create_consumer", 201),
    Route(READ,   OAUTH + "/consumers", oauth1.list_consumers, "list_consumers"),
    Route(READ,     CONSUMER,          oauth1.show_consumer, "get_consumer"),
    Route("PATCH",  CONSUMER,          oauth1.update_consumer, "update_consumer"),
    Route("DELETE", CONSUMER,          oauth1.delete_consumer, "delete_consumer", 204),
    Route("POST",   OAUTH + "/request_token", oauth1.request_token, PUBLIC, 201),
    Route("PUT", OAUTH + "/authorize/{request_token_id}", oauth1.authorize_request_token,
          "authorize_request_token"),
    Route("POST",   OAUTH + "/access_token", oauth1.access_token, PUBLIC, 201),
    Route(READ,     ACCESS_TOKENS,     oauth1.list_access_tokens, "list_access_tokens"),
    Route(READ,     ACCESS_TOKEN,      oauth1.show_access_token, "get_access_token"),
    Route("DELETE", ACCESS_TOKEN, oauth1.delete_access_token, "delete_access_token", 204),
    Route(READ, ACCESS_TOKEN + "/roles", oauth1.list_access_token_roles,
          "list_access_token_roles"),
    Route(READ, ACCESS_TOKEN + "/roles/{role_id}", oauth1.show_access_token_role,
          "get_access_token_role"),
    # endpoint filters
    Route("POST", EP_GROUPS, ep_filter.create_group, "create_endpoint_group", 201),
    Route(READ,     EP_GROUPS,         ep_filter.list_groups, "list_endpoint_groups"),
    Route(READ,     EP_GROUP,          ep_filter.show_group, "get_endpoint_group"),
    Route("PATCH",  EP_GROUP,          ep_filter.update_group, "update_endpoint_group"),
    Route("DELETE", EP_GROUP, ep_filter.delete_group, "delete_endpoint_group", 204),
    Route(READ, EP_GROUP + "/endpoints", ep_filter.group_endpoints,
          "list_endpoints_associated_with_endpoint_group"),
    Route(READ, EP_GROUP + "/projects", ep_filter.group_projects,
          "list_projects_associated_with_endpoint_group"),
    Route("PUT", EP_GROUP_PROJECT, ep_filter.add_group_to_project,
          "add_endpoint_group_to_project", 204),
    Route(READ, EP_GROUP_PROJECT, ep_filter.show_group_in_project,
          "get_endpoint_group_in_project"),
    Route("DELETE", EP_GROUP_PROJECT, ep_filter.remove_group_from_project,
          "remove_endpoint_group_from_project", 204),
    Route(READ, EPF + "/projects/{project_id}/endpoint_groups", ep_filter.project_groups,
          "list_endpoint_groups_for_project"),
    Route(READ, EPF + "/projects/{project_id}/endpoints", ep_filter.project_endpoints,
          "list_endpoints_for_project"),
    Route("PUT", PROJECT_ENDPOINT, ep_filter.add_endpoint, "add_endpoint_to_project", 204),
    Route(READ, PROJECT_ENDPOINT, ep_filter.check_endpoint, "check_endpoint_in_project", 204),
    Route("DELETE", PROJECT_ENDPOINT, ep_filter.remove_endpoint,
          "remove_endpoint_from_project", 204),
    Route(READ, EPF + "/endpoints/{endpoint_id}/projects", ep_filter.endpoint_projects,
          "list_projects_for_endpoint"),
    # policies and OS-ENDPOINT-POLICY
    Route("POST",   "/v3/policies",    policies.create_policy, "create_policy", 201),
    Route(READ,     "/v3/policies",    policies.list_policies, "list_policies"),
    Route(READ,     POLICY,            policies.show_policy, "get_policy"),
    Route("PATCH",  POLICY,            policies.update_policy, "update_policy"),
    Route("DELETE", POLICY,            policies.delete_policy, "delete_policy", 204),
    Route(READ, EP_POLICY + "/endpoints", policies.policy_endpoints,
          "list_endpoints_for_policy"),
    Route("PUT", POLICY_ENDPOINT, policies.associate_endpoint,
          "create_policy_association_for_endpoint", 204),
    Route(READ, POLICY_ENDPOINT, policies.check_endpoint,
          "check_policy_association_for_endpoint", 204),
    Route("DELETE", POLICY_ENDPOINT, policies.dissociate_endpoint,
          "delete_policy_association_for_endpoint", 204),
    Route("PUT", POLICY_SERVICE, policies.associate_service,
          "create_policy_association_for_service", 204),
    Route(READ, POLICY_SERVICE, policies.check_service,
          "check_policy_association_for_service", 204),
    Route("DELETE", POLICY_SERVICE, policies.dissociate_service,
          "delete_policy_association_for_service", 204),
    Route("PUT", POLICY_REGION, policies.associate_region,
          "create_policy_association_for_region_and_service", 204),
    Route(READ, POLICY_REGION, policies.check_region,
          "check_policy_association_for_region_and_service", 204),
    Route("DELETE", POLICY_REGION, policies.dissociate_region,
          "delete_policy_association_for_region_and_service", 204),
    Route(READ, "/v3/endpoints/{endpoint_id}/OS-ENDPOINT-POLICY/policy",
          policies.endpoint_policy, "get_policy_for_endpoint"),
)
# fmt: on


def _openapi_extra(rules: str) -> dict[str, Any]:
    if rules == PUBLIC:
        return dict(openapi.PUBLIC)
    names = [
        f"identity:{name.replace('*', actor)}"
        for name in rules.split()
        for actor in (("user", "group") if "*" in name else ("",))
    ]
    return openapi.policies(*names)


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
                openapi_extra=_openapi_extra(route.rules),
            )
