"""Inventories: set, update, delete, generation conflicts and their version boundaries."""

from __future__ import annotations

import uuid

import pytest

from .conftest import Api


def inv_url(rp: str, rc: str = "") -> str:
    return f"/resource_providers/{rp}/inventories" + (f"/{rc}" if rc else "")


def test_set_list_and_defaults(api: Api) -> None:
    rp = api.provider()
    body = api.set_inventory(rp, {"VCPU": {"total": 8, "allocation_ratio": 16.0}, "DISK_GB": 100})
    assert body["resource_provider_generation"] == 1
    assert body["inventories"]["DISK_GB"] == {
        "total": 100,
        "reserved": 0,
        "min_unit": 1,
        "max_unit": 2147483647,
        "step_size": 1,
        "allocation_ratio": 1.0,
    }
    listed = api.get(inv_url(rp), status=200)
    assert listed.json() == body
    assert listed.headers["cache-control"] == "no-cache"
    one = api.get(inv_url(rp, "VCPU"), status=200).json()
    assert one["allocation_ratio"] == 16.0 and one["resource_provider_generation"] == 1
    api.get(inv_url(rp, "MEMORY_MB"), status=404)
    api.get(inv_url(str(uuid.uuid4())), status=404)


def test_generation_conflict(api: Api) -> None:
    rp = api.provider()
    api.set_inventory(rp, {"VCPU": 4})
    stale = {"resource_provider_generation": 0, "inventories": {"VCPU": {"total": 8}}}
    error = api.put(inv_url(rp), stale, status=409).json()["errors"][0]
    assert error["code"] == "placement.concurrent_update"
    stale_one = {"resource_provider_generation": 0, "total": 8}
    error = api.put(inv_url(rp, "VCPU"), stale_one, status=409).json()["errors"][0]
    assert error["code"] == "placement.concurrent_update"


def test_post_put_delete_one(api: Api) -> None:
    rp = api.provider()
    created = api.post(inv_url(rp), {"resource_class": "VCPU", "total": 4}, status=201)
    assert created.headers["location"] == "http://testserver" + inv_url(rp, "VCPU")
    assert created.json()["resource_provider_generation"] == 1
    api.post(inv_url(rp), {"resource_class": "VCPU", "total": 4}, status=409)
    api.post(inv_url(rp), {"resource_class": "CUSTOM_NOPE", "total": 4}, status=400)
    update = {"resource_provider_generation": 1, "total": 6, "reserved": 1}
    updated = api.put(inv_url(rp, "VCPU"), update, status=200).json()
    assert (updated["total"], updated["reserved"], updated["resource_provider_generation"]) == (
        6,
        1,
        2,
    )
    missing = {"resource_provider_generation": 2, "total": 6}
    api.put(inv_url(rp, "DISK_GB"), missing, status=400)
    api.delete(inv_url(rp, "VCPU"), status=204)
    api.delete(inv_url(rp, "VCPU"), status=404)
    assert api.generation(rp) == 3


@pytest.mark.parametrize(
    "record",
    [
        {"total": 0},
        {"total": -1},
        {"total": 2147483648},
        {"total": 1, "reserved": -1},
        {"total": 1, "step_size": 0},
        {"total": 1, "min_unit": 0},
        {"total": 1, "bogus": 1},
        {"total": "1"},
        {"total": 1, "allocation_ratio": 3.5e38},
        {"reserved": 1},
    ],
)
def test_invalid_records(api: Api, record: dict[str, object]) -> None:
    rp = api.provider()
    body = {"resource_provider_generation": 0, "inventories": {"VCPU": record}}
    api.put(inv_url(rp), body, status=400)


def test_unknown_class_is_400(api: Api) -> None:
    rp = api.provider()
    body = {"resource_provider_generation": 0, "inventories": {"CUSTOM_NOPE": {"total": 1}}}
    detail = api.put(inv_url(rp), body, status=400).json()["errors"][0]["detail"]
    assert "CUSTOM_NOPE" in detail
    api.put(
        inv_url(rp), {"resource_provider_generation": 0, "inventories": {"vcpu": {}}}, status=400
    )


def test_reserved_equal_total_from_1_26(api: Api) -> None:
    rp = api.provider()
    body = {"resource_provider_generation": 0, "inventories": {"VCPU": {"total": 4, "reserved": 4}}}
    api.put(inv_url(rp), body, version="1.25", status=400)
    api.put(inv_url(rp), body, version="1.26", status=200)
    worse = {
        "resource_provider_generation": 1,
        "inventories": {"VCPU": {"total": 4, "reserved": 5}},
    }
    api.put(inv_url(rp), worse, version="1.26", status=400)


def test_delete_all_from_1_5(api: Api) -> None:
    rp = api.provider(inventory={"VCPU": 4, "DISK_GB": 10})
    response = api.delete(inv_url(rp), version="1.4", status=405)
    assert response.json()["errors"][0]["title"] == "Method Not Allowed"
    api.delete(inv_url(rp), version="1.5", status=204)
    assert api.get(inv_url(rp)).json()["inventories"] == {}


def test_inventory_in_use(api: Api) -> None:
    rp = api.provider(inventory={"VCPU": 4, "DISK_GB": 10})
    api.allocate(str(uuid.uuid4()), {rp: {"VCPU": 2}})
    gen = api.generation(rp)
    body = {"resource_provider_generation": gen, "inventories": {"DISK_GB": {"total": 10}}}
    error = api.put(inv_url(rp), body, status=409).json()["errors"][0]
    assert error["code"] == "placement.inventory.inuse"
    error = api.delete(inv_url(rp), status=409).json()["errors"][0]
    assert error["code"] == "placement.inventory.inuse"
    api.delete(inv_url(rp, "VCPU"), status=409)
    api.delete(inv_url(rp, "DISK_GB"), status=204)
    # shrinking below usage is allowed (the provider is then over capacity)
    gen = api.generation(rp)
    shrink = {"resource_provider_generation": gen, "inventories": {"VCPU": {"total": 1}}}
    api.put(inv_url(rp), shrink, status=200)
