"""Request bodies of the delegation APIs (trusts, credentials and EC2, OAuth1, endpoint
filters, policies), in the style of ``schemas.py`` (whose size they would push over the
module limit): unknown attributes of trusts, credentials, consumers and policies are kept,
as upstream keeps them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, cast

from pydantic import ConfigDict, Field, StrictStr, model_validator

from tinystack.common.exceptions import ValidationError
from tinystack.identity.api.schemas import (
    Bool,
    Id,
    Interface,
    Name,
    Open,
    RequestBody,
    Strict,
)
from tinystack.identity.services.credentials import CredentialFields
from tinystack.identity.services.endpoint_filters import EndpointGroupFields
from tinystack.identity.services.policies import PolicyFields
from tinystack.identity.services.records import RoleSpec
from tinystack.identity.services.trusts import TrustFields

# -- trusts ----------------------------------------------------------------------------------


class TrustRoleRef(Strict):
    """A delegated role: exactly one of id and name."""

    id: Id | None = None
    name: Name | None = None

    @model_validator(mode="after")
    def _one(self) -> TrustRoleRef:
        if (self.id is None) == (self.name is None):
            raise ValueError("a trust role names exactly one of id and name")
        return self


class TrustCreate(Open):
    trustor_user_id: StrictStr
    trustee_user_id: StrictStr
    impersonation: Bool
    project_id: StrictStr | None = None
    remaining_uses: Annotated[int, Field(ge=1, strict=True)] | None = None
    expires_at: datetime | None = None
    allow_redelegation: Bool | None = None
    redelegation_count: Annotated[int, Field(ge=0, strict=True)] | None = None
    roles: list[TrustRoleRef] = Field(default_factory=list)

    def fields(self) -> TrustFields:
        extra = {k: v for k, v in (self.model_extra or {}).items() if k not in ("id", "links")}
        return TrustFields(
            trustor_user_id=self.trustor_user_id,
            trustee_user_id=self.trustee_user_id,
            impersonation=self.impersonation,
            project_id=self.project_id,
            roles=tuple(cast(RoleSpec, r.model_dump(exclude_none=True)) for r in self.roles),
            expires_at=self.expires_at,
            remaining_uses=self.remaining_uses,
            allow_redelegation=bool(self.allow_redelegation),
            redelegation_count=self.redelegation_count,
            extra=extra,
        )


class TrustBody(Strict):
    trust: TrustCreate


# -- credentials -----------------------------------------------------------------------------


class CredentialCreate(Open):
    blob: StrictStr
    type: Annotated[StrictStr, Field(min_length=1, max_length=255)]
    user_id: Id
    project_id: Id | None = None

    def fields(self) -> CredentialFields:
        data = self.fields_and_extra()
        extra = data.pop("extra", {})
        return CredentialFields(**data, extra=extra, given=frozenset(data))


class CredentialUpdate(Open):
    NOT_NULL = ("blob", "type", "user_id")

    blob: StrictStr | None = None
    type: Annotated[StrictStr, Field(min_length=1, max_length=255)] | None = None
    user_id: Id | None = None
    project_id: Id | None = None

    def fields(self, credential_id: str) -> CredentialFields:
        data = self.fields_and_extra(credential_id)
        if "id" in data:
            raise ValidationError("Cannot change ID")
        extra = data.pop("extra", {})
        if not data and not extra:
            raise ValidationError("The credential update needs at least one attribute.")
        return CredentialFields(**data, extra=extra, given=frozenset(data))


class CredentialBody(Strict):
    credential: CredentialCreate


class CredentialUpdateBody(Strict):
    credential: CredentialUpdate


class _Lenient(RequestBody):
    """Bodies upstream reads a few keys of, ignoring the rest."""

    model_config = ConfigDict(extra="allow")


class Ec2CredentialBody(_Lenient):
    tenant_id: Id | None = None


class Ec2TokensBody(_Lenient):
    """What was signed and the signature (upstream takes any of three keys)."""

    credentials: dict[str, Any] | None = None
    credential: dict[str, Any] | None = None
    ec2Credentials: dict[str, Any] | None = None


# -- OAuth1 ----------------------------------------------------------------------------------


class ConsumerCreate(Open):
    description: StrictStr | None = None

    def extra(self) -> dict[str, Any]:
        return dict(self.fields_and_extra().get("extra") or {})


class ConsumerUpdate(Open):
    description: StrictStr | None = None

    def extra(self, consumer_id: str) -> dict[str, Any]:
        data = self.fields_and_extra(consumer_id)
        if "id" in data:
            raise ValidationError("Cannot change ID")
        extra = dict(data.get("extra") or {})
        if "secret" in extra:
            raise ValidationError("Cannot change the secret of a consumer.")
        if not extra and "description" not in data:
            raise ValidationError("The consumer update needs at least one attribute.")
        return extra


class ConsumerBody(Strict):
    consumer: ConsumerCreate = Field(default_factory=lambda: ConsumerCreate.model_validate({}))


class ConsumerUpdateBody(Strict):
    consumer: ConsumerUpdate


class AuthorizeBody(Strict):
    roles: list[TrustRoleRef]

    def specs(self) -> list[RoleSpec]:
        return [cast(RoleSpec, r.model_dump(exclude_none=True)) for r in self.roles]


# -- endpoint filters and policies -----------------------------------------------------------


class EndpointGroupFilters(Strict):
    """Endpoint attributes a group selects by (upstream also lists ``enabled``, which its
    API then refuses)."""

    model_config = ConfigDict(extra="allow")

    interface: Interface | None = None
    service_id: StrictStr | None = None
    region_id: StrictStr | None = None


class EndpointGroupCreate(Strict):
    name: Name
    description: StrictStr | None = None
    filters: EndpointGroupFilters

    def fields(self) -> EndpointGroupFields:
        filters = self.filters.model_dump(exclude_none=True)
        return EndpointGroupFields(
            name=self.name,
            description=self.description,
            filters={k: str(v) for k, v in filters.items()},
            given=frozenset(self.model_fields_set),
        )


class EndpointGroupUpdate(Strict):
    name: Name | None = None
    description: StrictStr | None = None
    filters: EndpointGroupFilters | None = None

    def fields(self) -> EndpointGroupFields:
        if not self.model_fields_set:
            raise ValidationError("The endpoint group update needs at least one attribute.")
        filters = self.filters.model_dump(exclude_none=True) if self.filters else None
        return EndpointGroupFields(
            name=self.name,
            description=self.description,
            filters={k: str(v) for k, v in filters.items()} if filters is not None else None,
            given=frozenset(self.model_fields_set),
        )


class EndpointGroupBody(Strict):
    endpoint_group: EndpointGroupCreate


class EndpointGroupUpdateBody(Strict):
    endpoint_group: EndpointGroupUpdate


class PolicyCreate(Open):
    blob: StrictStr
    type: Annotated[StrictStr, Field(max_length=255)]

    def fields(self) -> PolicyFields:
        data = self.fields_and_extra()
        return PolicyFields(type=self.type, blob=self.blob, extra=data.get("extra") or {})


class PolicyUpdate(Open):
    NOT_NULL = ("blob", "type")

    blob: StrictStr | None = None
    type: Annotated[StrictStr, Field(max_length=255)] | None = None

    def fields(self, policy_id: str) -> PolicyFields:
        data = self.fields_and_extra(policy_id)
        if "id" in data:
            raise ValidationError("Cannot change ID")
        if not data:
            raise ValidationError("The policy update needs at least one attribute.")
        return PolicyFields(type=self.type, blob=self.blob, extra=data.get("extra") or {})


class PolicyBody(Strict):
    policy: PolicyCreate


class PolicyUpdateBody(Strict):
    policy: PolicyUpdate
