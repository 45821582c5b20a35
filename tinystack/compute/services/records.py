"""Frozen records the service layer returns, built from ORM rows column by column."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from functools import cache
from operator import itemgetter
from typing import TYPE_CHECKING, Any, TypeVar

from tinystack.compute import models

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

R = TypeVar("R", bound="DataclassInstance")


@cache
def _names(cls: type[DataclassInstance]) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls))


def from_row(cls: type[R], row: Any) -> R:
    """A ``cls`` record of the attributes of ``row`` that ``cls`` names."""
    return cls(**{name: getattr(row, name) for name in _names(cls)})


@dataclass(frozen=True, slots=True)
class ServerRecord:
    """One server (an instance row's columns) as the service layer hands it out."""

    id: int
    uuid: str
    project_id: str
    user_id: str
    display_name: str
    display_description: str | None
    hostname: str | None
    host: str | None
    node: str | None
    launched_on: str | None
    availability_zone: str | None
    flavorid: str
    vcpus: int
    memory_mb: int
    flavor: dict[str, Any]
    old_flavor: dict[str, Any] | None
    new_flavor: dict[str, Any] | None
    image_ref: str | None
    key_name: str | None
    key_data: str | None
    user_data: str | None
    vm_state: str
    task_state: str | None
    power_state: int
    locked: bool
    locked_by: str | None
    locked_reason: str | None
    reservation_id: str
    launch_index: int
    config_drive: str
    access_ip_v4: str | None
    access_ip_v6: str | None
    root_device_name: str | None
    kernel_id: str
    ramdisk_id: str
    auto_disk_config: bool
    progress: int
    user_metadata: dict[str, str]
    system_metadata: dict[str, Any]
    network_info: list[dict[str, Any]]
    security_groups: list[str]
    request_spec: dict[str, Any]
    trusted_certs: list[str] | None
    created_at: datetime
    updated_at: datetime | None
    launched_at: datetime | None
    terminated_at: datetime | None
    deleted_at: datetime | None
    deleted: bool


_SERVER_COLUMNS = itemgetter(*_names(ServerRecord))


def server_record(row: models.Instance) -> ServerRecord:
    """The one place an instance row becomes a :class:`ServerRecord`.

    The server list builds up to 1,000 a request: the loaded values are read straight from
    the row's ``__dict__`` (a third of the cost of ``getattr`` through SQLAlchemy's
    descriptors); a row with an unloaded (expired) column goes the ``getattr`` way.
    """
    try:
        return ServerRecord(*_SERVER_COLUMNS(row.__dict__))
    except KeyError:
        return from_row(ServerRecord, row)
