"""Placement acceptance with the real openstack CLI (osc-placement) against ``tinystack up``."""

from __future__ import annotations

import subprocess
import uuid
from typing import Any

import pytest

from tests.cloudproc import CloudProcess

pytestmark = pytest.mark.cli
V = ("--os-placement-api-version", "1.39")


@pytest.fixture(autouse=True)
def _needs_placement(cloud: CloudProcess) -> None:
    if "placement" not in cloud.services:
        pytest.skip("the placement service is not part of this cloud")


def osc(cloud: CloudProcess, *args: str) -> Any:
    """The CLI at microversion 1.39; deletes (no output) run without ``-f json``."""
    if "delete" in args[:4]:
        result = cloud.osc_raw(*V, *args)
        if result.returncode != 0:
            raise subprocess.CalledProcessError(
                result.returncode, ["openstack", *V, *args], result.stdout, result.stderr
            )
        return result.stdout
    return cloud.osc(*V, *args)


def test_placement_with_the_cli(cloud: CloudProcess) -> None:
    suffix = uuid.uuid4().hex[:6].upper()
    name = f"cn-{suffix.lower()}"
    custom_rc, custom_trait = f"CUSTOM_FPGA_{suffix}", f"CUSTOM_GOLD_{suffix}"
    aggregate, consumer, project = str(uuid.uuid4()), str(uuid.uuid4()), uuid.uuid4().hex

    created = osc(cloud, "resource", "provider", "create", name)
    rp = created["uuid"]
    assert created["generation"] == 0 and created["root_provider_uuid"] == rp
    assert rp in {p["uuid"] for p in osc(cloud, "resource", "provider", "list")}
    osc(cloud, "resource", "provider", "set", "--name", name + "-x", rp)
    shown = osc(cloud, "resource", "provider", "show", rp)
    assert shown["name"] == name + "-x"

    osc(cloud, "resource", "class", "create", custom_rc)
    assert custom_rc in {c["name"] for c in osc(cloud, "resource", "class", "list")}
    osc(cloud, "trait", "create", custom_trait)
    assert custom_trait in {t["name"] for t in osc(cloud, "trait", "list")}

    inventory = osc(
        cloud, "resource", "provider", "inventory", "set", rp,
        "--resource", "VCPU=8", "--resource", "MEMORY_MB=4096",
        "--resource", f"{custom_rc}=2", "--resource", "VCPU:allocation_ratio=2.0",
    )  # fmt: skip
    assert {row["resource_class"] for row in inventory} == {"VCPU", "MEMORY_MB", custom_rc}
    osc(cloud, "resource", "provider", "inventory", "delete", rp, "--resource-class", custom_rc)
    listed = osc(cloud, "resource", "provider", "inventory", "list", rp)
    vcpu = next(row for row in listed if row["resource_class"] == "VCPU")
    assert (vcpu["total"], vcpu["allocation_ratio"]) == (8, 2.0)
    assert len(listed) == 2

    traits = osc(cloud, "resource", "provider", "trait", "set", rp,
                 "--trait", "HW_CPU_X86_AVX", "--trait", custom_trait)  # fmt: skip
    assert {t["name"] for t in traits} == {"HW_CPU_X86_AVX", custom_trait}
    gen = osc(cloud, "resource", "provider", "show", rp)["generation"]
    aggs = osc(cloud, "resource", "provider", "aggregate", "set", rp,
               "--aggregate", aggregate, "--generation", str(gen))  # fmt: skip
    assert [a["uuid"] for a in aggs] == [aggregate]

    found = osc(cloud, "allocation", "candidate", "list",
                "--resource", "VCPU=1", "--required", "HW_CPU_X86_AVX")  # fmt: skip
    assert rp in {row["resource provider"] for row in found}
    none = osc(cloud, "allocation", "candidate", "list",
               "--resource", "VCPU=1", "--required", "HW_CPU_X86_AVX2")  # fmt: skip
    assert rp not in {row["resource provider"] for row in none}

    allocated = osc(
        cloud, "resource", "provider", "allocation", "set", consumer,
        "--allocation", f"rp={rp},VCPU=2,MEMORY_MB=512",
        "--project-id", project, "--user-id", "someone", "--consumer-type", "INSTANCE",
    )  # fmt: skip
    assert allocated[0]["resources"] == {"VCPU": 2, "MEMORY_MB": 512}
    shown = osc(cloud, "resource", "provider", "allocation", "show", consumer)
    assert shown[0]["resource_provider"] == rp and shown[0]["project_id"] == project
    usage = osc(cloud, "resource", "provider", "usage", "show", rp)
    assert {row["resource_class"]: row["usage"] for row in usage}["VCPU"] == 2
    # osc-placement shows the per-class totals as they were before 1.38's grouping by type
    totals = cloud.osc("--os-placement-api-version", "1.9", "resource", "usage", "show", project)
    assert {row["resource_class"]: row["usage"] for row in totals} == {
        "VCPU": 2,
        "MEMORY_MB": 512,
    }

    with pytest.raises(subprocess.CalledProcessError) as in_use:
        osc(cloud, "resource", "provider", "delete", rp)
    assert "409" in in_use.value.stderr or "in use" in in_use.value.stderr.lower()
    osc(cloud, "resource", "provider", "allocation", "delete", consumer)
    assert osc(cloud, "resource", "provider", "allocation", "show", consumer) == []
    osc(cloud, "resource", "provider", "delete", rp)
    with pytest.raises(subprocess.CalledProcessError):
        osc(cloud, "resource", "provider", "show", rp)
