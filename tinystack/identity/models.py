"""Identity tables."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

ID = String(64)
NAME = String(255)
#: microseconds on MySQL/MariaDB too (their DATETIME keeps whole seconds by default)
TIMESTAMP = DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
#: epoch seconds; Double, because MySQL's FLOAT is single precision (a ~2 minute step today)
EPOCH: Double[float] = Double()


class Base(DeclarativeBase):
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


class Domain(Base):
    __tablename__ = "domain"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(NAME, unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)


class Project(Base):
    __tablename__ = "project"
    __table_args__ = (UniqueConstraint("domain_id", "name"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(NAME)
    domain_id: Mapped[str] = mapped_column(ForeignKey("domain.id"), index=True)
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("project.id"), index=True)
    description: Mapped[str | None] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    tags: Mapped[list[ProjectTag]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="ProjectTag.name"
    )


class ProjectTag(Base):
    __tablename__ = "project_tag"
    project_id: Mapped[str] = mapped_column(
        ForeignKey("project.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(255), primary_key=True)


class User(Base):
    __tablename__ = "user"
    __table_args__ = (UniqueConstraint("domain_id", "name"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(NAME)
    domain_id: Mapped[str] = mapped_column(ForeignKey("domain.id"), index=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    password_created_at: Mapped[datetime | None] = mapped_column(TIMESTAMP)
    password_expires_at: Mapped[datetime | None] = mapped_column(TIMESTAMP)
    default_project_id: Mapped[str | None] = mapped_column(ID)
    description: Mapped[str | None] = mapped_column(Text)
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(TIMESTAMP)
    last_active_at: Mapped[datetime | None] = mapped_column(TIMESTAMP)
    #: whether the user set the current password (self-service; minimum_password_age)
    password_self_service: Mapped[bool] = mapped_column(Boolean, default=False)
    #: failed password authentications in a row, and when the last one was (lockout)
    failed_auth_count: Mapped[int] = mapped_column(Integer, default=0)
    failed_auth_at: Mapped[datetime | None] = mapped_column(TIMESTAMP)


class PasswordHistory(Base):
    """A user's earlier password hashes ([security_compliance] unique_last_password_count)."""

    __tablename__ = "password_history"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(TIMESTAMP)


