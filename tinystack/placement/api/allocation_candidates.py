"""``GET /allocation_candidates`` (1.10) and its query language, version by version."""

from __future__ import annotations

import functools
import re
from typing import Any

from starlette.responses import Response

from tinystack.common.exceptions import BadRequest
from tinystack.placement import exception
from tinystack.placement.api import params
from tinystack.placement.api.deps import PlacementReq, PlacementRequest
from tinystack.placement.policies import allocation_candidate as policies
from tinystack.placement.services import candidates as ac_obj
from tinystack.placement.services.candidate_request import (
    Candidates,
    RequestGroup,
    RequestWideParams,
)

_LIMIT = re.compile(r"^[1-9][0-9]*$")


@functools.cache
def _group_keys(in_tree: bool, named: bool, suffixed: bool) -> tuple[re.Pattern[str], list[str]]:
    """The pattern of request group keys, and one regex per prefix for error messages."""
    prefixes = ["resources", "required", "member_of"] + (["in_tree"] if in_tree else [])
    suffix = r"[a-zA-Z0-9_-]{1,64}" if named else r"[1-9][0-9]*"
    joined = "|".join(prefixes)
    pattern = re.compile(rf"^({joined})({suffix})?$" if suffixed else rf"^({joined})()$")
    return pattern, sorted(f"^{p}({suffix})?$" for p in prefixes)


def _check_keys(req: PlacementRequest) -> re.Pattern[str]:
    """400 for parameters this version does not know; returns the request group key pattern."""
    allowed = ["resources"]
    for key, version in (
        ("limit", "1.16"),
        ("required", "1.17"),
        ("member_of", "1.21"),
        ("group_policy", "1.25"),
        ("root_required", "1.35"),
        ("same_subtree", "1.36"),
    ):
        if req.at_least(version):
            allowed.append(key)
    suffixed = req.at_least("1.25")
    pattern, regexes = _group_keys(req.at_least("1.31"), req.at_least("1.33"), suffixed)
    req.check_query(allowed, pattern if suffixed else None, regexes)
    if not suffixed and "resources" not in req.query:
        raise BadRequest("Invalid query string parameters: 'resources' is a required property")
    return pattern


def _groups(req: PlacementRequest, pattern: re.Pattern[str]) -> dict[str, RequestGroup]:
    groups: dict[str, RequestGroup] = {}
    query = req.query
    for key in dict.fromkeys(query.keys()):
        match = pattern.match(key)
        if not match:
            continue
        prefix, suffix = match.group(1), match.group(2) or ""
        group = groups.setdefault(suffix, RequestGroup(suffix=suffix))
        values = query.getlist(key)
        if prefix == "resources":
            group.resources = params.resources(values[-1])
        elif prefix == "required":
            group.required_traits, group.forbidden_traits = params.required(values, req.version)
        elif prefix == "member_of":
            group.member_of, group.forbidden_aggs = params.member_of(values, req.version, suffix)
        else:
            group.in_tree = params.in_tree(values[-1])
    return groups


def _check_orphans(groups: dict[str, RequestGroup]) -> None:
    orphans = [f"required{s}" for s, g in groups.items() if g.required_traits and not g.resources]
    if orphans:
        raise BadRequest(
            "All traits parameters must be associated with resources.  Found the following "
            f"orphaned traits keys: {', '.join(orphans)}"
        )
    orphans = [
        f"member_of{s}"
        for s, g in groups.items()
        if not g.resources and (g.member_of or g.forbidden_aggs)
    ]
    if orphans:
        raise BadRequest(
            "All member_of parameters must be associated with resources. Found the following "
            f"orphaned member_of keys: {', '.join(orphans)}"
        )
    if not all(g.resources for g in groups.values()):
        raise BadRequest("All request groups must specify resources.")
    if not groups:
        raise BadRequest("At least one request group (`resources` or `resources{$S}`) is required.")


def _check_subtrees(groups: dict[str, RequestGroup], wide: RequestWideParams) -> None:
    resourceless = [s for s, g in groups.items() if not g.resources]
    subtree = set().union(*wide.same_subtrees)
    if len(resourceless) == len(groups):
        raise BadRequest(
            "There must be at least one resources or resources[$S] parameter.",
            code=exception.QUERYPARAM_MISSING_VALUE,
        )
    bad = [s for s in resourceless if s not in subtree]
    if bad:
        raise BadRequest(
            "Resourceless suffixed group request should be specified in `same_subtree` query "
            f"param: bad group(s) - {bad}.",
            code=exception.QUERYPARAM_BAD_VALUE,
        )
    unknown = sorted(s for s in subtree if s not in groups)
    if unknown:
        raise BadRequest(
            f"Real suffixes should be specified in `same_subtree`: {unknown} not found in "
            f"{list(groups)}.",
            code=exception.QUERYPARAM_BAD_VALUE,
        )


