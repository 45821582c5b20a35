"""Request bodies of the identity API (pydantic): every POST/PUT/PATCH body is one of these.

Unknown attributes of users, projects, domains, groups, roles, regions, services and
endpoints are kept as Keystone's ``extra`` (:class:`Open`); the other bodies refuse them
(:class:`Strict`). The auth body is checked only as far as upstream's schema checks it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal, cast

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr, model_validator

from tinystack.identity.services.records import (
    AppCredFields,
    DomainFields,
    EndpointFields,
    GroupFields,
    ProjectFields,
    RegionFields,
    RoleFields,
    ServiceFields,
    UserFields,
)

Name = Annotated[StrictStr, Field(min_length=1, max_length=255)]
#: Keystone limits project and domain names to 64 characters.
ShortName = Annotated[StrictStr, Field(min_length=1, max_length=64)]
#: a reference to an object by id (the id columns hold 64 characters)
Id = Annotated[StrictStr, Field(max_length=64)]
OptionalText = StrictStr | None
Bool = StrictBool


def _reject_nul(value: Any) -> None:
    """PostgreSQL cannot store NUL characters; refuse them anywhere in a body (400)."""
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("NUL characters are not allowed")
    elif isinstance(value, dict):
        for key, item in value.items():
            _reject_nul(key)
            _reject_nul(item)
    elif isinstance(value, list):
        for item in value:
            _reject_nul(item)


class RequestBody(BaseModel):
    """Base of every request body model."""

    #: attributes an update may leave out but not set to null
    NOT_NULL: ClassVar[tuple[str, ...]] = ()

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: Any) -> Any:
        _reject_nul(data)
        if isinstance(data, dict):
            for name in cls.NOT_NULL:
                if name in data and data[name] is None:
                    raise ValueError(f"{name} cannot be null")
        return data


class Strict(RequestBody):
    model_config = ConfigDict(extra="forbid")


class Open(RequestBody):
    """Keystone keeps unknown attributes of users/projects/... as 'extra'."""

    model_config = ConfigDict(extra="allow")

    def fields_and_extra(self, object_id: str | None = None) -> dict[str, Any]:
        """Known fields, plus unknown ones under "extra".

        An "id" or "links" sent back by a client is not an extra attribute; on an update
        (``object_id`` given) a different id is kept as "id", which the service layer
        refuses ("Cannot change ID", as upstream) once it has authorized the update.
        """
        data = self.model_dump(exclude_unset=True)
        extra = dict(self.model_extra or {})
        for key in extra:
            data.pop(key, None)
        given_id = extra.pop("id", None)
        if object_id is not None and given_id is not None and given_id != object_id:
            data["id"] = given_id
        extra.pop("links", None)
        if extra:
            data["extra"] = extra
        return data


# -- auth ------------------------------------------------------------------------------------


class _Loose(RequestBody):
    """Type checks of the auth body as upstream's schema has them; unknown keys pass."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)


class DomainRef(_Loose):
    id: StrictStr | None = None
    name: StrictStr | None = None


class UserRef(_Loose):
    id: StrictStr | None = None
    name: StrictStr | None = None
    password: StrictStr | None = None
    domain: DomainRef | None = None


class PasswordMethod(_Loose):
    user: UserRef | None = None


class TokenMethod(_Loose):
    id: StrictStr


class AppCredMethod(_Loose):
    id: StrictStr | None = None
    name: StrictStr | None = None
    secret: StrictStr | None = None
    user: UserRef | None = None


class AuthIdentity(_Loose):
    methods: list[StrictStr]
    password: PasswordMethod | None = None
    token: TokenMethod | None = None
    application_credential: AppCredMethod | None = None


class ProjectRef(_Loose):
    id: StrictStr | None = None
    name: StrictStr | None = None
    domain: DomainRef | None = None


class SystemRef(_Loose):
    all: StrictBool | None = None


class TrustRef(_Loose):
    id: StrictStr | None = None


class AuthScope(_Loose):
    project: ProjectRef | None = None
    domain: DomainRef | None = None
    system: SystemRef | None = None
    trust: TrustRef | None = Field(None, alias="OS-TRUST:trust")


class Auth(_Loose):
    identity: AuthIdentity
    scope: AuthScope | StrictStr | None = None


class AuthBody(_Loose):
    auth: Auth


# -- catalog ---------------------------------------------------------------------------------


Interface = Literal["public", "internal", "admin"]