class Group(Base):
    __tablename__ = "group"
    __table_args__ = (UniqueConstraint("domain_id", "name"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(NAME)
    domain_id: Mapped[str] = mapped_column(ForeignKey("domain.id"), index=True)
    description: Mapped[str | None] = mapped_column(Text)
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class UserGroupMembership(Base):
    __tablename__ = "user_group_membership"
    user_id: Mapped[str] = mapped_column(
        ForeignKey("user.id", ondelete="CASCADE"), primary_key=True
    )
    group_id: Mapped[str] = mapped_column(
        ForeignKey("group.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class Role(Base):
    __tablename__ = "role"
    __table_args__ = (UniqueConstraint("name", "domain_id"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(NAME)
    #: NULL for global roles; a domain id for domain-specific roles
    domain_id: Mapped[str | None] = mapped_column(ID)
    description: Mapped[str | None] = mapped_column(Text)
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class ImpliedRole(Base):
    __tablename__ = "implied_role"
    prior_role_id: Mapped[str] = mapped_column(
        ForeignKey("role.id", ondelete="CASCADE"), primary_key=True
    )
    implied_role_id: Mapped[str] = mapped_column(
        ForeignKey("role.id", ondelete="CASCADE"), primary_key=True
    )


class Assignment(Base):
    """A role granted to an actor (user or group) on a target (project, domain, system)."""

    __tablename__ = "assignment"
    __table_args__ = (Index("ix_assignment_target", "target_id"),)
    #: UserProject, GroupProject, UserDomain, GroupDomain, UserSystem, GroupSystem
    type: Mapped[str] = mapped_column(String(16), primary_key=True)
    actor_id: Mapped[str] = mapped_column(ID, primary_key=True)
    target_id: Mapped[str] = mapped_column(ID, primary_key=True)
    role_id: Mapped[str] = mapped_column(
        ForeignKey("role.id", ondelete="CASCADE"), primary_key=True
    )
    inherited: Mapped[bool] = mapped_column(Boolean, primary_key=True, default=False)


class Region(Base):
    __tablename__ = "region"
    id: Mapped[str] = mapped_column(NAME, primary_key=True)
    description: Mapped[str] = mapped_column(Text, default="")
    parent_region_id: Mapped[str | None] = mapped_column(NAME)
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Service(Base):
    __tablename__ = "service"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    type: Mapped[str] = mapped_column(NAME)
    name: Mapped[str | None] = mapped_column(NAME)
    description: Mapped[str | None] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Endpoint(Base):
    __tablename__ = "endpoint"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    service_id: Mapped[str] = mapped_column(
        ForeignKey("service.id", ondelete="CASCADE"), index=True
    )
    interface: Mapped[str] = mapped_column(String(8))
    url: Mapped[str] = mapped_column(Text)
    region_id: Mapped[str | None] = mapped_column(ForeignKey("region.id"))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class ApplicationCredential(Base):
    __tablename__ = "application_credential"
    __table_args__ = (UniqueConstraint("user_id", "name"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(NAME)
    user_id: Mapped[str] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[str | None] = mapped_column(ID)
    secret_hash: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    expires_at: Mapped[datetime | None] = mapped_column(TIMESTAMP)
    unrestricted: Mapped[bool] = mapped_column(Boolean, default=False)
    #: [{"id": ..., "name": ..., "domain_id": ...}] as granted at creation
    roles: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(TIMESTAMP)
    access_rules: Mapped[list[AccessRule]] = relationship(
        secondary="application_credential_access_rule", lazy="selectin", order_by="AccessRule.id"
    )


class RevocationEvent(Base):
    __tablename__ = "revocation_event"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    issued_before: Mapped[float] = mapped_column(EPOCH, index=True)
    revoked_at: Mapped[float] = mapped_column(EPOCH, index=True)
    user_id: Mapped[str | None] = mapped_column(ID)
    project_id: Mapped[str | None] = mapped_column(ID)
    domain_id: Mapped[str | None] = mapped_column(ID)
    role_id: Mapped[str | None] = mapped_column(ID)
    audit_id: Mapped[str | None] = mapped_column(String(32))
    audit_chain_id: Mapped[str | None] = mapped_column(String(32))
    app_cred_id: Mapped[str | None] = mapped_column(ID)
    trust_id: Mapped[str | None] = mapped_column(ID)
    consumer_id: Mapped[str | None] = mapped_column(ID)
    access_token_id: Mapped[str | None] = mapped_column(ID)


# -- domain-specific configuration and directory-backed identities -----------------------------


class DomainConfig(Base):
    """One option of a domain's configuration (groups ``identity`` and ``ldap``)."""

    __tablename__ = "domain_config"
    domain_id: Mapped[str] = mapped_column(
        ForeignKey("domain.id", ondelete="CASCADE"), primary_key=True
    )
    group: Mapped[str] = mapped_column(String(255), primary_key=True)
    option: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    #: never shown by the API (the LDAP bind password)
    sensitive: Mapped[bool] = mapped_column(Boolean, default=False)


class IdMapping(Base):
    """The public id of a user or group that lives in a domain's directory (LDAP)."""

    __tablename__ = "id_mapping"
    __table_args__ = (UniqueConstraint("domain_id", "local_id", "entity_type"),)
    public_id: Mapped[str] = mapped_column(ID, primary_key=True)
    domain_id: Mapped[str] = mapped_column(ForeignKey("domain.id", ondelete="CASCADE"))
    #: the entry's id attribute in the directory
    local_id: Mapped[str] = mapped_column(String(255))
    #: "user" | "group"
    entity_type: Mapped[str] = mapped_column(String(8))


# -- unified limits ----------------------------------------------------------------------------


class RegisteredLimit(Base):
    __tablename__ = "registered_limit"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    service_id: Mapped[str] = mapped_column(ID, index=True)
    region_id: Mapped[str | None] = mapped_column(NAME)
    resource_name: Mapped[str] = mapped_column(NAME)
    default_limit: Mapped[int] = mapped_column(Integer)
    description: Mapped[str | None] = mapped_column(Text)
    #: service/region/resource: one registered limit each
    unique_key: Mapped[str] = mapped_column(String(600), unique=True)


class Limit(Base):
    __tablename__ = "limit"
    __table_args__ = (UniqueConstraint("registered_limit_id", "target_id"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    registered_limit_id: Mapped[str] = mapped_column(ForeignKey("registered_limit.id"), index=True)
    project_id: Mapped[str | None] = mapped_column(ID, index=True)
    domain_id: Mapped[str | None] = mapped_column(ID, index=True)
    #: the project or domain id (one limit per registered limit and target)
    target_id: Mapped[str] = mapped_column(ID)
    resource_limit: Mapped[int] = mapped_column(Integer)
    description: Mapped[str | None] = mapped_column(Text)


# -- federation --------------------------------------------------------------------------------


class IdentityProvider(Base):
    __tablename__ = "identity_provider"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    description: Mapped[str | None] = mapped_column(Text)
    domain_id: Mapped[str] = mapped_column(ForeignKey("domain.id"))
    authorization_ttl: Mapped[int | None] = mapped_column(Integer)
    remote_ids: Mapped[list[IdpRemoteId]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="IdpRemoteId.remote_id"
    )


class IdpRemoteId(Base):
    __tablename__ = "idp_remote_id"
    #: unique across identity providers, as upstream
    remote_id: Mapped[str] = mapped_column(NAME, primary_key=True)
    idp_id: Mapped[str] = mapped_column(
        ForeignKey("identity_provider.id", ondelete="CASCADE"), index=True
    )


class SamlAssertionSeen(Base):
    """A SAML 2.0 assertion this cloud accepted, kept until it expires: the replay cache
    (a second use of an assertion id by the same issuer is refused)."""

    __tablename__ = "saml_assertion_seen"
    issuer: Mapped[str] = mapped_column(NAME, primary_key=True)
    assertion_id: Mapped[str] = mapped_column(NAME, primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(TIMESTAMP, index=True)


class FederationProtocol(Base):
    __tablename__ = "federation_protocol"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    idp_id: Mapped[str] = mapped_column(
        ForeignKey("identity_provider.id", ondelete="CASCADE"), primary_key=True
    )
    mapping_id: Mapped[str] = mapped_column(ID)
    remote_id_attribute: Mapped[str | None] = mapped_column(NAME)


class Mapping(Base):
    __tablename__ = "mapping"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    rules: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    schema_version: Mapped[str] = mapped_column(String(5), default="1.0")


class ServiceProvider(Base):
    __tablename__ = "service_provider"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    auth_url: Mapped[str] = mapped_column(Text)
    sp_url: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    relay_state_prefix: Mapped[str] = mapped_column(Text)


class FederatedUser(Base):
    """A shadow user's link to the identity provider and protocol it came from."""

    __tablename__ = "federated_user"
    __table_args__ = (UniqueConstraint("idp_id", "protocol_id", "unique_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    idp_id: Mapped[str] = mapped_column(ForeignKey("identity_provider.id", ondelete="CASCADE"))
    protocol_id: Mapped[str] = mapped_column(ID)
    unique_id: Mapped[str] = mapped_column(NAME)
    display_name: Mapped[str | None] = mapped_column(NAME)


# -- delegation: access rules, trusts, OAuth1 ---------------------------------------------------


class AccessRule(Base):
    """A request a user's application credentials may be limited to (shared by them)."""

    __tablename__ = "access_rule"
    __table_args__ = (UniqueConstraint("user_id", "service", "path", "method"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    user_id: Mapped[str] = mapped_column(ID, index=True)
    service: Mapped[str] = mapped_column(ID)
    path: Mapped[str] = mapped_column(String(225))
    method: Mapped[str] = mapped_column(String(16))


class ApplicationCredentialAccessRule(Base):
    __tablename__ = "application_credential_access_rule"
    application_credential_id: Mapped[str] = mapped_column(
        ForeignKey("application_credential.id", ondelete="CASCADE"), primary_key=True
    )
    #: no cascade: an access rule in use cannot be deleted
    access_rule_id: Mapped[str] = mapped_column(
        ForeignKey("access_rule.id"), primary_key=True, index=True
    )


class Trust(Base):
    __tablename__ = "trust"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    trustor_user_id: Mapped[str] = mapped_column(ID, index=True)
    trustee_user_id: Mapped[str] = mapped_column(ID, index=True)
    project_id: Mapped[str | None] = mapped_column(ID, index=True)
    impersonation: Mapped[bool] = mapped_column(Boolean)
    expires_at: Mapped[datetime | None] = mapped_column(TIMESTAMP)
    remaining_uses: Mapped[int | None] = mapped_column(Integer)
    redelegated_trust_id: Mapped[str | None] = mapped_column(ID, index=True)
    redelegation_count: Mapped[int] = mapped_column(Integer, default=0)
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    roles: Mapped[list[TrustRole]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="TrustRole.role_id"
    )


class TrustRole(Base):
    __tablename__ = "trust_role"
    trust_id: Mapped[str] = mapped_column(
        ForeignKey("trust.id", ondelete="CASCADE"), primary_key=True
    )
    role_id: Mapped[str] = mapped_column(
        ForeignKey("role.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class Consumer(Base):
    __tablename__ = "consumer"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    description: Mapped[str | None] = mapped_column(Text)
    secret: Mapped[str] = mapped_column(ID)
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class RequestToken(Base):
    __tablename__ = "request_token"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    request_secret: Mapped[str] = mapped_column(ID)
    verifier: Mapped[str | None] = mapped_column(ID)
    authorizing_user_id: Mapped[str | None] = mapped_column(ID)
    requested_project_id: Mapped[str] = mapped_column(ID)
    role_ids: Mapped[list[str] | None] = mapped_column(JSON)
    consumer_id: Mapped[str] = mapped_column(
        ForeignKey("consumer.id", ondelete="CASCADE"), index=True
    )
    expires_at: Mapped[datetime | None] = mapped_column(TIMESTAMP)


class AccessToken(Base):
    __tablename__ = "access_token"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    access_secret: Mapped[str] = mapped_column(ID)
    authorizing_user_id: Mapped[str] = mapped_column(ID, index=True)
    project_id: Mapped[str] = mapped_column(ID, index=True)
    role_ids: Mapped[list[str]] = mapped_column(JSON)
    consumer_id: Mapped[str] = mapped_column(
        ForeignKey("consumer.id", ondelete="CASCADE"), index=True
    )
    expires_at: Mapped[datetime | None] = mapped_column(TIMESTAMP)


# -- credentials, endpoint filters, policies -----------------------------------------------------


class Credential(Base):
    """A user's credential; the blob is encrypted with the credential key repository."""

    __tablename__ = "credential"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    user_id: Mapped[str] = mapped_column(ID, index=True)
    project_id: Mapped[str | None] = mapped_column(ID, index=True)
    type: Mapped[str] = mapped_column(NAME)
    encrypted_blob: Mapped[str] = mapped_column(Text)
    #: a hash of the key that encrypted the blob (rotation refuses while old keys are in use)
    key_hash: Mapped[str] = mapped_column(ID)
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class EndpointGroup(Base):
    __tablename__ = "endpoint_group"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(NAME)
    description: Mapped[str | None] = mapped_column(Text)
    filters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class ProjectEndpoint(Base):
    __tablename__ = "project_endpoint"
    endpoint_id: Mapped[str] = mapped_column(
        ForeignKey("endpoint.id", ondelete="CASCADE"), primary_key=True
    )
    project_id: Mapped[str] = mapped_column(ID, primary_key=True, index=True)


class ProjectEndpointGroup(Base):
    __tablename__ = "project_endpoint_group"
    endpoint_group_id: Mapped[str] = mapped_column(
        ForeignKey("endpoint_group.id", ondelete="CASCADE"), primary_key=True
    )
    project_id: Mapped[str] = mapped_column(ID, primary_key=True, index=True)


class Policy(Base):
    __tablename__ = "policy"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    type: Mapped[str] = mapped_column(NAME)
    blob: Mapped[str] = mapped_column(Text)
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class PolicyAssociation(Base):
    """A policy for an endpoint, a service, or a service in a region (OS-ENDPOINT-POLICY)."""

    __tablename__ = "policy_association"
    __table_args__ = (UniqueConstraint("endpoint_id", "service_id", "region_id"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    policy_id: Mapped[str] = mapped_column(ForeignKey("policy.id", ondelete="CASCADE"), index=True)
    endpoint_id: Mapped[str | None] = mapped_column(ID)
    service_id: Mapped[str | None] = mapped_column(ID)
    region_id: Mapped[str | None] = mapped_column(NAME)
