"""GET /allocation_candidates: flat, nested and sharing providers, version by version."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import Api

AGG = "cccccccc-0000-0000-0000-000000000001"
OTHER_AGG = "cccccccc-0000-0000-0000-000000000002"
AC = "/allocation_candidates?"


def providers_of(body: dict[str, Any]) -> list[set[str]]:
    """Each allocation request as the set of providers it uses."""
    return [set(ar["allocations"]) for ar in body["allocation_requests"]]


def candidates(api: Api, query: str, version: str = "latest", status: int = 200) -> Any:
    return api.get(AC + query, version=version, status=status).json()


@pytest.fixture
def flat(api: Api) -> dict[str, str]:
    return {
        "small": api.provider(
            "small", inventory={"VCPU": 2, "MEMORY_MB": 1024, "DISK_GB": 10},
            traits=["HW_CPU_X86_AVX"],
        ),
        "big": api.provider(
            "big", inventory={"VCPU": 32, "MEMORY_MB": 65536, "DISK_GB": 1000},
            traits=["HW_CPU_X86_AVX", "HW_CPU_X86_AVX2"], aggregates=[AGG],
        ),
        "nodisk": api.provider("nodisk", inventory={"VCPU": 8, "MEMORY_MB": 8192}),
    }  # fmt: skip


def test_needs_1_10(api: Api, flat: dict[str, str]) -> None:
    candidates(api, "resources=VCPU:1", version="1.9", status=404)
    body = candidates(api, "resources=VCPU:1", version="1.10")
    assert len(body["allocation_requests"]) == 3
    first = body["allocation_requests"][0]["allocations"]
    assert isinstance(first, list) and set(first[0]) == {"resource_provider", "resources"}
    summary = body["provider_summaries"][flat["small"]]
    assert summary == {"resources": {"VCPU": {"capacity": 2, "used": 0}}}


def test_dict_format_and_summaries_by_version(api: Api, flat: dict[str, str]) -> None:
    body = candidates(api, "resources=VCPU:1,DISK_GB:5", version="1.12")
    assert providers_of(body) == [{flat["small"]}, {flat["big"]}]
    request = body["allocation_requests"][0]
    assert request == {"allocations": {flat["small"]: {"resources": {"VCPU": 1, "DISK_GB": 5}}}}
    summary = candidates(api, "resources=VCPU:1", version="1.17")["provider_summaries"]
    assert summary[flat["small"]]["traits"] == ["HW_CPU_X86_AVX"]
    assert set(summary[flat["small"]]["resources"]) == {"VCPU"}
    full = candidates(api, "resources=VCPU:1", version="1.27")["provider_summaries"]
    assert set(full[flat["small"]]["resources"]) == {"VCPU", "MEMORY_MB", "DISK_GB"}
    assert "root_provider_uuid" not in full[flat["small"]]
    nested = candidates(api, "resources=VCPU:1", version="1.29")["provider_summaries"]
    assert nested[flat["small"]]["root_provider_uuid"] == flat["small"]
    assert nested[flat["small"]]["parent_provider_uuid"] is None
    mapped = candidates(api, "resources=VCPU:1", version="1.34")["allocation_requests"][0]
    assert mapped["mappings"] == {"": [flat["small"]]}


def test_capacity_filters(api: Api, flat: dict[str, str]) -> None:
    assert providers_of(candidates(api, "resources=VCPU:4,MEMORY_MB:2048")) == [
        {flat["big"]},
        {flat["nodisk"]},
    ]
    consumer = "dddddddd-0000-0000-0000-000000000001"
    api.allocate(consumer, {flat["nodisk"]: {"VCPU": 6}})
    assert providers_of(candidates(api, "resources=VCPU:4")) == [{flat["big"]}]
    summary = candidates(api, "resources=VCPU:1")["provider_summaries"][flat["nodisk"]]
    assert summary["resources"]["VCPU"] == {"capacity": 8, "used": 6}


def test_limit_from_1_16(api: Api, flat: dict[str, str]) -> None:
    candidates(api, "resources=VCPU:1&limit=1", version="1.15", status=400)
    body = candidates(api, "resources=VCPU:1&limit=1", version="1.16")
    assert len(body["allocation_requests"]) == 1
    assert list(body["provider_summaries"]) == [flat["small"]]
    for bad in ("0", "-1", "x"):
        candidates(api, f"resources=VCPU:1&limit={bad}", status=400)


def test_required_and_forbidden_traits(api: Api, flat: dict[str, str]) -> None:
    candidates(api, "resources=VCPU:1&required=HW_CPU_X86_AVX", version="1.16", status=400)
    avx = candidates(api, "resources=VCPU:1&required=HW_CPU_X86_AVX", version="1.17")
    assert providers_of(avx) == [{flat["small"]}, {flat["big"]}]
    forbidden = "resources=VCPU:1&required=!HW_CPU_X86_AVX2"
    candidates(api, forbidden, version="1.21", status=400)
    assert providers_of(candidates(api, forbidden, version="1.22")) == [
        {flat["small"]},
        {flat["nodisk"]},
    ]
    any_of = "resources=VCPU:1&required=in:HW_CPU_X86_AVX2,HW_CPU_X86_SSE"
    candidates(api, any_of, version="1.38", status=400)
    assert providers_of(candidates(api, any_of, version="1.39")) == [{flat["big"]}]
    conflict = "resources=VCPU:1&required=HW_CPU_X86_AVX,!HW_CPU_X86_AVX"
    detail = candidates(api, conflict, status=400)["errors"][0]["detail"]
    assert "Conflicting required and forbidden traits" in detail
    missing = candidates(api, "resources=VCPU:1&required=CUSTOM_NOPE", status=400)
    assert "CUSTOM_NOPE" in missing["errors"][0]["detail"]


def test_member_of(api: Api, flat: dict[str, str]) -> None:
    query = f"resources=VCPU:1&member_of={AGG}"
    candidates(api, query, version="1.20", status=400)
    assert providers_of(candidates(api, query, version="1.21")) == [{flat["big"]}]
    none = candidates(api, f"resources=VCPU:1&member_of={OTHER_AGG}")
    assert none == {"allocation_requests": [], "provider_summaries": {}}
    not_in = f"resources=VCPU:1&member_of=!{AGG}"
    candidates(api, not_in, version="1.31", status=400)
    assert len(candidates(api, not_in, version="1.32")["allocation_requests"]) == 2


def test_bad_requests(api: Api, flat: dict[str, str]) -> None:
    candidates(api, "", version="1.24", status=400)
    candidates(api, "limit=5", status=400)
    candidates(api, "resources=NOPE:1", status=400)
    candidates(api, "resources=VCPU", status=400)
    candidates(api, "resources=VCPU:1&bogus=1", status=400)
    orphan = candidates(api, "resources=VCPU:1&required1=HW_CPU_X86_AVX", version="1.35",
                        status=400)  # fmt: skip
    assert "orphaned traits" in orphan["errors"][0]["detail"]
    candidates(api, "resources=VCPU:1&group_policy=sometimes", status=400)
    twice = "resources=VCPU:1&root_required=HW_CPU_X86_AVX&root_required=HW_CPU_X86_SSE"
    error = candidates(api, twice, status=400)["errors"][0]
    assert error["code"] == "placement.query.duplicate_key"
    only_required = candidates(api, "required=HW_CPU_X86_AVX", status=400)["errors"][0]
    assert only_required["code"] == "placement.query.missing_value"


@pytest.fixture
def numa(api: Api) -> dict[str, str]:
    """A compute node with two NUMA nodes, each with a NIC physical function."""
    host = api.provider("host", traits=["HW_CPU_X86_AVX"])
    numa0 = api.provider("numa0", parent=host, inventory={"VCPU": 4, "MEMORY_MB": 2048})
    numa1 = api.provider("numa1", parent=host, inventory={"VCPU": 4, "MEMORY_MB": 2048})
    pf0 = api.provider("pf0", parent=numa0, inventory={"SRIOV_NET_VF": 8},
                       traits=["CUSTOM_PHYSNET_A"])  # fmt: skip
    pf1 = api.provider("pf1", parent=numa1, inventory={"SRIOV_NET_VF": 8},
                       traits=["CUSTOM_PHYSNET_B"])  # fmt: skip
    return {"host": host, "numa0": numa0, "numa1": numa1, "pf0": pf0, "pf1": pf1}


def test_nested_from_1_29(api: Api, numa: dict[str, str]) -> None:
    query = "resources=VCPU:2,MEMORY_MB:512"
    new = candidates(api, query, version="1.29")
    assert len(new["allocation_requests"]) == 4
    assert {numa["numa0"], numa["numa1"]} in providers_of(new)
    assert set(new["provider_summaries"]) == set(numa.values())
    assert new["provider_summaries"][numa["pf0"]]["parent_provider_uuid"] == numa["numa0"]
    old = candidates(api, query, version="1.28")
    assert providers_of(old) == [{numa["numa0"]}, {numa["numa1"]}]
    # before 1.29 the summaries name only the providers the requests use
    assert set(old["provider_summaries"]) == {numa["numa0"], numa["numa1"]}


def test_unsuffixed_traits_across_tree(api: Api, numa: dict[str, str]) -> None:
    body = candidates(api, "resources=VCPU:1,SRIOV_NET_VF:1&required=CUSTOM_PHYSNET_B")
    assert providers_of(body) == [{numa["numa0"], numa["pf1"]}, {numa["numa1"], numa["pf1"]}]
    body = candidates(api, "resources=VCPU:1,SRIOV_NET_VF:1&required=!CUSTOM_PHYSNET_B")
    assert providers_of(body) == [{numa["numa0"], numa["pf0"]}, {numa["numa1"], numa["pf0"]}]


def test_granular_groups(api: Api, numa: dict[str, str]) -> None:
    query = "resources1=VCPU:2,MEMORY_MB:512&resources2=SRIOV_NET_VF:1&required2=CUSTOM_PHYSNET_A"
    candidates(api, query, version="1.24", status=400)
    missing = candidates(api, query, version="1.25", status=400)
    assert "group_policy" in missing["errors"][0]["detail"]
    body = candidates(api, query + "&group_policy=none", version="1.34")
    assert providers_of(body) == [{numa["numa0"], numa["pf0"]}, {numa["numa1"], numa["pf0"]}]
    assert body["allocation_requests"][0]["mappings"] == {"1": [numa["numa0"]], "2": [numa["pf0"]]}
    candidates(api, query.replace("required2", "required_X"), version="1.32", status=400)


def test_group_policy(api: Api, numa: dict[str, str]) -> None:
    query = "resources1=VCPU:1&resources2=VCPU:1&group_policy="
    assert len(candidates(api, query + "isolate")["allocation_requests"]) == 2
    shared = candidates(api, query + "none")
    assert len(shared["allocation_requests"]) == 4
    same = [ar for ar in shared["allocation_requests"] if len(ar["allocations"]) == 1]
    assert same[0]["allocations"][numa["numa0"]]["resources"] == {"VCPU": 2}
    consumer = "dddddddd-0000-0000-0000-000000000002"
    api.allocate(consumer, {numa["numa0"]: {"VCPU": 3}})
    after = candidates(api, query + "none")
    assert {numa["numa0"]} not in providers_of(after)


def test_in_tree_and_string_suffixes(api: Api, numa: dict[str, str]) -> None:
    other = api.provider("other", inventory={"VCPU": 4})
    query = f"resources=VCPU:1&in_tree={other}"
    candidates(api, query, version="1.30", status=400)
    assert providers_of(candidates(api, query, version="1.31")) == [{other}]
    in_numa = candidates(api, f"resources=VCPU:1&in_tree={numa['pf0']}")
    assert providers_of(in_numa) == [{numa["numa0"]}, {numa["numa1"]}]
    named = f"resources_CPU=VCPU:1&in_tree_CPU={numa['host']}"
    candidates(api, named, version="1.32", status=400)
    assert len(candidates(api, named, version="1.33")["allocation_requests"]) == 2


def test_root_required(api: Api, numa: dict[str, str]) -> None:
    api.provider("flat", inventory={"VCPU": 4})
    query = "resources=VCPU:1&root_required=HW_CPU_X86_AVX"
    candidates(api, query, version="1.34", status=400)
    assert providers_of(candidates(api, query, version="1.35")) == [
        {numa["numa0"]},
        {numa["numa1"]},
    ]
    excluded = candidates(api, "resources=VCPU:1&root_required=!HW_CPU_X86_AVX")
    assert len(excluded["allocation_requests"]) == 1


def test_same_subtree(api: Api, numa: dict[str, str]) -> None:
    query = (
        "resources_CPU=VCPU:1&resources_NET=SRIOV_NET_VF:1&group_policy=none&same_subtree=_CPU,_NET"
    )
    candidates(api, query, version="1.35", status=400)
    body = candidates(api, query, version="1.36")
    assert providers_of(body) == [{numa["numa0"], numa["pf0"]}, {numa["numa1"], numa["pf1"]}]
    resourceless = (
        "resources_CPU=VCPU:1&required_NIC=CUSTOM_PHYSNET_B&group_policy=none"
        "&same_subtree=_CPU,_NIC"
    )
    body = candidates(api, resourceless)
    assert providers_of(body) == [{numa["numa1"]}]
    assert body["allocation_requests"][0]["mappings"] == {
        "_CPU": [numa["numa1"]],
        "_NIC": [numa["pf1"]],
    }
    unlisted = candidates(api, "resources_CPU=VCPU:1&required_NIC=CUSTOM_PHYSNET_B"
                          "&group_policy=none", status=400)  # fmt: skip
    assert unlisted["errors"][0]["code"] == "placement.query.bad_value"
    unknown = candidates(api, "resources_CPU=VCPU:1&same_subtree=_CPU,_NOPE", status=400)
    assert unknown["errors"][0]["code"] == "placement.query.bad_value"


@pytest.fixture
def sharing(api: Api) -> dict[str, str]:
    cn1 = api.provider("cn1", inventory={"VCPU": 4}, aggregates=[AGG])
    cn2 = api.provider("cn2", inventory={"VCPU": 4}, aggregates=[AGG])
    cn3 = api.provider("cn3", inventory={"VCPU": 4, "DISK_GB": 5})
    storage = api.provider(
        "storage", inventory={"DISK_GB": 100}, traits=["MISC_SHARES_VIA_AGGREGATE"],
        aggregates=[AGG],
    )  # fmt: skip
    return {"cn1": cn1, "cn2": cn2, "cn3": cn3, "storage": storage}


def test_sharing_providers(api: Api, sharing: dict[str, str]) -> None:
    body = candidates(api, "resources=VCPU:1,DISK_GB:10")
    assert providers_of(body) == [
        {sharing["cn1"], sharing["storage"]},
        {sharing["cn2"], sharing["storage"]},
    ]
    assert set(body["provider_summaries"]) == {sharing["cn1"], sharing["cn2"], sharing["storage"]}
    local = providers_of(candidates(api, "resources=VCPU:1,DISK_GB:5"))
    assert {sharing["cn3"]} in local and len(local) == 3
    only_disk = candidates(api, "resources=DISK_GB:10")
    assert providers_of(only_disk) == [{sharing["storage"]}]
    granular = candidates(api, "resources1=VCPU:1&resources2=DISK_GB:10&group_policy=isolate")
    assert len(granular["allocation_requests"]) == 2
    member = candidates(api, f"resources=VCPU:1,DISK_GB:10&member_of={AGG}")
    assert len(member["allocation_requests"]) == 2
