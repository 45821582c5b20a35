"""What identity's service layer takes and returns: typed records, never ORM rows.

Output records are frozen dataclasses the API renders as Keystone's JSON. Inputs are
the attributes a client sent (``*Fields`` TypedDicts: on an update, an attribute that
is absent stays as it is, so presence is part of the value). Keystone keeps unknown
attributes of most resources as open JSON: ``extra``, typed as :data:`JSONObject`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Required, TypeAlias, TypedDict

from tinystack.common.auth.tokens import TokenPayload

JSON: TypeAlias = "str | int | float | bool | None | list[JSON] | dict[str, JSON]"
#: a JSON object a client chose the keys of (``extra``, user options, access rules)
JSONObject: TypeAlias = Mapping[str, JSON]
#: a project's parents or subtree as upstream's ``parents_as_ids``/``subtree_as_ids`` nest them
IdTree: TypeAlias = "dict[str, IdTree | None]"


# -- resources --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Domain:
    id: str
    name: str
    description: str | None
    enabled: bool
    tags: tuple[str, ...]
    extra: JSONObject


@dataclass(frozen=True, slots=True)
class Project:
    id: str
    name: str
    domain_id: str
    #: None for a top-level project (Keystone shows its domain as its parent)
    parent_id: str | None
    description: str | None
    enabled: bool
    tags: tuple[str, ...]
    extra: JSONObject
    #: a domain seen through the projects API (upstream's projects acting as domains)
    is_domain: bool = False


@dataclass(frozen=True, slots=True)
class ProjectTree:
    """A project with the ids above and below it, when asked for (None: not asked, or none)."""

    project: Project
    parents: IdTree | None
    subtree: IdTree | None


@dataclass(frozen=True, slots=True)
class User:
    id: str
    name: str
    domain_id: str
    enabled: bool
    password_expires_at: datetime | None
    default_project_id: str | None
    description: str | None
    options: JSONObject
    extra: JSONObject


@dataclass(frozen=True, slots=True)
class Group:
    id: str
    name: str
    domain_id: str
    description: str | None
    extra: JSONObject


@dataclass(frozen=True, slots=True)
class Role:
    id: str
    name: str
    #: None for a global role
    domain_id: str | None
    description: str | None
    options: JSONObject
    extra: JSONObject


@dataclass(frozen=True, slots=True)
class RoleInference:
    """A prior role and the roles it implies directly."""

    prior: Role
    implies: tuple[Role, ...]


@dataclass(frozen=True, slots=True)
class Region:
    id: str
    description: str
    parent_region_id: str | None
    extra: JSONObject


@dataclass(frozen=True, slots=True)
class Service:
    id: str
    type: str
    name: str | None
    description: str | None
    enabled: bool
    extra: JSONObject


@dataclass(frozen=True, slots=True)
class Endpoint:
    id: str
    service_id: str
    interface: str
    url: str
    region_id: str | None
    enabled: bool
    extra: JSONObject


@dataclass(frozen=True, slots=True)
class RoleRef:
    """A role as an application credential remembers it."""

    id: str
    name: str
    domain_id: str | None


@dataclass(frozen=True, slots=True)
class AccessRule:
    """A request (service type, method, path pattern) application credentials may make."""

    id: str
    service: str
    path: str
    method: str


@dataclass(frozen=True, slots=True)
class ApplicationCredential:
    id: str
    name: str
    description: str | None
    user_id: str
    project_id: str | None
    expires_at: datetime | None
    unrestricted: bool
    roles: tuple[RoleRef, ...]
    access_rules: tuple[AccessRule, ...]


@dataclass(frozen=True, slots=True)
class NewApplicationCredential:
    """A created application credential and its secret, shown only this once."""

    credential: ApplicationCredential
    secret: str


# -- tokens -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NameRef:
    """A user, project or domain as a token names it (with its domain, but a domain)."""

    id: str
    name: str
    domain_id: str | None = None
    domain_name: str | None = None
    password_expires_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class CatalogEndpoint:
    id: str
    interface: str
    region_id: str | None
    url: str


@dataclass(frozen=True, slots=True)
class CatalogService:
    id: str
    type: str
    name: str
    endpoints: tuple[CatalogEndpoint, ...]


@dataclass(frozen=True, slots=True)
class AppCredRef:
    id: str
    name: str
    restricted: bool


@dataclass(frozen=True, slots=True)
class SpRef:
    """An enabled service provider as a scoped token's catalog lists it."""

    id: str
    auth_url: str
    sp_url: str


