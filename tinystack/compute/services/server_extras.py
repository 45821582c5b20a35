"""What a server's detailed view shows beside its row: tags, last fault, host status, group.

One call gathers them for a whole page of servers, a fixed number of queries whatever
the page's size (no per-row query).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from tinystack.compute.services import server_groups, server_list, servers
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
class ServerExtras:
    """Per instance uuid: its tags, latest fault, host status and server groups."""

    tags: dict[str, list[str]]
    faults: dict[str, FaultRecord]
    host_statuses: dict[str, str]
    #: None when not asked for
    server_groups: dict[str, list[str]] | None


def gather(
    deps: Deps,
    rows: Sequence[ServerRecord],
    *,
    tags: bool,
    host_status: bool,
    groups: bool,
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
    )
