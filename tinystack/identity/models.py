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
    access_rules: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(TIMESTAMP)


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
