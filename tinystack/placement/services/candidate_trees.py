"""The general allocation-candidates search: trees, sharing providers, several groups.

Per request group, SQL finds the providers with capacity for each requested
class; the rest is set algebra in memory:

1. each group yields partial requests, each *anchored* at the root of a tree
   (a sharing provider can anchor to every tree it shares an aggregate with):
   a granular group uses one provider for all its resources, the unsuffixed
   group any providers of the tree (or sharing ones) that together have the
   required traits and none of the forbidden ones;
2. for every anchor, one partial request per group is combined, filtered by
   ``group_policy=isolate``, ``same_subtree`` and the combined capacity, and
   de-duplicated, until ``limit`` requests are found.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tinystack.placement import models
from tinystack.placement.services import filters
from tinystack.placement.services.candidate_search import (
    RawRequest,
    ResolvedGroup,
    Search,
    inventory_state,
    sharing_provider_ids,
)
from tinystack.placement.services.resource_provider import has_trees

_RP = models.RP_TBL
_RPA = models.RP_AGG_TBL
_RPT = models.RP_TRAIT_TBL


@dataclass(frozen=True)
class Partial:
    """One group's share of a candidate: resources on providers, under one anchor."""

    anchor: int
    resources: tuple[tuple[int, int, int], ...]
    providers: tuple[int, ...]
    suffix: str


class _NoCandidates(Exception):
    """Some part of the request cannot be satisfied: the answer is empty."""


class _World:
    """Facts about providers, loaded on demand and shared by all groups of one search."""

    def __init__(self, search: Search) -> None:
        self.search = search
        self.session: Session = search.session
        self.sharing = sharing_provider_ids(self.session)
        self.has_trees = has_trees(self.session)
        self._anchors: dict[int, set[int]] = {}
        self._traits: dict[int, set[int]] = {}
        self._roots: dict[int, int] = {}
        self.anchor_roots = self._anchor_roots()

    def _anchor_roots(self) -> set[int] | None:
        """Roots allowed to anchor a candidate (``root_required``), None for any."""
        search = self.search
        if not (search.root_required or search.root_forbidden):
            return None
        clauses = [_RP.c.parent_provider_id.is_(None), *search.root_clauses(_RP.c.id)]
        roots = filters.provider_ids_where(self.session, clauses)
        if not roots:
            raise _NoCandidates()
        return roots

    def anchor_ok(self, root: int) -> bool:
        return self.anchor_roots is None or root in self.anchor_roots

    def anchors(self, sharing_ids: set[int]) -> dict[int, set[int]]:
        """Roots of the trees each sharing provider shares an aggregate with."""
        todo = sorted(sharing_ids - self._anchors.keys())
        if todo:
            mine, theirs = _RPA.alias("mine"), _RPA.alias("theirs")
            sel = (
                sa.select(mine.c.resource_provider_id, _RP.c.root_provider_id)
                .join(theirs, theirs.c.aggregate_id == mine.c.aggregate_id)
                .join(_RP, _RP.c.id == theirs.c.resource_provider_id)
                .where(mine.c.resource_provider_id.in_(todo))
            )
            for sp in todo:
                self._anchors[sp] = set()
            for sp, root in self.session.execute(sel):
                self._anchors[sp].add(root)
        return {sp: self._anchors[sp] for sp in sharing_ids}

    def traits(self, provider_ids: set[int]) -> dict[int, set[int]]:
        todo = sorted(provider_ids - self._traits.keys())
        if todo:
            for rp in todo:
                self._traits[rp] = set()
            sel = sa.select(_RPT.c.resource_provider_id, _RPT.c.trait_id).where(
                _RPT.c.resource_provider_id.in_(todo)
            )
            for rp, trait in self.session.execute(sel):
                self._traits[rp].add(trait)
        return self._traits

    def roots(self, provider_ids: set[int]) -> dict[int, int]:
        todo = sorted(provider_ids - self._roots.keys())
        if todo:
            sel = sa.select(_RP.c.id, _RP.c.root_provider_id).where(_RP.c.id.in_(todo))
            self._roots.update(dict(self.session.execute(sel).all()))
        return self._roots


