"""Placement tables.

The shape follows upstream Placement's schema (integer surrogate keys, UUIDs
for the public identities, allocations keyed by consumer UUID), so the same
queries and indexes apply. Hot paths use these tables through SQLAlchemy Core
(``Model.__table__``); the ORM classes exist for Alembic and for readability.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

UUID = String(36)


class Base(DeclarativeBase):
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


class Timestamps:
    created_at: Mapped[datetime | None] = mapped_column(DateTime)
    updated_at: Mapped[datetime | None] = mapped_column(DateTime)


class ResourceClass(Timestamps, Base):
    """Standard classes keep ids below 10000 (their os-resource-classes order); custom above."""

    __tablename__ = "resource_classes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(255), unique=True)


class Trait(Timestamps, Base):
    __tablename__ = "traits"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)


class ResourceProvider(Timestamps, Base):
    __tablename__ = "resource_providers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(UUID, unique=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    generation: Mapped[int] = mapped_column(Integer, default=0)
    root_provider_id: Mapped[int | None] = mapped_column(
        ForeignKey("resource_providers.id"), index=True
    )
    parent_provider_id: Mapped[int | None] = mapped_column(
        ForeignKey("resource_providers.id"), index=True
    )


class Inventory(Timestamps, Base):
    __tablename__ = "inventories"
    __table_args__ = (
        UniqueConstraint("resource_provider_id", "resource_class_id"),
        Index("ix_inventories_class_provider", "resource_class_id", "resource_provider_id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    resource_provider_id: Mapped[int] = mapped_column(ForeignKey("resource_providers.id"))
    resource_class_id: Mapped[int] = mapped_column(Integer)
    total: Mapped[int] = mapped_column(Integer)
    reserved: Mapped[int] = mapped_column(Integer)
    min_unit: Mapped[int] = mapped_column(Integer)
    max_unit: Mapped[int] = mapped_column(Integer)
    step_size: Mapped[int] = mapped_column(Integer)
    allocation_ratio: Mapped[float] = mapped_column(Float)


class Allocation(Timestamps, Base):
    __tablename__ = "allocations"
    __table_args__ = (
        Index(
            "ix_allocations_provider_class_used",
            "resource_provider_id",
            "resource_class_id",
            "used",
        ),
        Index("ix_allocations_resource_class_id", "resource_class_id"),
        Index("ix_allocations_consumer_id", "consumer_id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    resource_provider_id: Mapped[int] = mapped_column(Integer)
    consumer_id: Mapped[str] = mapped_column(UUID)
    resource_class_id: Mapped[int] = mapped_column(Integer)
    used: Mapped[int] = mapped_column(Integer)


class PlacementAggregate(Timestamps, Base):
    __tablename__ = "placement_aggregates"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(UUID, unique=True)


class ResourceProviderAggregate(Timestamps, Base):
    __tablename__ = "resource_provider_aggregates"
    __table_args__ = (Index("ix_rp_aggregates_aggregate_id", "aggregate_id"),)
    resource_provider_id: Mapped[int] = mapped_column(
        ForeignKey("resource_providers.id"), primary_key=True
    )
    aggregate_id: Mapped[int] = mapped_column(
        ForeignKey("placement_aggregates.id"), primary_key=True
    )


class ResourceProviderTrait(Timestamps, Base):
    __tablename__ = "resource_provider_traits"
    __table_args__ = (Index("ix_rp_traits_trait_provider", "trait_id", "resource_provider_id"),)
    resource_provider_id: Mapped[int] = mapped_column(
        ForeignKey("resource_providers.id"), primary_key=True
    )
    trait_id: Mapped[int] = mapped_column(ForeignKey("traits.id"), primary_key=True)


class Project(Timestamps, Base):
    __tablename__ = "projects"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    external_id: Mapped[str] = mapped_column(String(255), unique=True)


class User(Timestamps, Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    external_id: Mapped[str] = mapped_column(String(255), unique=True)


class ConsumerType(Timestamps, Base):
    __tablename__ = "consumer_types"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)


class Consumer(Timestamps, Base):
    __tablename__ = "consumers"
    __table_args__ = (
        Index("ix_consumers_project_user", "project_id", "user_id", "uuid"),
        Index("ix_consumers_consumer_type_id", "consumer_type_id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(UUID, unique=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    consumer_type_id: Mapped[int | None] = mapped_column(ForeignKey("consumer_types.id"))


def _table(model: type[Base]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


# Core handles for the service layer.
RC_TBL = _table(ResourceClass)
TRAIT_TBL = _table(Trait)
RP_TBL = _table(ResourceProvider)
INV_TBL = _table(Inventory)
ALLOC_TBL = _table(Allocation)
AGG_TBL = _table(PlacementAggregate)
RP_AGG_TBL = _table(ResourceProviderAggregate)
RP_TRAIT_TBL = _table(ResourceProviderTrait)
PROJECT_TBL = _table(Project)
USER_TBL = _table(User)
CONSUMER_TYPE_TBL = _table(ConsumerType)
CONSUMER_TBL = _table(Consumer)
