"""``/v1/archive_policy_rule``."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from tinystack.common.api.deps import ContextDep
from tinystack.metric.api import views
from tinystack.metric.api.deps import DepsDep
from tinystack.metric.api.schemas import ArchivePolicyRuleCreate, ArchivePolicyRuleUpdate
from tinystack.metric.policies import archive_policy_rules as rules
from tinystack.metric.services import archive_policy_rules


def create_archive_policy_rule(
    ctx: ContextDep, deps: DepsDep, body: ArchivePolicyRuleCreate
) -> Any:
    ctx.can(rules.CREATE, {})
    made = archive_policy_rules.create(
        deps, body.name, body.archive_policy_name, body.metric_pattern
    )
    return views.archive_policy_rule(made)


def list_archive_policy_rules(ctx: ContextDep, deps: DepsDep) -> Any:
    ctx.can(rules.LIST, {})
    return [views.archive_policy_rule(r) for r in archive_policy_rules.list_all(deps)]


def show_archive_policy_rule(name: str, ctx: ContextDep, deps: DepsDep) -> Any:
    ctx.can(rules.GET, {})
    return views.archive_policy_rule(archive_policy_rules.get(deps, name))


def update_archive_policy_rule(
    name: str, ctx: ContextDep, deps: DepsDep, body: ArchivePolicyRuleUpdate
) -> Any:
    ctx.can(rules.UPDATE, {})
    return views.archive_policy_rule(archive_policy_rules.rename(deps, name, body.name))


def delete_archive_policy_rule(name: str, ctx: ContextDep, deps: DepsDep) -> Response:
    ctx.can(rules.DELETE, {})
    archive_policy_rules.delete(deps, name)
    return Response(status_code=204)
