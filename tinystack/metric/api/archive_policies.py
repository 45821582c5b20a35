"""``/v1/archive_policy``."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from tinystack.common.api.deps import ContextDep
from tinystack.metric.api import views
from tinystack.metric.api.deps import DepsDep
from tinystack.metric.api.schemas import (
    ArchivePolicyCreate,
    ArchivePolicyItem,
    ArchivePolicyUpdate,
)
from tinystack.metric.policies import archive_policies as rules
from tinystack.metric.services import archive_policies
from tinystack.metric.services.archive_policies import DefinitionItem


def _items(definition: list[ArchivePolicyItem]) -> list[DefinitionItem]:
    return [DefinitionItem(d.granularity, d.points, d.timespan) for d in definition]


def create_archive_policy(ctx: ContextDep, deps: DepsDep, body: ArchivePolicyCreate) -> Any:
    ctx.can(rules.CREATE, {})
    made = archive_policies.create(
        deps, body.name, _items(body.definition), body.back_window, body.aggregation_methods
    )
    return views.archive_policy(made)


def list_archive_policies(ctx: ContextDep, deps: DepsDep) -> Any:
    ctx.can(rules.LIST, {})
    return [views.archive_policy(p) for p in archive_policies.list_all(deps)]


def show_archive_policy(name: str, ctx: ContextDep, deps: DepsDep) -> Any:
    ctx.can(rules.GET, {})
    return views.archive_policy(archive_policies.get(deps, name))


def update_archive_policy(
    name: str, ctx: ContextDep, deps: DepsDep, body: ArchivePolicyUpdate
) -> Any:
    ctx.can(rules.UPDATE, {})
    return views.archive_policy(archive_policies.update(deps, name, _items(body.definition)))


def delete_archive_policy(name: str, ctx: ContextDep, deps: DepsDep) -> Response:
    ctx.can(rules.DELETE, {})
    archive_policies.delete(deps, name)
    return Response(status_code=204)
