"""``/v2/alarms``, an alarm's state and history, and the complex queries.

An alarm of another project is not found for a non-admin (Aodh scopes the lookup to
the caller's project before the rule is checked); the rule is then checked on the
alarm's ``project_id``/``user_id``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Body
from starlette.requests import Request
from starlette.responses import Response

from tinystack.alarm.api.deps import DepsDep, caller
from tinystack.alarm.api.schemas import AlarmBody, ComplexQuery
from tinystack.alarm.policies import alarms as rules
from tinystack.alarm.services import alarms, history, query
from tinystack.alarm.services.deps import Deps
from tinystack.alarm.services.records import AlarmRecord, ChangeRecord
from tinystack.common.api.deps import ContextDep
from tinystack.common.auth.context import RequestContext
from tinystack.common.exceptions import BadRequest, Unauthorized

_HISTORY_FIELDS = ("event_id", "alarm_id", "type", "detail", "project_id", "user_id",
                   "on_behalf_of", "severity", "timestamp")  # fmt: skip
_ALARM_FIELDS = ("alarm_id", "name", "description", "type", "enabled", "state", "severity",
                 "project_id", "user_id", "timestamp", "state_timestamp", "repeat_actions",
                 "state_reason")  # fmt: skip


def _load(ctx: RequestContext, deps: Deps, alarm_id: str, rule: str) -> AlarmRecord:
    alarm = alarms.get(deps, alarm_id, None if ctx.is_admin else ctx.project_id)
    ctx.can(rule, {"project_id": alarm.project_id, "user_id": alarm.user_id})
    return alarm


def _body(body: AlarmBody) -> dict[str, Any]:
    return body.model_dump(exclude_none=True)


def _int(value: str | None, name: str) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise BadRequest(f"Invalid input for field/attribute {name}. Value: '{value}'.") from None


def create_alarm(ctx: ContextDep, deps: DepsDep, body: AlarmBody) -> Any:
    ctx.can(rules.CREATE, {"project_id": ctx.project_id, "user_id": ctx.user_id})
    return alarms.as_dict(alarms.create(deps, caller(ctx), _body(body)))


def _filters(request: Request, ctx: RequestContext) -> dict[str, str]:
    params = request.query_params
    fields, ops, values = (params.getlist(f"q.{k}") for k in ("field", "op", "value"))
    if not len(fields) == len(values) or len(ops) > len(fields):
        raise BadRequest("Invalid query: q.field and q.value must pair up")
    filters: dict[str, str] = {}
    for index, (field, value) in enumerate(zip(fields, values, strict=True)):
        op = ops[index] if index < len(ops) and ops[index] else "eq"
        if field not in alarms.FILTERS:
            raise BadRequest(f"Invalid input for field/attribute field. Value: '{field}'. "
                             f"only fields {set(alarms.FILTERS)} are allowed")  # fmt: skip
        if op != "eq":
            raise BadRequest(f"Invalid input for field/attribute op. Value: '{op}'. "
                             "only operations {'eq'} are allowed")  # fmt: skip
        filters[field] = value
    if filters.pop("all_projects", "false").lower() == "true":
        ctx.can(rules.LIST_ALL, {"project_id": ctx.project_id})
    elif filters.setdefault("project_id", ctx.project_id or "") != ctx.project_id:
        if not ctx.is_admin:
            raise Unauthorized(f"Not Authorized to access project {filters['project_id']}")
    return filters


def list_alarms(request: Request, ctx: ContextDep, deps: DepsDep) -> Any:
    ctx.can(rules.LIST, {"project_id": ctx.project_id})
    params = request.query_params
    sort = []
    for item in params.getlist("sort"):
        key, _, direction = item.partition(":")
        sort.append((key, direction or "asc"))
    found = alarms.list_alarms(deps, _filters(request, ctx), _int(params.get("limit"), "limit"),
                               params.get("marker"), sort or None)  # fmt: skip
    return [alarms.as_dict(a) for a in found]


def show_alarm(alarm_id: str, ctx: ContextDep, deps: DepsDep) -> Any:
    return alarms.as_dict(_load(ctx, deps, alarm_id, rules.GET))


def replace_alarm(alarm_id: str, ctx: ContextDep, deps: DepsDep, body: AlarmBody) -> Any:
    _load(ctx, deps, alarm_id, rules.UPDATE)
    return alarms.as_dict(alarms.replace(deps, caller(ctx), alarm_id, _body(body)))


def delete_alarm(alarm_id: str, ctx: ContextDep, deps: DepsDep) -> Response:
    alarms.delete(deps, caller(ctx), _load(ctx, deps, alarm_id, rules.DELETE))
    return Response(status_code=204)


def get_state(alarm_id: str, ctx: ContextDep, deps: DepsDep) -> Any:
    return _load(ctx, deps, alarm_id, rules.GET_STATE).state


def set_state(
    alarm_id: str, ctx: ContextDep, deps: DepsDep, state: Annotated[Any, Body()] = None
) -> Any:
    alarm = _load(ctx, deps, alarm_id, rules.UPDATE_STATE)
    return alarms.set_state(deps, caller(ctx), alarm, state)


def _change(change: ChangeRecord) -> dict[str, Any]:
    return {field: getattr(change, field) for field in _HISTORY_FIELDS} | {
        "timestamp": change.timestamp.isoformat()
    }


def alarm_history(alarm_id: str, request: Request, ctx: ContextDep, deps: DepsDep) -> Any:
    """Also for a deleted alarm: its history stays, scoped to the caller's project."""
    project = None if ctx.is_admin else ctx.project_id
    changes = history.list_changes(deps, alarm_id, project)
    if not changes:  # unknown or never changed here: the rule is checked on the alarm
        _load(ctx, deps, alarm_id, rules.HISTORY)
    ctx.can(rules.HISTORY, {"project_id": changes[0].on_behalf_of if changes else project})
    params = request.query_params
    changes = history.page(changes, _int(params.get("limit"), "limit"), params.get("marker"))
    return [_change(c) for c in changes]


def query_alarms(ctx: ContextDep, deps: DepsDep, body: ComplexQuery) -> Any:
    ctx.can(rules.QUERY, {"project_id": ctx.project_id})
    filters = {} if ctx.is_admin else {"project_id": ctx.project_id or ""}
    rows = [alarms.as_dict(a) for a in alarms.list_alarms(deps, filters)]
    return query.run(rows, body.model_dump(), _ALARM_FIELDS)


def query_history(ctx: ContextDep, deps: DepsDep, body: ComplexQuery) -> Any:
    ctx.can(rules.QUERY_HISTORY, {"project_id": ctx.project_id})
    project = None if ctx.is_admin else ctx.project_id
    rows = [_change(c) for c in history.all_changes(deps, project)]
    return query.run(rows, body.model_dump(), _HISTORY_FIELDS)
