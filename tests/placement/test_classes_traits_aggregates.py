"""Resource classes (1.2, 1.7), traits (1.6) and aggregates (1.1, 1.19)."""

from __future__ import annotations

import uuid

import os_resource_classes as orc
import os_traits

from .conftest import Api

AGG1 = "bbbbbbbb-0000-0000-0000-000000000001"
AGG2 = "bbbbbbbb-0000-0000-0000-000000000002"


def test_resource_classes_need_1_2(api: Api) -> None:
    api.get("/resource_classes", version="1.1", status=404)
    api.post("/resource_classes", {"name": "CUSTOM_A"}, version="1.1", status=404)
    listed = api.get("/resource_classes", version="1.2", status=200).json()["resource_classes"]
    assert [rc["name"] for rc in listed][: len(orc.STANDARDS)] == list(orc.STANDARDS)
    assert listed[0]["links"] == [{"rel": "self", "href": "/resource_classes/VCPU"}]


def test_resource_class_lifecycle(api: Api) -> None:
    created = api.post("/resource_classes", {"name": "CUSTOM_GPU"}, status=201)
    assert created.headers["location"] == "http://testserver/resource_classes/CUSTOM_GPU"
    api.post("/resource_classes", {"name": "CUSTOM_GPU"}, status=409)
    api.post("/resource_classes", {"name": "VCPU"}, status=400)
    api.post("/resource_classes", {"name": "CUSTOM_lower"}, status=400)
    shown = api.get("/resource_classes/CUSTOM_GPU", status=200).json()
    assert shown["name"] == "CUSTOM_GPU"
    api.get("/resource_classes/CUSTOM_NOPE", status=404)
    rp = api.provider(inventory={"CUSTOM_GPU": 2})
    api.delete("/resource_classes/CUSTOM_GPU", status=409)
    api.delete(f"/resource_providers/{rp}", status=204)
    api.delete("/resource_classes/CUSTOM_GPU", status=204)
    api.delete("/resource_classes/CUSTOM_GPU", status=404)
    api.delete("/resource_classes/VCPU", status=400)


def test_put_resource_class_by_version(api: Api) -> None:
    api.post("/resource_classes", {"name": "CUSTOM_OLD"}, status=201)
    renamed = api.put(
        "/resource_classes/CUSTOM_OLD", {"name": "CUSTOM_NEW"}, version="1.6", status=200
    )
    assert renamed.json()["name"] == "CUSTOM_NEW"
    api.put("/resource_classes/VCPU", {"name": "CUSTOM_X"}, version="1.6", status=400)
    api.put("/resource_classes/CUSTOM_NONE", {"name": "CUSTOM_X"}, version="1.6", status=404)
    assert api.put("/resource_classes/CUSTOM_MADE", version="1.7").status_code == 201
    assert api.put("/resource_classes/CUSTOM_MADE", version="1.7").status_code == 204
    api.put("/resource_classes/VCPU", version="1.7", status=400)
    api.get("/resource_classes/CUSTOM_MADE", status=200)


def test_traits_need_1_6(api: Api) -> None:
    api.get("/traits", version="1.5", status=404)
    api.put("/traits/CUSTOM_X", version="1.5", status=404)
    rp = api.provider()
    api.get(f"/resource_providers/{rp}/traits", version="1.5", status=404)
    listed = api.get("/traits", version="1.6", status=200).json()["traits"]
    assert set(listed) == set(os_traits.get_traits())


def test_trait_lifecycle(api: Api) -> None:
    created = api.put("/traits/CUSTOM_FAST", status=201)
    assert created.headers["location"] == "http://testserver/traits/CUSTOM_FAST"
    assert api.put("/traits/CUSTOM_FAST").status_code == 204
    api.put("/traits/NOT_CUSTOM", status=400)
    api.put("/traits/CUSTOM_bad", status=400)
    api.get("/traits/CUSTOM_FAST", status=204)
    api.get("/traits/CUSTOM_SLOW", status=404)
    api.delete("/traits/HW_CPU_X86_AVX", status=400)
    rp = api.provider(traits=["CUSTOM_FAST"])
    api.delete("/traits/CUSTOM_FAST", status=409)
    api.delete(f"/resource_providers/{rp}/traits", status=204)
    api.delete("/traits/CUSTOM_FAST", status=204)
    api.delete("/traits/CUSTOM_FAST", status=404)


