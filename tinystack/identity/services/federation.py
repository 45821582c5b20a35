"""``OS-FEDERATION`` resources: identity providers (with their remote ids and protocols),
mappings and service providers.

As upstream: an identity provider without a ``domain_id`` gets a domain of its own; a
remote id belongs to one identity provider (409); a protocol names an existing mapping
(400 otherwise); deleting an identity provider deletes its protocols and the users it
brought in (their tokens are revoked).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypedDict

import sqlalchemy as sa
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tinystack.common.auth.revocation import RevocationEvent
from tinystack.common.exceptions import Conflict, Forbidden, NotFound, ValidationError
from tinystack.common.timeutils import new_hex_id
from tinystack.identity import models
from tinystack.identity.services import mapping_rules, revoke
from tinystack.identity.services.deps import Deps


@dataclass(frozen=True, slots=True)
class IdentityProvider:
    id: str
    enabled: bool
    description: str | None
    domain_id: str
    authorization_ttl: int | None
    remote_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Protocol:
    id: str
    idp_id: str
    mapping_id: str
    remote_id_attribute: str | None


@dataclass(frozen=True, slots=True)
class Mapping:
    id: str
    rules: tuple[dict[str, Any], ...]
    schema_version: str


@dataclass(frozen=True, slots=True)
class AuthSetup:
    """What federated authentication through one provider and protocol needs."""

    idp_id: str
    protocol_id: str
    domain_id: str
    remote_ids: tuple[str, ...]
    remote_id_attribute: str | None
    mapping_id: str
    rules: tuple[dict[str, Any], ...]
    schema_version: str


@dataclass(frozen=True, slots=True)
class ServiceProvider:
    id: str
    auth_url: str
    sp_url: str
    description: str | None
    enabled: bool
    relay_state_prefix: str


class IdpFields(TypedDict, total=False):
    enabled: bool
    description: str | None
    domain_id: str | None
    authorization_ttl: int | None
    remote_ids: list[str] | None


class ProtocolFields(TypedDict, total=False):
    mapping_id: str
    remote_id_attribute: str | None


class MappingFields(TypedDict, total=False):
    rules: list[dict[str, Any]]
    schema_version: str | None


class SpFields(TypedDict, total=False):
    auth_url: str
    sp_url: str
    description: str | None
    enabled: bool
    relay_state_prefix: str | None


#: Keystone's [saml] relay_state_prefix default
RELAY_STATE_PREFIX = "ss:mem:"


def _idp(row: models.IdentityProvider) -> IdentityProvider:
    return IdentityProvider(
        id=row.id,
        enabled=row.enabled,
        description=row.description,
        domain_id=row.domain_id,
        authorization_ttl=row.authorization_ttl,
        remote_ids=tuple(r.remote_id for r in row.remote_ids),
    )


def _protocol(row: models.FederationProtocol) -> Protocol:
    return Protocol(
        id=row.id,
        idp_id=row.idp_id,
        mapping_id=row.mapping_id,
        remote_id_attribute=row.remote_id_attribute,
    )


def _mapping(row: models.Mapping) -> Mapping:
    return Mapping(id=row.id, rules=tuple(row.rules), schema_version=row.schema_version)


def _sp(row: models.ServiceProvider) -> ServiceProvider:
    return ServiceProvider(
        id=row.id,
        auth_url=row.auth_url,
        sp_url=row.sp_url,
        description=row.description,
        enabled=row.enabled,
        relay_state_prefix=row.relay_state_prefix,
    )


def _idp_row(session: Session, idp_id: str) -> models.IdentityProvider:
    row = session.get(models.IdentityProvider, idp_id)
    if row is None:
        raise NotFound(f"Could not find Identity Provider: {idp_id}.")
    return row


def _protocol_row(session: Session, idp_id: str, protocol_id: str) -> models.FederationProtocol:
    row = session.get(models.FederationProtocol, (protocol_id, idp_id))
    if row is None:
        raise NotFound(
            f"Could not find federated protocol {protocol_id} for Identity Provider: {idp_id}."
        )
    return row


def _mapping_row(session: Session, mapping_id: str) -> models.Mapping:
    row = session.get(models.Mapping, mapping_id)
    if row is None:
        raise NotFound(f"Could not find mapping: {mapping_id}.")
    return row


def _sp_row(session: Session, sp_id: str) -> models.ServiceProvider:
    row = session.get(models.ServiceProvider, sp_id)
    if row is None:
        raise NotFound(f"Could not find Service Provider: {sp_id}.")
    return row


def _set_remote_ids(session: Session, row: models.IdentityProvider, remote_ids: list[str]) -> None:
    wanted = list(dict.fromkeys(remote_ids))
    for remote_id in wanted:
        owner = session.get(models.IdpRemoteId, remote_id)
        if owner is not None and owner.idp_id != row.id:
            raise Conflict(
                "Conflict occurred attempting to store identity_provider - Duplicate remote "
                f"ID: {remote_id}."
            )
    row.remote_ids = [r for r in row.remote_ids if r.remote_id in wanted]
    have = {r.remote_id for r in row.remote_ids}
    for remote_id in wanted:
        if remote_id not in have:
            row.remote_ids.append(models.IdpRemoteId(remote_id=remote_id, idp_id=row.id))


def auth_setup(deps: Deps, idp_id: str, protocol_id: str) -> AuthSetup:
    """The provider, protocol and mapping of a federated authentication (404 for an
    unknown one, 403 for a disabled provider)."""
    with deps.db.reader() as session:
        idp = _idp_row(session, idp_id)
        protocol = _protocol_row(session, idp_id, protocol_id)
        mapping = _mapping_row(session, protocol.mapping_id)
        if not idp.enabled:
            raise Forbidden(f"Identity Provider {idp_id} is disabled.")
        return AuthSetup(
            idp_id=idp.id,
            protocol_id=protocol.id,
            domain_id=idp.domain_id,
            remote_ids=tuple(r.remote_id for r in idp.remote_ids),
            remote_id_attribute=protocol.remote_id_attribute,
            mapping_id=mapping.id,
            rules=tuple(mapping.rules),
            schema_version=mapping.schema_version,
        )


# -- identity providers -----------------------------------------------------------------------


def create_idp(deps: Deps, idp_id: str, data: IdpFields) -> IdentityProvider:
    def tx(session: Session) -> IdentityProvider:
        if session.get(models.IdentityProvider, idp_id) is not None:
            raise Conflict(
                f"Conflict occurred attempting to store identity_provider - Duplicate entry: "
                f"{idp_id}."
            )
        domain_id = data.get("domain_id")
        if domain_id is None:
            domain_id = new_hex_id()
            session.add(
                models.Domain(
                    id=domain_id,
                    name=domain_id,
                    enabled=True,
                    description=f"Auto generated federated domain for Identity Provider: {idp_id}",
                    extra={},
                    tags=[],
                )
            )
        elif session.get(models.Domain, domain_id) is None:
            raise ValidationError(f"Could not find domain: {domain_id}.")
        row = models.IdentityProvider(
            id=idp_id,
            enabled=data.get("enabled", False),
            description=data.get("description"),
            domain_id=domain_id,
            authorization_ttl=data.get("authorization_ttl"),
        )
        session.add(row)
        session.flush()
        _set_remote_ids(session, row, data.get("remote_ids") or [])
        session.flush()
        return _idp(row)

    try:
        return deps.db.write(tx)
    except IntegrityError:
        raise Conflict("Conflict occurred attempting to store identity_provider.") from None


def list_idps(deps: Deps, idp_id: str | None, enabled: bool | None) -> list[IdentityProvider]:
    with deps.db.reader() as session:
        query = select(models.IdentityProvider).order_by(models.IdentityProvider.id)
        if idp_id is not None:
            query = query.where(models.IdentityProvider.id == idp_id)
        if enabled is not None:
            query = query.where(models.IdentityProvider.enabled == enabled)
        return [_idp(r) for r in session.scalars(query)]


def get_idp(deps: Deps, idp_id: str) -> IdentityProvider:
    with deps.db.reader() as session:
        return _idp(_idp_row(session, idp_id))


def update_idp(deps: Deps, idp_id: str, data: IdpFields) -> IdentityProvider:
    def tx(session: Session) -> tuple[IdentityProvider, list[RevocationEvent]]:
        row = _idp_row(session, idp_id)
        events: list[RevocationEvent] = []
        if "enabled" in data:
            if row.enabled and not data["enabled"]:
                events = _revoke_users(session, idp_id)
            row.enabled = data["enabled"]
        for key in ("description", "authorization_ttl"):
            if key in data:
                setattr(row, key, data[key])
        if "remote_ids" in data:
            _set_remote_ids(session, row, data["remote_ids"] or [])
        session.flush()
        return _idp(row), events

    try:
        idp, events = deps.db.write(tx)
    except IntegrityError:
        raise Conflict("Conflict occurred attempting to store identity_provider.") from None
    revoke.publish(deps, events)
    return idp


def _revoke_users(session: Session, idp_id: str) -> list[RevocationEvent]:
    users = session.scalars(
        select(models.FederatedUser.user_id).where(models.FederatedUser.idp_id == idp_id)
    )
    return [revoke.record(session, user_id=user_id) for user_id in set(users)]


def delete_idp(deps: Deps, idp_id: str) -> None:
    def tx(session: Session) -> list[RevocationEvent]:
        row = _idp_row(session, idp_id)
        events = _revoke_users(session, idp_id)
        user_ids = list(
            session.scalars(
                select(models.FederatedUser.user_id).where(models.FederatedUser.idp_id == idp_id)
            )
        )
        session.execute(
            sa.delete(models.FederationProtocol).where(models.FederationProtocol.idp_id == idp_id)
        )
        session.execute(
            sa.delete(models.FederatedUser).where(models.FederatedUser.idp_id == idp_id)
        )
        if user_ids:
            for model in (models.Assignment,):
                session.execute(sa.delete(model).where(model.actor_id.in_(user_ids)))
            session.execute(sa.delete(models.User).where(models.User.id.in_(user_ids)))
        session.delete(row)
        return events

    revoke.publish(deps, deps.db.write(tx))
    deps.clear_caches()


# -- protocols --------------------------------------------------------------------------------


def create_protocol(deps: Deps, idp_id: str, protocol_id: str, data: ProtocolFields) -> Protocol:
    def tx(session: Session) -> Protocol:
        _idp_row(session, idp_id)
        if session.get(models.Mapping, data["mapping_id"]) is None:
            raise ValidationError(f"Could not find mapping: {data['mapping_id']}.")
        if session.get(models.FederationProtocol, (protocol_id, idp_id)) is not None:
            raise Conflict(
                f"Conflict occurred attempting to store federation_protocol - Duplicate entry: "
                f"{protocol_id}."
            )
        row = models.FederationProtocol(
            id=protocol_id,
            idp_id=idp_id,
            mapping_id=data["mapping_id"],
            remote_id_attribute=data.get("remote_id_attribute"),
        )
        session.add(row)
        session.flush()
        return _protocol(row)

    try:
        return deps.db.write(tx)
    except IntegrityError:
        raise Conflict("Conflict occurred attempting to store federation_protocol.") from None


def list_protocols(deps: Deps, idp_id: str) -> list[Protocol]:
    with deps.db.reader() as session:
        _idp_row(session, idp_id)
        query = (
            select(models.FederationProtocol)
            .where(models.FederationProtocol.idp_id == idp_id)
            .order_by(models.FederationProtocol.id)
        )
        return [_protocol(r) for r in session.scalars(query)]


def get_protocol(deps: Deps, idp_id: str, protocol_id: str) -> Protocol:
    with deps.db.reader() as session:
        return _protocol(_protocol_row(session, idp_id, protocol_id))


def update_protocol(deps: Deps, idp_id: str, protocol_id: str, data: ProtocolFields) -> Protocol:
    def tx(session: Session) -> Protocol:
        row = _protocol_row(session, idp_id, protocol_id)
        if "mapping_id" in data:
            if session.get(models.Mapping, data["mapping_id"]) is None:
                raise ValidationError(f"Could not find mapping: {data['mapping_id']}.")
            row.mapping_id = data["mapping_id"]
        if "remote_id_attribute" in data:
            row.remote_id_attribute = data["remote_id_attribute"]
        session.flush()
        return _protocol(row)

    return deps.db.write(tx)


def delete_protocol(deps: Deps, idp_id: str, protocol_id: str) -> None:
    def tx(session: Session) -> None:
        session.delete(_protocol_row(session, idp_id, protocol_id))

    deps.db.write(tx)


# -- mappings ---------------------------------------------------------------------------------


def create_mapping(deps: Deps, mapping_id: str, data: MappingFields) -> Mapping:
    mapping_rules.validate(data.get("rules"), data.get("schema_version"))

    def tx(session: Session) -> Mapping:
        if session.get(models.Mapping, mapping_id) is not None:
            raise Conflict(
                f"Conflict occurred attempting to store mapping - Duplicate entry: {mapping_id}."
            )
        row = models.Mapping(
            id=mapping_id,
            rules=list(data["rules"]),
            schema_version=data.get("schema_version") or "1.0",
        )
        session.add(row)
        session.flush()
        return _mapping(row)

    try:
        return deps.db.write(tx)
    except IntegrityError:
        raise Conflict("Conflict occurred attempting to store mapping.") from None


def list_mappings(deps: Deps) -> list[Mapping]:
    with deps.db.reader() as session:
        return [_mapping(r) for r in session.scalars(select(models.Mapping).order_by("id"))]


def get_mapping(deps: Deps, mapping_id: str) -> Mapping:
    with deps.db.reader() as session:
        return _mapping(_mapping_row(session, mapping_id))


def update_mapping(deps: Deps, mapping_id: str, data: MappingFields) -> Mapping:
    def tx(session: Session) -> Mapping:
        row = _mapping_row(session, mapping_id)
        version = data.get("schema_version") or row.schema_version
        rules = data["rules"] if "rules" in data else row.rules
        mapping_rules.validate(rules, version)
        row.rules = list(rules)
        row.schema_version = version
        session.flush()
        return _mapping(row)

    return deps.db.write(tx)


def delete_mapping(deps: Deps, mapping_id: str) -> None:
    def tx(session: Session) -> None:
        session.delete(_mapping_row(session, mapping_id))

    deps.db.write(tx)


# -- service providers ------------------------------------------------------------------------


def create_sp(deps: Deps, sp_id: str, data: SpFields) -> ServiceProvider:
    def tx(session: Session) -> ServiceProvider:
        if session.get(models.ServiceProvider, sp_id) is not None:
            raise Conflict(
                f"Conflict occurred attempting to store service_provider - Duplicate entry: "
                f"{sp_id}."
            )
        row = models.ServiceProvider(
            id=sp_id,
            auth_url=data["auth_url"],
            sp_url=data["sp_url"],
            description=data.get("description"),
            enabled=data.get("enabled", False),
            relay_state_prefix=data.get("relay_state_prefix") or RELAY_STATE_PREFIX,
        )
        session.add(row)
        session.flush()
        return _sp(row)

    try:
        return deps.db.write(tx)
    except IntegrityError:
        raise Conflict("Conflict occurred attempting to store service_provider.") from None


def list_sps(deps: Deps, sp_id: str | None, enabled: bool | None) -> list[ServiceProvider]:
    with deps.db.reader() as session:
        query = select(models.ServiceProvider).order_by(models.ServiceProvider.id)
        if sp_id is not None:
            query = query.where(models.ServiceProvider.id == sp_id)
        if enabled is not None:
            query = query.where(models.ServiceProvider.enabled == enabled)
        return [_sp(r) for r in session.scalars(query)]


def get_sp(deps: Deps, sp_id: str) -> ServiceProvider:
    with deps.db.reader() as session:
        return _sp(_sp_row(session, sp_id))


def update_sp(deps: Deps, sp_id: str, data: SpFields) -> ServiceProvider:
    def tx(session: Session) -> ServiceProvider:
        row = _sp_row(session, sp_id)
        for key in ("auth_url", "sp_url", "description", "enabled", "relay_state_prefix"):
            if key in data:
                setattr(row, key, data[key])
        session.flush()
        return _sp(row)

    return deps.db.write(tx)


def delete_sp(deps: Deps, sp_id: str) -> None:
    def tx(session: Session) -> None:
        session.delete(_sp_row(session, sp_id))

    deps.db.write(tx)
