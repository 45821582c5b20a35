"""What a server's detailed view shows beside its row: tags, last fault, host status, group,
volumes.

One call gathers them for a whole page of servers, a fixed number of queries whatever
the page's size (no per-row query).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from tinystack.compute.services import block_devices, server_groups, server_list, servers
from tinystack.compute.services._rows import latest_faults
from tinystack.compute.services.deps import Deps
from tinystack.compute.services.records import ServerRecord


@dataclass(frozen=True, slots=True)
class FaultRecord:
    """An instance's latest fault."""

    code: int
    message: str
    details: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class AttachedVolume:
    """One entry of ``os-extended-volumes:volumes_attached``."""

    id: str
    delete_on_termination: bool


@dataclass(frozen=True, slots=True)
class ServerExtras:
    """Per instance uuid: its tags, latest fault, host status, server groups and volumes."""

    tags: dict[str, list[str]]
    faults: dict[str, FaultRecord]
    host_statuses: dict[str, str]
    #: None when not asked for
    server_groups: dict[str, list[str]] | None
    volumes: dict[str, list[AttachedVolume]]


def gather(
    deps: Deps,
    rows: Sequence[ServerRecord],
    *,
    tags: bool,
    host_status: bool,
    groups: bool,
    volumes: bool = True,
) -> ServerExtras:
    """The extras of ``rows``; faults only for those in error or deleted."""
    uuids = [r.uuid for r in rows]
    with deps.db.reader() as session:
        faults = latest_faults(
            session, [r.uuid for r in rows if r.vm_state == "error" or r.deleted]
        )
        fault_records = {
            uuid: FaultRecord(f.code, f.message, f.details, f.created_at)
            for uuid, f in faults.items()
        }
    member_of: dict[str, list[str]] | None = None
    if groups:
        found = server_groups.groups_of(deps.db, uuids)
        member_of = {u: [found[u]] for u in uuids if u in found}
    return ServerExtras(
        tags=server_list.tags_for(deps.db, uuids) if tags else {},
        faults=fault_records,
        host_statuses=servers.host_statuses(deps, list(rows)) if host_status else {},
        server_groups=member_of,
        volumes=_volumes(deps, uuids) if volumes else {},
    )


def _volumes(deps: Deps, uuids: list[str]) -> dict[str, list[AttachedVolume]]:
    return {
        uuid: [AttachedVolume(b.volume_id, b.delete_on_termination) for b in found if b.volume_id]
        for uuid, found in block_devices.list_for_many(deps.db, uuids).items()
    }
