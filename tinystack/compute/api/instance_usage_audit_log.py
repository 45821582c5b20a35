"""``/os-instance_usage_audit_log``: the usage audit of the last completed period.

No audit task runs here (there is no notification bus to audit for), so every
compute host shows as not run for the period, as upstream reports hosts whose
audit has not happened.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from starlette.responses import Response

from tinystack.common.api.openapi import policies
from tinystack.common.exceptions import BadRequest
from tinystack.common.timeutils import utcnow
from tinystack.compute.api.deps import ContextDep, DepsDep
from tinystack.compute.api.rendering import json_response
from tinystack.compute.services import hosts
from tinystack.compute.services.deps import Deps

router = APIRouter(tags=["instance usage audit log"])
P = "os_compute_api:os-instance-usage-audit-log:%s"


def last_completed_month(before: datetime) -> tuple[datetime, datetime]:
    """The calendar month that ended last before ``before`` (upstream's default period)."""
    end = datetime(before.year, before.month, 1)
    begin = (
        datetime(end.year - 1, 12, 1) if end.month == 1 else datetime(end.year, end.month - 1, 1)
    )
    return begin, end


def _log(deps: Deps, before: datetime) -> dict[str, Any]:
    begin, end = last_completed_month(before)
    names = hosts.compute_hosts(deps.db)
    done = 0
    return {
        "period_beginning": str(begin),
        "period_ending": str(end),
        "num_hosts": len(names),
        "num_hosts_done": done,
        "num_hosts_running": 0,
        "num_hosts_not_run": len(names),
        "hosts_not_run": names,
        "total_instances": 0,
        "total_errors": 0,
        "overall_status": f"{'ALL' if done == len(names) else f'{done} of {len(names)}'} "
        "hosts done. 0 errors.",
        "log": {},
    }


@router.get("/os-instance_usage_audit_log", openapi_extra=policies(P % "list"))
def list_audit_logs(ctx: ContextDep, deps: DepsDep) -> Response:
    ctx.can(P % "list", {})
    return json_response({"instance_usage_audit_logs": _log(deps, utcnow())})


@router.get("/os-instance_usage_audit_log/{before}", openapi_extra=policies(P % "show"))
def show_audit_log(before: str, ctx: ContextDep, deps: DepsDep) -> Response:
    ctx.can(P % "show", {})
    layout = "%Y-%m-%d %H:%M:%S.%f" if "." in before else "%Y-%m-%d %H:%M:%S"
    try:
        when = datetime.strptime(before, layout)
    except ValueError:
        raise BadRequest(f"Invalid timestamp for date {before}") from None
    return json_response({"instance_usage_audit_log": _log(deps, when)})
