"""GET /servers and /servers/detail: query parameters to a listing, and its rendering."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from tinystack.common.auth.context import RequestContext
from tinystack.common.exceptions import BadRequest, Forbidden
from tinystack.compute import states
from tinystack.compute.api import servers_view
from tinystack.compute.api.microversion import Version
from tinystack.compute.api.query import bool_param, limit_and_marker, parse_time, reject_unknown
from tinystack.compute.api.rendering import next_link
from tinystack.compute.services import server_list
from tinystack.compute.services.deps import Deps
from tinystack.compute.services.server_list import ListQuery

P = "os_compute_api:servers:%s"
TAG_FILTERS = ("tags", "tags-any", "not-tags", "not-tags-any")
PAGING = ("limit", "marker", "sort_key", "sort_dir")
#: keys upstream accepted as sort keys but ignores
IGNORED_SORT_KEYS = {
    "architecture", "cell_name", "cleaned", "default_ephemeral_device", "default_swap_device",
    "deleted", "deleted_at", "disable_terminate", "ephemeral_gb", "ephemeral_key_uuid", "id",
    "key_data", "launched_on", "locked", "memory_mb", "os_type", "reservation_id", "root_gb",
    "shutdown_terminate", "user_data", "vcpus", "vm_mode",
}  # fmt: skip
ADMIN_SORT_KEYS = ("host", "node")
#: every filter upstream's schema knows (the rest are unknown from 2.75)
KNOWN = (
    set(server_list.EXACT) | set(server_list.REGEX) | set(PAGING) | set(TAG_FILTERS)
    | {"tenant_id", "vm_state", "task_state", "all_tenants", "soft_deleted", "deleted",
       "status", "changes-since", "changes-before", "ip", "ip6", "locked"}
    | {"block_device_mapping", "services", "metadata", "system_metadata", "info_cache",
       "security_groups", "pci_devices"}
)  # fmt: skip


def _allowed_filters(version: Version) -> set[str]:
    allowed = {"reservation_id", "name", "status", "image", "flavor", "ip", "changes-since",
               "all_tenants"}  # fmt: skip
    if version >= (2, 5):
        allowed.add("ip6")
    if version >= (2, 26):
        allowed.update(TAG_FILTERS)
    if version >= (2, 66):
        allowed.add("changes-before")
    if version >= (2, 73):
        allowed.add("locked")
    if version >= (2, 83):
        allowed.update(
            {"availability_zone", "config_drive", "key_name", "created_at", "launched_at",
             "terminated_at", "power_state", "task_state", "vm_state", "progress", "user_id"}
        )  # fmt: skip
    if version >= (2, 90):
        allowed.add("hostname")
    return allowed


def _search_options(
    request: Request, ctx: RequestContext, version: Version
) -> dict[str, list[str]]:
    params: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        params.setdefault(key, []).append(value)
    known = set(KNOWN)
    if version < (2, 26):
        known -= set(TAG_FILTERS)
    if version < (2, 66):
        known.discard("changes-before")
    if version < (2, 73):
        known.discard("locked")
    reject_unknown(request, known, version)
    for key in params:
        if key in (
            "block_device_mapping",
            "services",
            "metadata",
            "system_metadata",
            "info_cache",
            "security_groups",
            "pci_devices",
        ) or key.startswith("_"):
            raise BadRequest(f"Invalid filter field: {key}.")
    if not ctx.allowed(P % "allow_all_filters", {"project_id": ctx.project_id}):
        allowed = _allowed_filters(version) | set(PAGING)
        params = {k: v for k, v in params.items() if k in allowed}
    return params


def _status(query: ListQuery, values: list[str], version: Version) -> bool:
    """Apply the status filter; False when nothing can match (pre-2.38 unknown status)."""
    vm_states, task_states, any_task = states.states_for_statuses(values)
    if not vm_states:
        if version >= (2, 38):
            raise BadRequest("Invalid status value")
        return False
    query.vm_states = vm_states
    if not any_task:
        query.task_states = task_states
    return True


def _sort(
    params: dict[str, list[str]], ctx: RequestContext, version: Version
) -> list[tuple[str, str]]:
    keys = params.get("sort_key", [])
    dirs = params.get("sort_dir", [])
    result = []
    for i, key in enumerate(keys):
        direction = dirs[i] if i < len(dirs) else (dirs[-1] if dirs else "desc")
        if direction not in ("asc", "desc"):
            raise BadRequest(f"Invalid sort_dir {direction}: must be 'asc' or 'desc'")
        if key == "locked" and version >= (2, 73):
            result.append((key, direction))
            continue
        if key in IGNORED_SORT_KEYS:
            if version >= (2, 75):
                raise BadRequest(f"Invalid input for query parameters sort_key. Value: {key}.")
            continue
        if key not in server_list.SORT_COLUMNS:
            raise BadRequest(f"Invalid input for query parameters sort_key. Value: {key}.")
        if key in ADMIN_SORT_KEYS and not ctx.is_admin:
            raise Forbidden(f"Only administrators can sort servers by {key}")
        result.append((key, direction))
    return result


def build_query(
    request: Request, ctx: RequestContext, deps: Deps, version: Version, detail: bool
) -> ListQuery | None:
    params = _search_options(request, ctx, version)
    one = {k: v[-1] for k, v in params.items()}
    query = ListQuery()
    if "status" in params and not _status(query, params["status"], version):
        return None
    for key in ("changes-since", "changes-before"):
        if key in one:
            setattr(query, key.replace("-", "_"), parse_time(one[key], key))
    if query.changes_since and query.changes_before and query.changes_before < query.changes_since:
        raise BadRequest("The value of changes-since must be less than or equal to changes-before.")
    if "deleted" in one:
        query.deleted = bool(bool_param(one["deleted"], "deleted")) if one["deleted"] else False
    elif query.changes_since or query.changes_before:
        query.deleted = None
    if query.vm_states == {states.DELETED}:
        if not ctx.is_admin:
            raise Forbidden("Only administrators may list deleted instances")
        query.deleted = True
    for name in TAG_FILTERS:
        if name in one and version >= (2, 26):
            setattr(query, name.replace("-", "_"), [t for t in one[name].split(",") if t])
    all_tenants = "all_tenants" in one and bool_param(one["all_tenants"] or "true", "all_tenants")
    if all_tenants:
        ctx.can(P % ("detail:get_all_tenants" if detail else "index:get_all_tenants"))
        project = one.get("project_id") or one.get("tenant_id")
        if project:
            query.exact["project_id"] = project
    else:
        query.exact["project_id"] = ctx.project_id
    if "locked" in one:
        query.locked = bool(bool_param(one["locked"], "locked"))
    for key in ("vm_state", "task_state"):
        if key in params:
            values = set(params[key])
            if key == "vm_state":
                query.vm_states = values if query.vm_states is None else query.vm_states & values
            else:
                query.task_states = set(values)
    for key in server_list.EXACT:
        if key in one and key not in ("project_id",):
            value: Any = one[key]
            if key in ("power_state", "launch_index", "progress"):
                try:
                    value = int(value)
                except ValueError:
                    raise BadRequest(f"Invalid value for {key}: {one[key]}") from None
            query.exact[key] = value
    for key in server_list.REGEX:
        if key in one:
            query.regex[key] = one[key]
    query.ip = one.get("ip")
    query.ip6 = one.get("ip6")
    query.sort = _sort(params, ctx, version)
    query.limit, query.marker = limit_and_marker(request, int(deps.opts.max_limit))
    return query


def list_view(
    request: Request, ctx: RequestContext, deps: Deps, version: Version, *, detail: bool
) -> dict[str, Any]:
    query = build_query(request, ctx, deps, version, detail)
    servers = server_list.list_instances(deps.db, query) if query is not None else []
    collection = "servers/detail" if detail else "servers"
    if detail and servers:
        opts = servers_view.view_options(ctx, deps, version, servers, with_groups=False)
        items = [servers_view.show(request, inst, opts) for inst in servers]
    else:
        items = [servers_view.basic(request, inst) for inst in servers]
    body: dict[str, Any] = {"servers": items}
    if query is not None and query.limit and len(servers) == query.limit:
        body["servers_links"] = next_link(request, collection, servers[-1].uuid)
    return body
