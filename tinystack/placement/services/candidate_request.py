"""What ``GET /allocation_candidates`` asks for, as the API layer parsed it."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class RequestGroup:
    """One request group: the unsuffixed one (``resources``) or a granular ``resources<S>``.

    A granular group (``use_same_provider``) must be satisfied by one provider;
    the unsuffixed group by any providers of one tree plus sharing providers.
    """

    suffix: str = ""
    resources: dict[str, int] = field(default_factory=dict)
    #: AND of any-of sets: [{A}, {B, C}] means A and (B or C)
    required_traits: list[set[str]] = field(default_factory=list)
    forbidden_traits: set[str] = field(default_factory=set)
    #: AND of any-of sets of aggregate uuids
    member_of: list[set[str]] = field(default_factory=list)
    forbidden_aggs: set[str] = field(default_factory=set)
    in_tree: str | None = None

    @property
    def use_same_provider(self) -> bool:
        return bool(self.suffix)


@dataclass
class RequestWideParams:
    limit: int | None = None
    group_policy: str | None = None
    root_required: set[str] = field(default_factory=set)
    root_forbidden: set[str] = field(default_factory=set)
    #: each set: suffixes whose providers must all sit under one of them
    same_subtrees: list[set[str]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Summary:
    """One provider in ``provider_summaries``."""

    uuid: str
    parent_uuid: str | None
    root_uuid: str
    #: class -> (capacity, used)
    resources: dict[str, tuple[int, int]] = field(default_factory=dict)
    traits: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class AllocationRequest:
    #: provider uuid -> class -> amount
    allocations: dict[str, dict[str, int]]
    #: group suffix -> provider uuids
    mappings: dict[str, list[str]]


@dataclass(frozen=True, slots=True)
class Candidates:
    allocation_requests: list[AllocationRequest] = field(default_factory=list)
    provider_summaries: dict[str, Summary] = field(default_factory=dict)
