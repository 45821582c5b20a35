"""Scheduler filters and weighers, one behaviour per test, on hand-built host states."""

from __future__ import annotations

from typing import Any

import pytest
from oslo_config import cfg

from tinystack.compute import conf as compute_conf
from tinystack.compute.objects import RequestSpec
from tinystack.compute.scheduler import filters, request_spec, weights
from tinystack.compute.scheduler.filters.extra_specs_ops import match
from tinystack.compute.scheduler.filters.same_host import RESOLVED
from tinystack.compute.scheduler.host_state import HostState, NodeFacts


def host(
    name: str = "h1",
    *,
    disabled: bool = False,
    up: bool = True,
    zone: str = "nova",
    aggregates: list[dict[str, str]] | None = None,
    free_ram: int = 4096,
    free_vcpus: int = 8,
    free_disk: int = 100,
    members: int = 0,
) -> HostState:
    facts = NodeFacts(
        uuid=f"uuid-{name}",
        host=name,
        nodename=name,
        disabled=disabled,
        up=up,
        availability_zone=zone,
        aggregates=aggregates or [],
        hypervisor_type="fake",
        hypervisor_version=1000,
        supported_instances=[["x86_64", "fake", "hvm"]],
        cpu_info={"arch": "x86_64"},
    )
    return HostState(
        facts=facts,
        allocation_request={},
        capacity={"MEMORY_MB": free_ram, "VCPU": free_vcpus, "DISK_GB": free_disk},
        used={},
        group_members=members,
    )


def spec(**kw: Any) -> RequestSpec:
    base: dict[str, Any] = {
        "project_id": "p",
        "user_id": "u",
        "flavor": {"vcpus": 1, "memory_mb": 512, "root_gb": 1},
    }
    base.update(kw)
    return RequestSpec.from_dict(base)


def passes(name: str, h: HostState, s: RequestSpec) -> bool:
    return filters.load([name])[0].host_passes(h, s)


def test_compute_filter_skips_disabled_and_down_hosts() -> None:
    assert passes("ComputeFilter", host(), spec())
    assert not passes("ComputeFilter", host(disabled=True), spec())
    assert not passes("ComputeFilter", host(up=False), spec())


def test_availability_zone_filter() -> None:
    assert passes("AvailabilityZoneFilter", host(zone="az1"), spec())
    assert passes("AvailabilityZoneFilter", host(zone="az1"), spec(availability_zone="az1"))
    assert not passes("AvailabilityZoneFilter", host(zone="nova"), spec(availability_zone="az1"))
    assert passes("AvailabilityZoneFilter", host(zone="az1,az2"), spec(availability_zone="az2"))


def test_anti_affinity_filter_counts_members() -> None:
    group = {"uuid": "g", "policy": "anti-affinity", "rules": {}}
    assert passes("ServerGroupAntiAffinityFilter", host(members=0), spec(group=group))
    assert not passes("ServerGroupAntiAffinityFilter", host(members=1), spec(group=group))
    group["rules"] = {"max_server_per_host": 3}
    assert passes("ServerGroupAntiAffinityFilter", host(members=2), spec(group=group))
    assert not passes("ServerGroupAntiAffinityFilter", host(members=3), spec(group=group))


def test_affinity_filter_follows_the_group() -> None:
    group: dict[str, Any] = {"uuid": "g", "policy": "affinity", "hosts": []}
    assert passes("ServerGroupAffinityFilter", host("a"), spec(group=group))
    group["hosts"] = ["b"]
    assert not passes("ServerGroupAffinityFilter", host("a"), spec(group=group))
    assert passes("ServerGroupAffinityFilter", host("b"), spec(group=group))


def test_same_and_different_host_filters() -> None:
    s = spec(scheduler_hints={"same_host": ["i1"], RESOLVED: {"same_host": ["a"]}})
    assert passes("SameHostFilter", host("a"), s)
    assert not passes("SameHostFilter", host("b"), s)
    d = spec(scheduler_hints={"different_host": "i1", RESOLVED: {"different_host": ["a"]}})
    assert not passes("DifferentHostFilter", host("a"), d)
    assert passes("DifferentHostFilter", host("b"), d)


def test_image_properties_filter() -> None:
    image = {"id": "i", "properties": {"hw_architecture": "x86_64"}}
    assert passes("ImagePropertiesFilter", host(), spec(image=image))
    image["properties"] = {"hw_architecture": "aarch64"}
    assert not passes("ImagePropertiesFilter", host(), spec(image=image))
    image["properties"] = {"img_hv_type": "kvm"}
    assert not passes("ImagePropertiesFilter", host(), spec(image=image))


def test_aggregate_extra_specs_filter() -> None:
    flavor = {
        "vcpus": 1,
        "memory_mb": 1,
        "extra_specs": {"aggregate_instance_extra_specs:ssd": "true"},
    }
    assert not passes("AggregateInstanceExtraSpecsFilter", host(), spec(flavor=flavor))
    ssd = host(aggregates=[{"ssd": "true"}])
    assert passes("AggregateInstanceExtraSpecsFilter", ssd, spec(flavor=flavor))
    flavor["extra_specs"] = {"hw:cpu_policy": "shared"}  # scoped elsewhere: ignored
    assert passes("AggregateInstanceExtraSpecsFilter", host(), spec(flavor=flavor))