def _check_conflicts(groups: dict[str, RequestGroup]) -> None:
    conflicts = [
        f"required{s}: ({', '.join(sorted(any_of))})"
        for s, g in groups.items()
        for any_of in g.required_traits
        if any_of <= g.forbidden_traits
    ]
    if conflicts:
        raise BadRequest(
            "Conflicting required and forbidden traits found in the following traits keys: "
            + ", ".join(sorted(conflicts))
        )


def _wide_params(req: PlacementRequest) -> RequestWideParams:
    query, wide = req.query, RequestWideParams()
    if "limit" in query:
        limit = query.getlist("limit")[0]
        if not _LIMIT.match(limit):
            raise BadRequest(
                f"Invalid query string parameters: '{limit}' does not match '^[1-9][0-9]*$'"
                "\n\nFailed validating 'pattern' in schema"
            )
        wide.limit = int(limit)
    if "group_policy" in query:
        wide.group_policy = query.getlist("group_policy")[0]
        if wide.group_policy not in ("none", "isolate"):
            raise BadRequest(
                f"Invalid query string parameters: '{wide.group_policy}' is not one of "
                "['none', 'isolate']"
            )
    roots = query.getlist("root_required")
    if len(roots) > 1:
        raise BadRequest(
            "Query parameter 'root_required' may be specified only once.",
            code=exception.ILLEGAL_DUPLICATE_QUERYPARAM,
        )
    if roots:
        wide.root_required, wide.root_forbidden = params.root_required(roots[0])
    for value in query.getlist("same_subtree"):
        suffixes = {s.strip() for s in value.split(",")}
        if "" in suffixes:
            raise BadRequest(
                "Empty string (unsuffixed group) can not be specified in `same_subtree` ",
                code=exception.QUERYPARAM_BAD_VALUE,
            )
        wide.same_subtrees.append(suffixes)
    return wide


def _serialize_requests(req: PlacementRequest, found: Candidates) -> list[dict[str, Any]]:
    if not req.at_least("1.12"):
        return [
            {
                "allocations": [
                    {"resource_provider": {"uuid": rp}, "resources": resources}
                    for rp, resources in ar.allocations.items()
                ]
            }
            for ar in found.allocation_requests
        ]
    result = []
    for ar in found.allocation_requests:
        item: dict[str, Any] = {
            "allocations": {rp: {"resources": res} for rp, res in ar.allocations.items()}
        }
        if req.at_least("1.34"):
            item["mappings"] = ar.mappings
        result.append(item)
    return result


def _serialize_summaries(
    req: PlacementRequest, found: Candidates, requested: set[str]
) -> dict[str, Any]:
    all_classes = req.at_least("1.27")
    traits, nested = req.at_least("1.17"), req.at_least("1.29")
    result = {}
    for uuid, summary in found.provider_summaries.items():
        item: dict[str, Any] = {
            "resources": {
                rc: {"capacity": cap, "used": used}
                for rc, (cap, used) in summary.resources.items()
                if all_classes or rc in requested
            }
        }
        if traits:
            item["traits"] = summary.traits
        if nested:
            item["parent_provider_uuid"] = summary.parent_uuid
            item["root_provider_uuid"] = summary.root_uuid
        result[uuid] = item
    return result


def list_allocation_candidates(req: PlacementReq) -> Response:
    req.can(policies.LIST)
    pattern = _check_keys(req)
    wide = _wide_params(req)
    groups = _groups(req, pattern)
    if req.at_least("1.36"):
        _check_subtrees(groups, wide)
    else:
        _check_orphans(groups)
    if req.at_least("1.22"):
        _check_conflicts(groups)
    if not wide.group_policy and sum(1 for s in groups if s) > 1:
        raise BadRequest(
            'The "group_policy" parameter is required when specifying more than one '
            '"resources{N}" parameter.'
        )
    found = ac_obj.find(req.deps, list(groups.values()), wide, req.at_least("1.29"))
    requested = {rc for g in groups.values() for rc in g.resources}
    body = {
        "allocation_requests": _serialize_requests(req, found),
        "provider_summaries": _serialize_summaries(req, found, requested),
    }
    return req.respond(body)
