"""``/v2/quotas``: a project's alarm quota (``openstack alarm quota show/set``).

A POST's body is checked before the rule, as Aodh (WSME) does: the rule's target is
the project the body names.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from tinystack.alarm.api.deps import DepsDep
from tinystack.alarm.api.schemas import QuotasBody
from tinystack.alarm.policies import quotas as rules
from tinystack.alarm.services import quotas
from tinystack.alarm.services.records import ProjectQuotas
from tinystack.common.api.deps import ContextDep
from tinystack.common.exceptions import BadRequest


def _view(found: ProjectQuotas) -> dict[str, Any]:
    limits = [{"resource": q.resource, "limit": q.limit} for q in found.quotas]
    return {"project_id": found.project_id, "quotas": limits}


def show_quotas(ctx: ContextDep, deps: DepsDep, project_id: str | None = None) -> Any:
    """``?project_id=`` or the caller's project."""
    project_id = project_id or ctx.project_id
    if not project_id:  # a token of no project, and none asked for
        raise BadRequest('Missing argument: "project_id"')
    ctx.can(rules.GET, {"project_id": project_id})
    return _view(quotas.get(deps, project_id))


def set_quotas(ctx: ContextDep, deps: DepsDep, body: QuotasBody) -> Any:
    wanted = quotas.parse(body.model_dump(exclude_none=True))
    ctx.can(rules.UPDATE, {"project_id": wanted.project_id})
    return _view(quotas.set_limits(deps, wanted))


def delete_quotas(project_id: str, ctx: ContextDep, deps: DepsDep) -> Response:
    ctx.can(rules.DELETE, {"project_id": project_id})
    quotas.delete_quotas(deps, project_id)
    return Response(status_code=204)