class _GroupSearch:
    """The providers one request group may use, per requested class."""

    def __init__(self, world: _World, rg: ResolvedGroup) -> None:
        self.world = world
        self.rg = rg
        session = world.session
        group = rg.group
        self.in_aggs: set[int] | None = None
        if group.member_of:
            member_of = filters.resolve_member_of(session, group.member_of)
            if member_of is None:
                raise _NoCandidates()
            clauses = [filters.in_any_aggregate(_RP.c.id, ids) for ids in member_of]
            self.in_aggs = filters.provider_ids_where(session, clauses)
            if not self.in_aggs:
                raise _NoCandidates()
        self.bad_aggs: set[int] = set()
        if group.forbidden_aggs:
            bad = filters.aggregate_ids(session, group.forbidden_aggs)
            if bad:
                clause = filters.in_any_aggregate(_RP.c.id, bad.values())
                self.bad_aggs = filters.provider_ids_where(session, [clause])
        self.tree_root: int | None = None
        if group.in_tree is not None:
            self.tree_root = session.scalar(
                sa.select(_RP.c.root_provider_id).where(_RP.c.uuid == group.in_tree)
            )
            if self.tree_root is None:
                raise _NoCandidates()
        #: class id -> {provider id: root id} of providers with capacity for the amount
        self.capacity: dict[int, dict[int, int]] = {}
        for rc, amount in rg.resources.items():
            clauses = [filters.has_capacity(_RP.c.id, rc, amount)]
            if self.tree_root is not None:
                clauses.append(_RP.c.root_provider_id == self.tree_root)
            sel = sa.select(_RP.c.id, _RP.c.root_provider_id).where(*clauses)
            found = dict(session.execute(sel).all())
            if not found:
                raise _NoCandidates()
            self.capacity[rc] = found

    def partials(self) -> list[Partial]:
        world = self.world
        if self.rg.group.use_same_provider or not (world.sharing or world.has_trees):
            return self._single_provider()
        return self._tree()

    def _single_provider(self) -> list[Partial]:
        """Partials where one provider has every requested class (or none: resourceless)."""
        rg, world, session = self.rg, self.world, self.world.session
        allowed: set[int] | None = None
        if rg.required:
            allowed = filters.provider_ids_where(session, filters.has_traits(_RP.c.id, rg.required))
        if self.in_aggs is not None:
            allowed = self.in_aggs if allowed is None else allowed & self.in_aggs
        banned = set(self.bad_aggs)
        if rg.forbidden:
            clause = filters.has_any_trait(_RP.c.id, rg.forbidden)
            banned |= filters.provider_ids_where(session, [clause])
        if rg.resources:
            per_class = [set(found) for found in self.capacity.values()]
            candidates = set.intersection(*per_class)
            if allowed is not None:
                candidates &= allowed
        else:
            clauses: list[filters.Clause] = []
            if allowed is not None:
                clauses.append(_RP.c.id.in_(sorted(allowed)))
            if self.tree_root is not None:
                clauses.append(_RP.c.root_provider_id == self.tree_root)
            candidates = filters.provider_ids_where(session, clauses)
        candidates -= banned
        roots = world.roots(candidates)
        anchors = world.anchors(candidates & world.sharing)
        result = []
        for rp in sorted(candidates):
            resources = tuple((rp, rc, amount) for rc, amount in sorted(rg.resources.items()))
            for anchor in sorted({roots[rp]} | anchors.get(rp, set())):
                if world.anchor_ok(anchor):
                    result.append(Partial(anchor, resources, (rp,), rg.suffix))
        return result

    def _class_options(self, rc: int) -> set[tuple[int, int]]:
        """(provider, anchor) pairs that can supply class ``rc`` for this group."""
        world = self.world
        options = set(self.capacity[rc].items())
        sharing = world.sharing & self.capacity[rc].keys()
        if self.in_aggs is not None:
            sharing &= self.in_aggs
        if sharing and self.tree_root is None:
            for sp, anchors in world.anchors(sharing).items():
                options |= {(sp, anchor) for anchor in anchors}
        options = {(rp, a) for rp, a in options if world.anchor_ok(a)}
        if self.in_aggs is not None:
            options = {(rp, a) for rp, a in options if rp in self.in_aggs or a in self.in_aggs}
        if self.bad_aggs:
            options = {
                (rp, a) for rp, a in options if rp not in self.bad_aggs and a not in self.bad_aggs
            }
        return options

    def _tree(self) -> list[Partial]:
        """Partials where providers of one tree (plus sharing ones) together satisfy the group."""
        rg = self.rg
        by_class = {rc: self._class_options(rc) for rc in sorted(rg.resources)}
        trees = set.intersection(*({a for _, a in opts} for opts in by_class.values()))
        if not trees:
            return []
        involved = {rp for opts in by_class.values() for rp, _ in opts}
        traits = self.world.traits(involved) if (rg.required or rg.forbidden) else {}
        result = []
        for anchor in sorted(trees):
            choices = [
                sorted(rp for rp, a in by_class[rc] if a == anchor) for rc in sorted(rg.resources)
            ]
            for combo in itertools.product(*choices):
                if traits and not _traits_ok(set(combo), traits, rg):
                    continue
                resources = tuple(
                    (rp, rc, rg.resources[rc])
                    for rp, rc in zip(combo, sorted(rg.resources), strict=True)
                )
                result.append(Partial(anchor, resources, tuple(sorted(set(combo))), rg.suffix))
        return result