RegionId = Annotated[StrictStr, Field(max_length=255)]


class RegionCreate(Open):
    id: str | None = Field(None, max_length=255)
    description: str | None = None
    parent_region_id: RegionId | None = None

    def attributes(self, object_id: str | None = None) -> RegionFields:
        return cast(RegionFields, self.fields_and_extra(object_id))


class RegionUpdate(Open):
    description: str | None = None
    parent_region_id: RegionId | None = None

    def attributes(self, object_id: str | None = None) -> RegionFields:
        return cast(RegionFields, self.fields_and_extra(object_id))


class ServiceCreate(Open):
    type: str = Field(min_length=1, max_length=255)
    name: Name | None = None
    description: str | None = None
    enabled: Bool = True

    def attributes(self, object_id: str | None = None) -> ServiceFields:
        return cast(ServiceFields, self.fields_and_extra(object_id))


class ServiceUpdate(Open):
    NOT_NULL = ("type", "enabled")

    type: str | None = Field(None, min_length=1, max_length=255)
    name: Name | None = None
    description: str | None = None
    enabled: Bool | None = None

    def attributes(self, object_id: str | None = None) -> ServiceFields:
        return cast(ServiceFields, self.fields_and_extra(object_id))


def _endpoint_attributes(model: Open, endpoint_id: str | None) -> EndpointFields:
    data = model.fields_and_extra(endpoint_id)
    region = data.pop("region", None)
    if region is not None and "region_id" not in data:
        # The legacy `region` attribute creates a missing region, as Keystone does.
        data["region_id"] = region
        data["create_region"] = True
    return cast(EndpointFields, data)


class EndpointCreate(Open):
    service_id: Id
    interface: Interface
    url: str = Field(min_length=1)
    region_id: RegionId | None = None
    region: RegionId | None = None
    enabled: Bool = True

    def attributes(self, object_id: str | None = None) -> EndpointFields:
        return _endpoint_attributes(self, object_id)


class EndpointUpdate(Open):
    NOT_NULL = ("service_id", "interface", "url", "enabled")

    service_id: Id | None = None
    interface: Interface | None = None
    url: str | None = Field(None, min_length=1)
    region_id: RegionId | None = None
    region: RegionId | None = None
    enabled: Bool | None = None

    def attributes(self, object_id: str | None = None) -> EndpointFields:
        return _endpoint_attributes(self, object_id)


class RegionBody(Strict):
    region: RegionCreate = Field(default_factory=lambda: RegionCreate.model_validate({}))


class RegionUpdateBody(Strict):
    region: RegionUpdate


class ServiceBody(Strict):
    service: ServiceCreate


class ServiceUpdateBody(Strict):
    service: ServiceUpdate


class EndpointBody(Strict):
    endpoint: EndpointCreate


class EndpointUpdateBody(Strict):
    endpoint: EndpointUpdate


# -- users -----------------------------------------------------------------------------------


class UserCreate(Open):
    name: Name
    domain_id: Id | None = None
    password: str | None = None
    enabled: Bool = True
    default_project_id: Id | None = None
    description: str | None = None
    options: dict[str, Any] | None = None

    def attributes(self, object_id: str | None = None) -> UserFields:
        return cast(UserFields, self.fields_and_extra(object_id))


class UserUpdate(Open):
    NOT_NULL = ("name", "enabled")

    name: Name | None = None
    domain_id: Id | None = None
    password: str | None = None
    enabled: Bool | None = None
    default_project_id: Id | None = None
    description: str | None = None
    options: dict[str, Any] | None = None

    def attributes(self, object_id: str | None = None) -> UserFields:
        return cast(UserFields, self.fields_and_extra(object_id))


class UserBody(Strict):
    user: UserCreate


class UserUpdateBody(Strict):
    user: UserUpdate


class PasswordChange(Strict):
    original_password: str
    password: str


class PasswordBody(Strict):
    user: PasswordChange


# -- groups ----------------------------------------------------------------------------------


class GroupCreate(Open):
    name: Name
    domain_id: Id | None = None
    description: str | None = None

    def attributes(self, object_id: str | None = None) -> GroupFields:
        return cast(GroupFields, self.fields_and_extra(object_id))


class GroupUpdate(Open):
    NOT_NULL = ("name",)

    name: Name | None = None
    domain_id: Id | None = None
    description: str | None = None

    def attributes(self, object_id: str | None = None) -> GroupFields:
        return cast(GroupFields, self.fields_and_extra(object_id))