def test_trait_filters(api: Api) -> None:
    api.put("/traits/CUSTOM_A1", status=201)
    api.put("/traits/CUSTOM_A2", status=201)
    api.provider(traits=["CUSTOM_A1"])
    assert api.get("/traits?name=startswith:CUSTOM_A").json()["traits"] == [
        "CUSTOM_A1",
        "CUSTOM_A2",
    ]
    found = api.get("/traits?name=in:CUSTOM_A2,HW_CPU_X86_AVX,CUSTOM_Z").json()["traits"]
    assert set(found) == {"CUSTOM_A2", "HW_CPU_X86_AVX"}
    assert api.get("/traits?associated=true").json()["traits"] == ["CUSTOM_A1"]
    assert "CUSTOM_A1" not in api.get("/traits?associated=false").json()["traits"]
    api.get("/traits?associated=maybe", status=400)
    api.get("/traits?name=CUSTOM_A1", status=400)
    api.get("/traits?other=1", status=400)


def test_provider_traits(api: Api) -> None:
    rp = api.provider()
    url = f"/resource_providers/{rp}/traits"
    assert api.get(url, status=200).json() == {"traits": [], "resource_provider_generation": 0}
    body = {"traits": ["HW_CPU_X86_AVX", "HW_CPU_X86_SSE"], "resource_provider_generation": 0}
    result = api.put(url, body, status=200).json()
    assert result == {
        "traits": ["HW_CPU_X86_AVX", "HW_CPU_X86_SSE"],
        "resource_provider_generation": 1,
    }
    error = api.put(url, body, status=409).json()["errors"][0]
    assert error["code"] == "placement.concurrent_update"
    same = api.put(url, body | {"resource_provider_generation": 1}, status=200).json()
    assert same["resource_provider_generation"] == 1  # no change, no bump
    bad = {"traits": ["CUSTOM_MISSING"], "resource_provider_generation": 1}
    assert "CUSTOM_MISSING" in api.put(url, bad, status=400).json()["errors"][0]["detail"]
    api.put(url, {"traits": ["HW_CPU_X86_AVX"]}, status=400)
    api.delete(url, status=204)
    assert api.get(url).json() == {"traits": [], "resource_provider_generation": 2}
    api.get(f"/resource_providers/{uuid.uuid4()}/traits", status=404)


def test_aggregates_by_version(api: Api) -> None:
    rp = api.provider()
    url = f"/resource_providers/{rp}/aggregates"
    api.get(url, version="1.0", status=404)
    assert api.get(url, version="1.1", status=200).json() == {"aggregates": []}
    old = api.put(url, [AGG1, AGG2], version="1.1", status=200).json()
    assert sorted(old["aggregates"]) == [AGG1, AGG2]
    assert api.generation(rp) == 0  # no generation before 1.19
    api.put(url, [AGG1, AGG1], version="1.1", status=400)
    api.put(url, ["not-a-uuid"], version="1.1", status=400)
    api.put(url, {"aggregates": [AGG1]}, version="1.18", status=400)
    new = api.get(url, version="1.19", status=200).json()
    assert new["resource_provider_generation"] == 0
    body = {"aggregates": [AGG2], "resource_provider_generation": 0}
    result = api.put(url, body, version="1.19", status=200).json()
    assert result == {"aggregates": [AGG2], "resource_provider_generation": 1}
    error = api.put(url, body, version="1.23", status=409).json()["errors"][0]
    assert error["code"] == "placement.concurrent_update"
    api.put(url, [AGG1], version="1.19", status=400)
    api.get(f"/resource_providers/{uuid.uuid4()}/aggregates", status=404)
