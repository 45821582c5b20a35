"""Allocation candidates: which providers could satisfy a request, and their summaries.

Two strategies give the same answers:

* the **direct** one, for the common case (one request group, no sharing
  providers, and either no provider trees or a granular group): a single SQL
  statement finds providers that can each satisfy the whole group, in id order,
  and stops at ``limit``;
* the **tree** search (``candidate_trees``) for nested and sharing providers,
  several request groups, ``group_policy``, ``same_subtree`` and the rest.

Both end with the provider summaries of every tree the chosen candidates use.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import os_traits
import sqlalchemy as sa
from sqlalchemy.orm import Session

from tinystack.placement import models
from tinystack.placement.exception import ResourceClassNotFound
from tinystack.placement.services import filters
from tinystack.placement.services.candidate_request import (
    AllocationRequest,
    Candidates,
    RequestGroup,
    RequestWideParams,
    Summary,
)
from tinystack.placement.services.candidate_search import (
    RawRequest,
    ResolvedGroup,
    Search,
    inventory_state,
    param,
)
from tinystack.placement.services.candidate_trees import search_trees
from tinystack.placement.services.deps import Deps
from tinystack.placement.services.names import trait_ids

_RP = models.RP_TBL
_INV = models.INV_TBL
_RPT = models.RP_TRAIT_TBL
_TRAIT = models.TRAIT_TBL


@dataclass
class _Node:
    id: int
    uuid: str
    parent_id: int | None
    root_id: int


def find(
    deps: Deps, groups: list[RequestGroup], params: RequestWideParams, nested_aware: bool
) -> Candidates:
    with deps.read() as session:
        search = _resolve(deps, session, groups, params, nested_aware)
        direct, trees = _direct_possible(search)
        if direct:
            found = _direct(search, trees)
        else:
            found = _render(search, search_trees(search))
        if deps.opts.randomize_candidates:
            random.shuffle(found.allocation_requests)
        return found


def _resolve(
    deps: Deps,
    session: Session,
    groups: list[RequestGroup],
    params: RequestWideParams,
    nested_aware: bool,
) -> Search:
    names = {rc for g in groups for rc in g.resources}
    rc_ids = deps.resource_classes.ids_of(session, names)
    for name in sorted(names - rc_ids.keys()):
        raise ResourceClassNotFound(name, "Invalid resource class in resources parameter: ")
    traits = {t for g in groups for any_of in g.required_traits for t in any_of}
    traits |= {t for g in groups for t in g.forbidden_traits}
    traits |= params.root_required | params.root_forbidden
    t_ids = trait_ids(deps, session, traits)
    resolved = [
        ResolvedGroup(
            group=g,
            resources={rc_ids[rc]: amount for rc, amount in g.resources.items()},
            required=[{t_ids[t] for t in any_of} for any_of in g.required_traits],
            forbidden={t_ids[t] for t in g.forbidden_traits},
        )
        for g in groups
    ]
    limit = params.limit
    cap = deps.opts.max_candidates
    if cap >= 0:
        limit = cap if limit is None else min(limit, cap)
    return Search(
        deps=deps,
        session=session,
        groups=resolved,
        params=params,
        nested_aware=nested_aware,
        limit=None if deps.opts.randomize_candidates else limit,
        root_required={t_ids[t] for t in params.root_required},
        root_forbidden={t_ids[t] for t in params.root_forbidden},
    )


# Whether sharing providers and provider trees exist at all: one round trip.
_TOPOLOGY = sa.select(
    sa.select(_RPT.c.resource_provider_id)
    .join(_TRAIT, _TRAIT.c.id == _RPT.c.trait_id)
    .where(_TRAIT.c.name == os_traits.MISC_SHARES_VIA_AGGREGATE)
    .exists(),
    sa.select(_RP.c.id).where(_RP.c.parent_provider_id.is_not(None)).exists(),
)


def _direct_possible(search: Search) -> tuple[bool, bool]:
    """Whether the one-statement search applies, and whether provider trees exist."""
    if len(search.groups) != 1 or not search.groups[0].resources:
        return False, True
    row = search.session.execute(_TOPOLOGY).one()
    sharing, trees = bool(row[0]), bool(row[1])
    return not sharing and (search.groups[0].group.use_same_provider or not trees), trees


@functools.lru_cache(maxsize=256)
def _direct_statement(
    classes: int,
    required: int,
    forbidden: bool,
    member_of: int,
    bad_aggs: bool,
    in_tree: bool,
    root_required: int,
    root_forbidden: bool,
) -> sa.Select[Any]:
    """The direct search for one shape of request, built once (values are bound later)."""
    rp_id, root_id = _RP.c.id, _RP.c.root_provider_id
    clauses = [
        filters.has_capacity(rp_id, param(f"rc{i}"), param(f"amount{i}")) for i in range(classes)
    ]
    clauses += filters.has_traits(rp_id, [param(f"req{i}", True) for i in range(required)])
    if forbidden:
        clauses.append(filters.lacks_traits(rp_id, param("forbidden", True)))
    clauses += [filters.in_any_aggregate(rp_id, param(f"agg{i}", True)) for i in range(member_of)]
    if bad_aggs:
        clauses.append(~filters.in_any_aggregate(rp_id, param("bad_aggs", True)))
    if in_tree:
        clauses.append(root_id == param("tree_root"))
    clauses += filters.has_traits(root_id, [param(f"root{i}", True) for i in range(root_required)])
    if root_forbidden:
        clauses.append(filters.lacks_traits(root_id, param("root_forbidden", True)))
    return sa.select(rp_id, _RP.c.uuid, root_id).where(*clauses).order_by(rp_id)


def _direct_values(search: Search, rg: ResolvedGroup) -> dict[str, Any] | None:
    """Bound values for the direct statement; None when nothing can match."""
    group, session = rg.group, search.session
    values: dict[str, Any] = {}
    for i, (rc, amount) in enumerate(rg.resources.items()):
        values |= {f"rc{i}": rc, f"amount{i}": amount}
    values |= {f"req{i}": sorted(any_of) for i, any_of in enumerate(rg.required)}
    if rg.forbidden:
        values["forbidden"] = sorted(rg.forbidden)
    if group.member_of:
        member_of = filters.resolve_member_of(session, group.member_of)
        if member_of is None:
            return None
        values |= {f"agg{i}": sorted(ids) for i, ids in enumerate(member_of)}
    if group.forbidden_aggs:
        bad = filters.aggregate_ids(session, group.forbidden_aggs)
        if bad:
            values["bad_aggs"] = sorted(bad.values())
    if group.in_tree is not None:
        root = session.scalar(sa.select(_RP.c.root_provider_id).where(_RP.c.uuid == group.in_tree))
        if root is None:
            return None
        values["tree_root"] = root
    values |= {f"root{i}": [t] for i, t in enumerate(sorted(search.root_required))}
    if search.root_forbidden:
        values["root_forbidden"] = sorted(search.root_forbidden)
    return values


def _direct(search: Search, trees: bool) -> Candidates:
    """One statement: providers that alone satisfy the only group, in id order."""
    (rg,) = search.groups
    values = _direct_values(search, rg)
    if values is None:
        return Candidates()
    sel = _direct_statement(
        len(rg.resources),
        len(rg.required),
        bool(rg.forbidden),
        sum(1 for k in values if k.startswith("agg")),
        "bad_aggs" in values,
        "tree_root" in values,
        len(search.root_required),
        bool(search.root_forbidden),
    )
    if search.limit is not None:
        sel = sel.limit(search.limit)
    rows = search.session.execute(sel, values).all()
    raw: list[RawRequest] = [
        ([(rp_id, rc, amount) for rc, amount in rg.resources.items()], {rg.suffix: [rp_id]})
        for rp_id, _uuid, _root in rows
    ]
    if trees:
        return _render(search, raw)
    nodes = {rp_id: _Node(rp_id, uuid, None, root) for rp_id, uuid, root in rows}
    return _render(search, raw, nodes)


_TREES = sa.select(_RP.c.id, _RP.c.uuid, _RP.c.parent_provider_id, _RP.c.root_provider_id).where(
    _RP.c.root_provider_id.in_(param("ids", True))
)


def _trees(session: Session, root_ids: Iterable[int]) -> dict[int, _Node]:
    nodes: dict[int, _Node] = {}
    roots = sorted(set(root_ids))
    if roots:
        for id_, uuid, parent_id, root_id in session.execute(_TREES, {"ids": roots}):
            nodes[id_] = _Node(id_, uuid, parent_id, root_id)
    return nodes


_TRAIT_NAMES = (
    sa.select(_RPT.c.resource_provider_id, _TRAIT.c.name)
    .join(_TRAIT, _TRAIT.c.id == _RPT.c.trait_id)
    .where(_RPT.c.resource_provider_id.in_(param("ids", True)))
    .order_by(_TRAIT.c.id)
)


def _trait_names(session: Session, provider_ids: Iterable[int]) -> dict[int, list[str]]:
    result: dict[int, list[str]] = {}
    ids = sorted(set(provider_ids))
    if ids:
        for rp_id, name in session.execute(_TRAIT_NAMES, {"ids": ids}):
            result.setdefault(rp_id, []).append(name)
    return result


def _render(
    search: Search, raw: list[RawRequest], nodes: dict[int, _Node] | None = None
) -> Candidates:
    """Turn id-based requests into the response objects, with every used tree's summary.

    ``nodes``, when given, are every provider of the trees the requests use.
    """
    session, deps = search.session, search.deps
    if not raw:
        return Candidates()
    used_ids = {rp for resources, _ in raw for rp, _, _ in resources}
    if nodes is None:
        sel = sa.select(_RP.c.root_provider_id).where(_RP.c.id.in_(sorted(used_ids)))
        nodes = _trees(session, set(session.scalars(sel)))
    uuid_of = {n.id: n.uuid for n in nodes.values()}
    if not search.nested_aware:
        # Before 1.29 the summaries cover only the providers the requests use.
        nodes = {id_: node for id_, node in nodes.items() if id_ in used_ids}
    mapped = {rp for _, mappings in raw for rps in mappings.values() for rp in rps}
    missing = mapped - uuid_of.keys()
    if missing:
        rows = session.execute(sa.select(_RP.c.id, _RP.c.uuid).where(_RP.c.id.in_(missing)))
        uuid_of |= dict(rows.all())
    names = deps.resource_classes.names(session)

    def rc_name(rc: int) -> str:
        return names.get(rc) or deps.resource_classes.name_of(session, rc)

    result = Candidates()
    for resources, mappings in raw:
        allocations: dict[str, dict[str, int]] = {}
        for rp, rc, amount in resources:
            allocations.setdefault(uuid_of[rp], {})[rc_name(rc)] = amount
        result.allocation_requests.append(
            AllocationRequest(
                allocations=allocations,
                mappings={s: [uuid_of[rp] for rp in rps] for s, rps in mappings.items()},
            )
        )
    state = inventory_state(session, nodes)
    traits = _trait_names(session, nodes)
    for node in sorted(nodes.values(), key=lambda n: n.id):
        result.provider_summaries[node.uuid] = Summary(
            uuid=node.uuid,
            parent_uuid=uuid_of.get(node.parent_id) if node.parent_id is not None else None,
            root_uuid=uuid_of[node.root_id],
            resources={
                rc_name(rc): (cap, used) for rc, (cap, used, _max) in state.get(node.id, {}).items()
            },
            traits=traits.get(node.id, []),
        )
    return result
