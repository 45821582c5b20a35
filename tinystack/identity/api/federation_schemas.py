"""Request bodies of the ``OS-FEDERATION`` API (identity providers, protocols, mappings,
service providers); the rest of identity's bodies are in ``schemas.py``."""

from __future__ import annotations

from typing import Annotated, Any, cast

from pydantic import ConfigDict, Field, StrictStr

from tinystack.identity.api.schemas import Bool, Id, RequestBody, Strict
from tinystack.identity.services.federation import (
    IdpFields,
    MappingFields,
    ProtocolFields,
    SpFields,
)

# -- federation ------------------------------------------------------------------------------

RemoteId = Annotated[StrictStr, Field(min_length=1, max_length=255)]
Url = Annotated[StrictStr, Field(min_length=1, pattern=r"^[a-zA-Z0-9+.-]+://")]


class IdpCreate(Strict):
    #: the id is the URL's; clients may repeat it
    id: StrictStr | None = None
    enabled: Bool = False
    description: str | None = None
    domain_id: Id | None = None
    authorization_ttl: Annotated[int, Field(strict=True, ge=0)] | None = None
    remote_ids: list[RemoteId] | None = None

    def attributes(self) -> IdpFields:
        return cast(IdpFields, self.model_dump(exclude_unset=True, exclude={"id"}))


class IdpUpdate(Strict):
    NOT_NULL = ("enabled",)

    enabled: Bool | None = None
    description: str | None = None
    authorization_ttl: Annotated[int, Field(strict=True, ge=0)] | None = None
    remote_ids: list[RemoteId] | None = None

    def attributes(self) -> IdpFields:
        return cast(IdpFields, self.model_dump(exclude_unset=True))


class IdpBody(Strict):
    identity_provider: IdpCreate = Field(default_factory=lambda: IdpCreate.model_validate({}))


class IdpUpdateBody(Strict):
    identity_provider: IdpUpdate


class ProtocolCreate(Strict):
    #: the id is the URL's; clients may repeat it
    id: StrictStr | None = None
    mapping_id: Id = Field(min_length=1)
    remote_id_attribute: Annotated[StrictStr, Field(max_length=64)] | None = None

    def attributes(self) -> ProtocolFields:
        return cast(ProtocolFields, self.model_dump(exclude_unset=True, exclude={"id"}))


class ProtocolUpdate(Strict):
    NOT_NULL = ("mapping_id",)

    mapping_id: Id | None = None
    remote_id_attribute: Annotated[StrictStr, Field(max_length=64)] | None = None

    def attributes(self) -> ProtocolFields:
        return cast(ProtocolFields, self.model_dump(exclude_unset=True))


class ProtocolBody(Strict):
    protocol: ProtocolCreate


class ProtocolUpdateBody(Strict):
    protocol: ProtocolUpdate


class MappingCreate(RequestBody):
    """Upstream's mapping schema leaves other top-level keys alone (clients send the id)."""

    model_config = ConfigDict(extra="ignore")

    rules: list[Any]
    schema_version: StrictStr | None = None

    def attributes(self) -> MappingFields:
        return cast(MappingFields, self.model_dump(exclude_unset=True))


class MappingBody(Strict):
    mapping: MappingCreate


class SpCreate(Strict):
    #: the id is the URL's; clients may repeat it
    id: StrictStr | None = None
    auth_url: Url
    sp_url: Url
    description: str | None = None
    enabled: Bool = False
    relay_state_prefix: StrictStr | None = None

    def attributes(self) -> SpFields:
        return cast(SpFields, self.model_dump(exclude_unset=True, exclude={"id"}))


class SpUpdate(Strict):
    NOT_NULL = ("auth_url", "sp_url", "enabled")

    auth_url: Url | None = None
    sp_url: Url | None = None
    description: str | None = None
    enabled: Bool | None = None
    relay_state_prefix: StrictStr | None = None

    def attributes(self) -> SpFields:
        return cast(SpFields, self.model_dump(exclude_unset=True))


class SpBody(Strict):
    service_provider: SpCreate


class SpUpdateBody(Strict):
    service_provider: SpUpdate


# -- Keystone-to-Keystone: the body of /v3/auth/OS-FEDERATION/saml2[/ecp] ---------------------


class _SamlToken(Strict):
    id: Annotated[StrictStr, Field(min_length=1)]


class _SamlIdentity(Strict):
    methods: list[Annotated[StrictStr, Field(pattern=r"^token$")]] = Field(min_length=1)
    token: _SamlToken


class _SamlSp(Strict):
    id: Annotated[StrictStr, Field(min_length=1)]


class _SamlScope(Strict):
    service_provider: _SamlSp


class _SamlAuth(Strict):
    identity: _SamlIdentity
    scope: _SamlScope


class Saml2Body(Strict):
    """A token and the service provider the assertion is for (upstream's saml_create)."""

    auth: _SamlAuth