@dataclass(frozen=True, slots=True)
class Token:
    """A token's payload and the names it is shown with."""

    payload: TokenPayload
    user: NameRef
    project: NameRef | None
    domain: NameRef | None
    #: None when the caller asked for no catalog or the token is unscoped
    catalog: tuple[CatalogService, ...] | None
    application_credential: AppCredRef | None
    #: the enabled service providers (Keystone-to-Keystone), with the catalog
    service_providers: tuple[SpRef, ...] | None = None


@dataclass(frozen=True, slots=True)
class IssuedToken:
    id: str
    token: Token


# -- request attributes -----------------------------------------------------------------------


class UserFields(TypedDict, total=False):
    #: on an update, an id other than the object's (refused: "Cannot change ID")
    id: str
    name: str
    domain_id: str | None
    password: str | None
    enabled: bool
    default_project_id: str | None
    description: str | None
    options: dict[str, JSON] | None
    extra: dict[str, JSON]


class GroupFields(TypedDict, total=False):
    #: on an update, an id other than the object's (refused: "Cannot change ID")
    id: str
    name: str
    domain_id: str | None
    description: str | None
    extra: dict[str, JSON]


class ProjectFields(TypedDict, total=False):
    #: on an update, an id other than the object's (refused: "Cannot change ID")
    id: str
    name: str
    domain_id: str | None
    parent_id: str | None
    description: str | None
    enabled: bool
    is_domain: bool
    tags: list[str] | None
    extra: dict[str, JSON]


class DomainFields(TypedDict, total=False):
    #: on an update, an id other than the object's (refused: "Cannot change ID")
    id: str
    name: str
    description: str | None
    enabled: bool
    explicit_domain_id: str | None
    tags: list[str] | None
    extra: dict[str, JSON]


class RoleFields(TypedDict, total=False):
    #: on an update, an id other than the role's (refused: "Cannot change ID")
    id: str
    name: str
    domain_id: str | None
    description: str | None
    options: dict[str, JSON] | None
    extra: dict[str, JSON]


class RegionFields(TypedDict, total=False):
    #: the new region's id; on an update, one other than the region's (refused)
    id: str | None
    description: str | None
    parent_region_id: str | None
    extra: dict[str, JSON]


class ServiceFields(TypedDict, total=False):
    #: on an update, an id other than the object's (refused: "Cannot change ID")
    id: str
    type: str
    name: str | None
    description: str | None
    enabled: bool
    extra: dict[str, JSON]


class EndpointFields(TypedDict, total=False):
    #: on an update, an id other than the object's (refused: "Cannot change ID")
    id: str
    service_id: str
    interface: str
    url: str
    region_id: str | None
    #: create ``region_id`` when it does not exist (the legacy ``region`` attribute)
    create_region: bool
    enabled: bool
    extra: dict[str, JSON]


class RoleSpec(TypedDict, total=False):
    """A role an application credential is limited to, by id or by name."""

    id: str
    name: str
    domain_id: str


class AccessRuleSpec(TypedDict, total=False):
    """An access rule of a new application credential: an existing one's id, or its parts."""

    id: str
    service: str
    path: str
    method: str


class AppCredFields(TypedDict, total=False):
    name: Required[str]
    secret: str | None
    description: str | None
    expires_at: datetime | None
    roles: list[RoleSpec] | None
    unrestricted: bool
    access_rules: list[AccessRuleSpec] | None


class ProjectFilters(TypedDict, total=False):
    name: str | None
    domain_id: str | None
    parent_id: str | None
    enabled: bool | None
    tags: list[str] | None
    tags_any: list[str] | None
    not_tags: list[str] | None
    not_tags_any: list[str] | None