class GroupBody(Strict):
    group: GroupCreate


class GroupUpdateBody(Strict):
    group: GroupUpdate


# -- projects --------------------------------------------------------------------------------


class ProjectCreate(Open):
    name: ShortName
    domain_id: Id | None = None
    parent_id: Id | None = None
    description: str | None = None
    enabled: Bool = True
    is_domain: Bool = False
    tags: list[str] = Field(default_factory=list)

    def attributes(self, object_id: str | None = None) -> ProjectFields:
        return cast(ProjectFields, self.fields_and_extra(object_id))


class ProjectUpdate(Open):
    NOT_NULL = ("name", "enabled")

    name: ShortName | None = None
    domain_id: Id | None = None
    parent_id: Id | None = None
    description: str | None = None
    enabled: Bool | None = None
    is_domain: Bool | None = None
    tags: list[str] | None = None

    def attributes(self, object_id: str | None = None) -> ProjectFields:
        return cast(ProjectFields, self.fields_and_extra(object_id))


class ProjectBody(Strict):
    project: ProjectCreate


class ProjectUpdateBody(Strict):
    project: ProjectUpdate


class TagsBody(Strict):
    tags: list[str]


# -- domains ---------------------------------------------------------------------------------


class DomainCreate(Open):
    name: ShortName
    description: str | None = None
    enabled: Bool = True
    explicit_domain_id: Id | None = None
    tags: list[str] = Field(default_factory=list)

    def attributes(self, object_id: str | None = None) -> DomainFields:
        return cast(DomainFields, self.fields_and_extra(object_id))


class DomainUpdate(Open):
    NOT_NULL = ("name", "enabled")

    name: ShortName | None = None
    description: str | None = None
    enabled: Bool | None = None
    tags: list[str] | None = None

    def attributes(self, object_id: str | None = None) -> DomainFields:
        return cast(DomainFields, self.fields_and_extra(object_id))


class DomainBody(Strict):
    domain: DomainCreate


class DomainUpdateBody(Strict):
    domain: DomainUpdate


# -- roles -----------------------------------------------------------------------------------


class RoleCreate(Open):
    name: Name
    domain_id: Id | None = None
    description: str | None = None
    options: dict[str, Any] | None = None

    def attributes(self, object_id: str | None = None) -> RoleFields:
        return cast(RoleFields, self.fields_and_extra(object_id))


class RoleUpdate(Open):
    NOT_NULL = ("name",)

    name: Name | None = None
    domain_id: Id | None = None
    description: str | None = None
    options: dict[str, Any] | None = None

    def attributes(self, object_id: str | None = None) -> RoleFields:
        return cast(RoleFields, self.fields_and_extra(object_id))


class RoleBody(Strict):
    role: RoleCreate


class RoleUpdateBody(Strict):
    role: RoleUpdate


# -- application_credentials -----------------------------------------------------------------


class RoleRef(Strict):
    id: Id | None = None
    name: Name | None = None
    domain_id: Id | None = None


AccessRuleMethod = Literal["DELETE", "GET", "HEAD", "PATCH", "POST", "PUT"]


class AccessRuleIn(RequestBody):
    """An access rule of a new application credential (upstream ignores unknown keys)."""

    model_config = ConfigDict(extra="ignore")

    id: Id | None = None
    service: Id | None = None
    path: str | None = Field(None, max_length=225, pattern=r"^/")
    method: AccessRuleMethod | None = None


class AppCredCreate(Strict):
    name: Name
    secret: str | None = Field(None, min_length=1)
    description: str | None = None
    expires_at: datetime | None = None
    roles: list[RoleRef] | None = None
    unrestricted: Bool = False
    access_rules: list[AccessRuleIn] | None = None

    def attributes(self) -> AppCredFields:
        data = self.model_dump(exclude_unset=True)
        if self.roles is not None:
            data["roles"] = [r.model_dump(exclude_none=True) for r in self.roles]
        if self.access_rules is not None:
            data["access_rules"] = [r.model_dump(exclude_none=True) for r in self.access_rules]
        return cast(AppCredFields, data)


class AppCredBody(Strict):
    application_credential: AppCredCreate


# -- domain configuration --------------------------------------------------------------------


class DomainConfigBody(_Loose):
    """``{"config": {group: {option: value}}}``; the service layer checks the groups and
    options (403 for one a domain may not set, as upstream)."""

    config: dict[str, Any] = Field(default_factory=dict)
