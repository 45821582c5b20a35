"""Allocations across the body formats of 1.0, 1.8, 1.12, 1.13, 1.28, 1.34 and 1.38."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from .conftest import Api


def new_id() -> str:
    return str(uuid.uuid4())


@pytest.fixture
def rp(api: Api) -> str:
    return api.provider(
        "compute",
        inventory={
            "VCPU": {"total": 8},
            "MEMORY_MB": {"total": 1024, "min_unit": 64, "max_unit": 512, "step_size": 64},
        },
    )


def test_put_list_format_before_1_12(api: Api, rp: str) -> None:
    consumer = new_id()
    body = {"allocations": [{"resource_provider": {"uuid": rp}, "resources": {"VCPU": 1}}]}
    api.put(f"/allocations/{consumer}", body, version="1.0", status=204)
    api.put(f"/allocations/{consumer}", body, version="1.8", status=400)
    with_ids = body | {"project_id": "p", "user_id": "u"}
    api.put(f"/allocations/{consumer}", with_ids, version="1.7", status=400)
    api.put(f"/allocations/{consumer}", with_ids, version="1.8", status=204)
    api.put(f"/allocations/{consumer}", with_ids, version="1.12", status=400)
    found = api.get(f"/allocations/{consumer}", version="1.11", status=200).json()
    assert found == {"allocations": {rp: {"generation": 3, "resources": {"VCPU": 1}}}}


def test_put_dict_format_and_get_by_version(api: Api, rp: str) -> None:
    consumer = new_id()
    body = {"allocations": {rp: {"resources": {"VCPU": 2}}}, "project_id": "p", "user_id": "u"}
    api.put(f"/allocations/{consumer}", body, version="1.11", status=400)
    api.put(f"/allocations/{consumer}", body, version="1.12", status=204)
    at_1_12 = api.get(f"/allocations/{consumer}", version="1.12", status=200).json()
    assert at_1_12["project_id"] == "p" and at_1_12["user_id"] == "u"
    assert "consumer_generation" not in at_1_12
    at_1_28 = api.get(f"/allocations/{consumer}", version="1.28").json()
    assert at_1_28["consumer_generation"] == 1
    assert "consumer_type" not in at_1_28
    at_1_38 = api.get(f"/allocations/{consumer}", version="1.38").json()
    assert at_1_38["consumer_type"] == "unknown"
    assert api.get(f"/allocations/{new_id()}").json() == {"allocations": {}}


def test_consumer_generations_from_1_28(api: Api, rp: str) -> None:
    consumer = new_id()
    base = {"allocations": {rp: {"resources": {"VCPU": 1}}}, "project_id": "p", "user_id": "u"}
    api.put(f"/allocations/{consumer}", base, version="1.28", status=400)  # generation required
    wrong = base | {"consumer_generation": 3}
    error = api.put(f"/allocations/{consumer}", wrong, version="1.28", status=409).json()
    assert error["errors"][0]["code"] == "placement.concurrent_update"
    assert "expected null" in error["errors"][0]["detail"]
    api.put(f"/allocations/{consumer}", base | {"consumer_generation": None}, version="1.28")
    api.put(f"/allocations/{consumer}", base | {"consumer_generation": None}, version="1.28",
            status=409)  # fmt: skip
    api.put(f"/allocations/{consumer}", base | {"consumer_generation": 1}, version="1.28",
            status=204)  # fmt: skip
    assert api.get(f"/allocations/{consumer}").json()["consumer_generation"] == 2
    # an empty allocations object deletes, safely
    empty = {"allocations": {}, "project_id": "p", "user_id": "u", "consumer_generation": 2}
    api.put(f"/allocations/{consumer}", empty, version="1.27", status=400)
    api.put(f"/allocations/{consumer}", empty, version="1.28", status=204)
    assert api.get(f"/allocations/{consumer}").json() == {"allocations": {}}


def test_mappings_and_consumer_type(api: Api, rp: str) -> None:
    consumer = new_id()
    body: dict[str, Any] = {
        "allocations": {rp: {"resources": {"VCPU": 1}}},
        "project_id": "p",
        "user_id": "u",
        "consumer_generation": None,
        "mappings": {"": [rp]},
    }
    api.put(f"/allocations/{consumer}", body, version="1.33", status=400)
    api.put(f"/allocations/{consumer}", body, version="1.34", status=204)
    body["consumer_generation"] = 1
    api.put(f"/allocations/{consumer}", body, version="1.38", status=400)  # type required
    body["consumer_type"] = "MIGRATION"
    api.put(f"/allocations/{consumer}", body, version="1.38", status=204)
    assert api.get(f"/allocations/{consumer}").json()["consumer_type"] == "MIGRATION"
    body |= {"consumer_type": "bad type", "consumer_generation": 2}
    api.put(f"/allocations/{consumer}", body, version="1.38", status=400)


def test_capacity_and_unit_rules(api: Api, rp: str) -> None:
    ok = api.allocate(new_id(), {rp: {"VCPU": 8}})
    assert ok.status_code == 204
    full = api.allocate(new_id(), {rp: {"VCPU": 1}}, status=409).json()["errors"][0]
    assert "exceed the capacity" in full["detail"]
    assert full["code"] == "placement.undefined_code"
    for amount in (32, 576, 1024):  # below min_unit, above max_unit, not a step
        api.allocate(new_id(), {rp: {"MEMORY_MB": amount}}, status=409)
    api.allocate(new_id(), {rp: {"MEMORY_MB": 128}})
    api.allocate(new_id(), {rp: {"DISK_GB": 1}}, status=409)  # no such inventory
    api.allocate(new_id(), {rp: {"CUSTOM_NOPE": 1}}, status=400)
    api.allocate(new_id(), {new_id(): {"VCPU": 1}}, status=400)
    api.allocate(new_id(), {rp: {"VCPU": 0}}, status=400)
    api.put("/allocations/not-a-uuid", {}, status=400)


def test_replacing_own_allocation_frees_capacity(api: Api, rp: str) -> None:
    consumer = new_id()
    api.allocate(consumer, {rp: {"VCPU": 6}})
    api.allocate(consumer, {rp: {"VCPU": 8}}, generation=1)
    usage = api.get(f"/resource_providers/{rp}/usages").json()["usages"]
    assert usage["VCPU"] == 8


def test_over_capacity_may_shrink(api: Api, rp: str) -> None:
    consumer = new_id()
    api.allocate(consumer, {rp: {"VCPU": 8}})
    gen = api.generation(rp)
    shrink = {"resource_provider_generation": gen, "inventories": {"VCPU": {"total": 4},
              "MEMORY_MB": {"total": 1024}}}  # fmt: skip
    api.put(f"/resource_providers/{rp}/inventories", shrink, status=200)
    api.allocate(consumer, {rp: {"VCPU": 6}}, generation=1)  # still over, but better
    api.allocate(consumer, {rp: {"VCPU": 7}}, generation=2, status=409)


def test_post_allocations(api: Api, rp: str) -> None:
    one, two = new_id(), new_id()
    body: dict[str, dict[str, Any]] = {
        one: {"allocations": {rp: {"resources": {"VCPU": 2}}}, "project_id": "p",
              "user_id": "u", "consumer_generation": None, "consumer_type": "INSTANCE"},
        two: {"allocations": {rp: {"resources": {"VCPU": 3}}}, "project_id": "p",
              "user_id": "u", "consumer_generation": None, "consumer_type": "INSTANCE"},
    }  # fmt: skip
    api.post("/allocations", body, version="1.12", status=404)
    api.post("/allocations", body, version="1.37", status=400)  # consumer_type not allowed
    api.post("/allocations", body, status=204)
    assert api.get(f"/resource_providers/{rp}/usages").json()["usages"]["VCPU"] == 5
    # move: clear one, grow the other, atomically
    body[one] |= {"allocations": {}, "consumer_generation": 1}
    body[two] |= {"allocations": {rp: {"resources": {"VCPU": 9}}}, "consumer_generation": 1}
    api.post("/allocations", body, status=409)  # nothing changes when one consumer fails
    body[two]["allocations"] = {rp: {"resources": {"VCPU": 6}}}
    api.post("/allocations", body, status=204)
    assert api.get(f"/allocations/{one}").json() == {"allocations": {}}
    assert api.get(f"/resource_providers/{rp}/usages").json()["usages"]["VCPU"] == 6
    old = {one: {"allocations": {rp: {"resources": {"VCPU": 1}}}, "project_id": "p",
                 "user_id": "u"}}  # fmt: skip
    api.post("/allocations", old, version="1.13", status=204)
    api.post("/allocations", {}, status=400)


def test_delete_and_provider_allocations(api: Api, rp: str) -> None:
    consumer = new_id()
    api.allocate(consumer, {rp: {"VCPU": 2, "MEMORY_MB": 128}})
    listed = api.get(f"/resource_providers/{rp}/allocations", version="1.27").json()
    assert listed["allocations"] == {consumer: {"resources": {"VCPU": 2, "MEMORY_MB": 128}}}
    assert listed["resource_provider_generation"] == api.generation(rp)
    new = api.get(f"/resource_providers/{rp}/allocations", version="1.28").json()
    assert new["allocations"][consumer]["consumer_generation"] == 1
    api.get(f"/resource_providers/{new_id()}/allocations", status=404)
    api.delete(f"/allocations/{consumer}", status=204)
    api.delete(f"/allocations/{consumer}", status=404)
    assert api.get(f"/resource_providers/{rp}/allocations").json()["allocations"] == {}
    # the consumer record went away with its last allocation
    api.allocate(consumer, {rp: {"VCPU": 1}}, generation=None)


def test_allocation_touches_generations(api: Api, rp: str) -> None:
    gen = api.generation(rp)
    consumer = new_id()
    api.allocate(consumer, {rp: {"VCPU": 1}})
    assert api.generation(rp) == gen + 1
    found = api.get(f"/allocations/{consumer}").json()
    assert found["allocations"][rp]["generation"] == gen + 1