def _traits_ok(providers: set[int], traits: dict[int, set[int]], rg: ResolvedGroup) -> bool:
    have: set[int] = set()
    for rp in providers:
        mine = traits.get(rp, set())
        if mine & rg.forbidden:
            return False
        have |= mine
    return all(any_of & have for any_of in rg.required)


def search_trees(search: Search) -> list[RawRequest]:
    try:
        world = _World(search)
        partials: dict[str, list[Partial]] = {}
        for rg in search.groups:
            found = _GroupSearch(world, rg).partials()
            if not found:
                return []
            partials[rg.suffix] = found
    except _NoCandidates:
        return []
    return list(itertools.islice(_merge(world, search, partials), search.limit))


def _merge(
    world: _World, search: Search, partials: dict[str, list[Partial]]
) -> Iterator[RawRequest]:
    """Combine one partial per group under each anchor; yield the valid, distinct results."""
    suffixes = list(partials)
    by_anchor: dict[int, dict[str, list[Partial]]] = defaultdict(lambda: defaultdict(list))
    for suffix, found in partials.items():
        for partial in found:
            by_anchor[partial.anchor][suffix].append(partial)
    providers = {rp for found in partials.values() for p in found for rp in p.providers}
    state = inventory_state(world.session, providers)
    roots = world.roots(providers) if search.params.same_subtrees or not search.nested_aware else {}
    parents = _parents(world.session, providers) if search.params.same_subtrees else {}
    granular = sum(1 for s in suffixes if s)
    isolate = search.params.group_policy == "isolate"
    seen: set[tuple[frozenset[tuple[int, int, int]], frozenset[tuple[str, tuple[int, ...]]]]] = (
        set()
    )
    for anchor in sorted(by_anchor):
        lists = by_anchor[anchor]
        if len(lists) != len(suffixes):
            continue
        for combo in itertools.product(*(lists[s] for s in suffixes)):
            if isolate and len({p.providers[0] for p in combo if p.suffix}) != granular:
                continue
            if not all(_same_subtree(combo, s, parents) for s in search.params.same_subtrees):
                continue
            totals: dict[tuple[int, int], int] = defaultdict(int)
            for partial in combo:
                for rp, rc, amount in partial.resources:
                    totals[(rp, rc)] += amount
            if _exceeds(totals, state):
                continue
            if not search.nested_aware and world.has_trees and _multi_per_tree(totals, roots):
                continue
            mappings = {p.suffix: list(p.providers) for p in combo}
            key = (
                frozenset((rp, rc, n) for (rp, rc), n in totals.items()),
                frozenset((s, tuple(sorted(rps))) for s, rps in mappings.items()),
            )
            if key in seen:
                continue
            seen.add(key)
            yield [(rp, rc, n) for (rp, rc), n in totals.items()], mappings


def _exceeds(
    totals: dict[tuple[int, int], int], state: dict[int, dict[int, tuple[int, int, int]]]
) -> bool:
    for (rp, rc), amount in totals.items():
        capacity, used, max_unit = state[rp][rc]
        if used + amount > capacity or amount > max_unit:
            return True
    return False


def _multi_per_tree(totals: dict[tuple[int, int], int], roots: dict[int, int]) -> bool:
    """Before 1.29 a request may not take from two providers of the same tree."""
    providers = {rp for rp, _ in totals}
    return len({roots[rp] for rp in providers}) != len(providers)


def _parents(session: Session, providers: set[int]) -> dict[int, int | None]:
    """Parent of every provider in the trees of ``providers``."""
    sub = sa.select(_RP.c.root_provider_id).where(_RP.c.id.in_(sorted(providers)))
    sel = sa.select(_RP.c.id, _RP.c.parent_provider_id).where(_RP.c.root_provider_id.in_(sub))
    return dict(session.execute(sel).all())


def _same_subtree(
    combo: tuple[Partial, ...], suffixes: set[str], parents: dict[int, int | None]
) -> bool:
    """One of the providers chosen for ``suffixes`` is an ancestor (or self) of all of them."""
    chosen = {rp for p in combo if p.suffix in suffixes for rp in p.providers}
    if len(chosen) <= 1:
        return True

    def lineage(rp: int) -> set[int]:
        line = {rp}
        current = parents.get(rp)
        while current is not None:
            line.add(current)
            current = parents.get(current)
        return line

    common = set.intersection(*(lineage(rp) for rp in chosen))
    return bool(common & chosen)