def test_compute_capabilities_filter() -> None:
    flavor = {"vcpus": 1, "memory_mb": 1, "extra_specs": {"capabilities:hypervisor_type": "fake"}}
    assert passes("ComputeCapabilitiesFilter", host(), spec(flavor=flavor))
    flavor["extra_specs"] = {"capabilities:hypervisor_type": "s== qemu"}
    assert not passes("ComputeCapabilitiesFilter", host(), spec(flavor=flavor))


@pytest.mark.parametrize(
    ("actual", "requirement", "expected"),
    [
        ("4", ">= 2", True),
        ("1", ">= 2", False),
        ("4", "= 2", True),
        ("abc", "s== abc", True),
        ("abc", "s!= abc", False),
        ("a,b,c", "<in> b", True),
        ("x", "<or> x <or> y", True),
        ("z", "<or> x <or> y", False),
        ("plain", "plain", True),
    ],
)
def test_extra_spec_operators(actual: str, requirement: str, expected: bool) -> None:
    assert match(actual, requirement) is expected


def _opts(**overrides: float) -> compute_conf.Options:
    conf = cfg.ConfigOpts()
    compute_conf.register_opts(conf)
    conf([])
    for key, value in overrides.items():
        conf.set_override(key, value, group="compute")
    return compute_conf.Options.from_conf(conf)


def test_resource_weighers_spread() -> None:
    hosts = [host("small", free_ram=1024, free_vcpus=2), host("big", free_ram=8192, free_vcpus=8)]
    weights.weigh(weights.load(["RAMWeigher", "CPUWeigher"], _opts()), hosts, spec())
    assert max(hosts, key=lambda h: h.weight).host == "big"


def test_negative_multiplier_stacks() -> None:
    hosts = [host("small", free_ram=1024), host("big", free_ram=8192)]
    weigher = weights.load(["RAMWeigher"], _opts(ram_weight_multiplier=-1.0))
    weights.weigh(weigher, hosts, spec())
    assert max(hosts, key=lambda h: h.weight).host == "small"


def test_soft_affinity_weighers() -> None:
    hosts = [host("a", members=2), host("b", members=0)]
    soft = weights.load(
        ["ServerGroupSoftAffinityWeigher", "ServerGroupSoftAntiAffinityWeigher"], _opts()
    )
    weights.weigh(soft, hosts, spec(group={"uuid": "g", "policy": "soft-affinity"}))
    assert max(hosts, key=lambda h: h.weight).host == "a"
    weights.weigh(soft, hosts, spec(group={"uuid": "g", "policy": "soft-anti-affinity"}))
    assert max(hosts, key=lambda h: h.weight).host == "b"


def test_normalise() -> None:
    assert weights.normalise([1.0, 3.0, 2.0]) == [0.0, 1.0, 0.5]
    assert weights.normalise([5.0, 5.0]) == [0.0, 0.0]


def test_request_spec_resources_and_traits() -> None:
    s = spec(
        flavor={
            "vcpus": 2,
            "memory_mb": 2048,
            "root_gb": 10,
            "ephemeral_gb": 5,
            "swap": 1536,
            "extra_specs": {
                "resources:CUSTOM_GPU": "1",
                "trait:HW_CPU_X86_AVX": "required",
                "trait:CUSTOM_SLOW": "forbidden",
            },
        }
    )
    assert request_spec.resources(s) == {
        "VCPU": 2,
        "MEMORY_MB": 2048,
        "DISK_GB": 17,
        "CUSTOM_GPU": 1,
    }
    assert request_spec.traits(s) == ["!COMPUTE_STATUS_DISABLED", "!CUSTOM_SLOW", "HW_CPU_X86_AVX"]
    bfv = spec(flavor={"vcpus": 1, "memory_mb": 1, "root_gb": 10}, is_bfv=True)
    assert "DISK_GB" not in request_spec.resources(bfv)


def test_unknown_plugins_are_refused() -> None:
    with pytest.raises(ValueError):
        filters.load(["NoSuchFilter"])
    with pytest.raises(ValueError):
        weights.load(["NoSuchWeigher"], _opts())


def test_request_spec_round_trips_on_the_wire_and_in_the_database() -> None:
    stored: dict[str, Any] = {
        "project_id": "p",
        "user_id": "u",
        "flavor": {
            "id": 3,
            "flavorid": "42",
            "name": "m1.small",
            "vcpus": 1,
            "memory_mb": 2048,
            "root_gb": 20,
            "ephemeral_gb": 0,
            "swap": 0,
            "rxtx_factor": 1.0,
            "vcpu_weight": None,
            "is_public": True,
            "disabled": False,
            "description": None,
            "extra_specs": {"hw:cpu_policy": "shared"},
        },
        "image": {
            "id": "i",
            "properties": {"hw_architecture": "x86_64"},
            "min_ram": 0,
            "min_disk": 1,
        },
        "availability_zone": "az1",
        "scheduler_hints": {"same_host": ["i1"]},
        "group": {"uuid": "g", "policy": "anti-affinity", "rules": {"max_server_per_host": 2}},
        "force_hosts": ["h1"],
        "force_nodes": [],
        "requested_destination": {"host": "h1", "node": None},
        "num_instances": 2,
        "is_bfv": False,
        "ignore_hosts": [],
        "requested_networks": [{"network_id": "n", "port_id": None, "fixed_ip": None, "tag": "t"}],
        "security_groups": ["default"],
    }
    s = RequestSpec.from_dict(stored)
    assert s.to_dict() == stored
    assert RequestSpec.from_primitive(s.to_primitive()) == s
    auto = RequestSpec.from_dict({**stored, "requested_networks": "auto"})
    assert RequestSpec.from_primitive(auto.to_primitive()).networks() == "auto"
