"""Resource providers: CRUD, trees, filters and their microversion boundaries."""

from __future__ import annotations

import uuid

import pytest

from .conftest import Api

AGG1 = "aaaaaaaa-0000-0000-0000-000000000001"
AGG2 = "aaaaaaaa-0000-0000-0000-000000000002"
AGG3 = "aaaaaaaa-0000-0000-0000-000000000003"


def names(response: object) -> set[str]:
    return {p["name"] for p in response.json()["resource_providers"]}  # type: ignore[attr-defined]


def test_create_before_and_after_1_20(api: Api) -> None:
    old = api.post("/resource_providers", {"name": "old"}, version="1.19", status=201)
    assert old.content == b""
    assert old.headers["location"].startswith("http://testserver/resource_providers/")
    new = api.post("/resource_providers", {"name": "new"}, version="1.20", status=200)
    body = new.json()
    assert new.headers["location"] == f"http://testserver/resource_providers/{body['uuid']}"
    assert body["generation"] == 0 and body["name"] == "new"
    assert body["root_provider_uuid"] == body["uuid"]
    assert body["parent_provider_uuid"] is None


def test_create_with_uuid_normalizes_it(api: Api) -> None:
    raw = uuid.uuid4().hex
    body = api.post("/resource_providers", {"name": "x", "uuid": raw}, status=200).json()
    assert body["uuid"] == str(uuid.UUID(raw))


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"name": ""},
        {"name": "x" * 201},
        {"name": "x", "uuid": "not-a-uuid"},
        {"name": "x", "extra": 1},
        {"name": 5},
    ],
)
def test_create_invalid(api: Api, body: dict[str, object]) -> None:
    error = api.post("/resource_providers", body, status=400).json()["errors"][0]
    assert error["code"] == "placement.undefined_code"


def test_parent_needs_1_14(api: Api) -> None:
    parent = api.provider("parent")
    api.post(
        "/resource_providers",
        {"name": "child", "parent_provider_uuid": parent},
        version="1.13",
        status=400,
    )


def test_duplicates_conflict(api: Api) -> None:
    rp = api.provider("dup")
    error = api.post("/resource_providers", {"name": "dup"}, status=409).json()["errors"][0]
    assert error["code"] == "placement.duplicate_name"
    api.post("/resource_providers", {"name": "other", "uuid": rp}, status=409)
    other = api.provider("other")
    response = api.put(f"/resource_providers/{other}", {"name": "dup"}, status=409)
    assert response.json()["errors"][0]["code"] == "placement.duplicate_name"


def test_show_update_delete(api: Api) -> None:
    rp = api.provider("before")
    shown = api.get(f"/resource_providers/{rp}", status=200)
    assert shown.json()["name"] == "before"
    assert shown.headers["cache-control"] == "no-cache"
    updated = api.put(f"/resource_providers/{rp}", {"name": "after"}, status=200).json()
    assert updated["name"] == "after" and updated["generation"] == 0
    api.delete(f"/resource_providers/{rp}", status=204)
    api.get(f"/resource_providers/{rp}", status=404)
    api.delete(f"/resource_providers/{rp}", status=404)
    api.put(f"/resource_providers/{rp}", {"name": "x"}, status=404)


def test_links_by_version(api: Api) -> None:
    rp = api.provider()

    def rels(version: str) -> list[str]:
        body = api.get(f"/resource_providers/{rp}", version=version, status=200).json()
        return [link["rel"] for link in body["links"]]

    assert rels("1.0") == ["self", "inventories", "usages"]
    assert rels("1.1") == ["self", "inventories", "usages", "aggregates"]
    assert rels("1.6")[-1] == "traits"
    assert rels("1.11")[-1] == "allocations"
    assert "root_provider_uuid" not in api.get(f"/resource_providers/{rp}", version="1.13").json()


def test_nested_tree(api: Api) -> None:
    root = api.provider("root")
    child = api.provider("child", parent=root)
    grandchild = api.provider("grandchild", parent=child)
    body = api.get(f"/resource_providers/{grandchild}", status=200).json()
    assert body["parent_provider_uuid"] == child
    assert body["root_provider_uuid"] == root
    other = api.provider("other")
    tree = api.get(f"/resource_providers?in_tree={child}", status=200)
    assert names(tree) == {"root", "child", "grandchild"}
    assert names(api.get(f"/resource_providers?in_tree={other}")) == {"other"}
    missing = str(uuid.uuid4())
    assert names(api.get(f"/resource_providers?in_tree={missing}", status=200)) == set()
    api.get(f"/resource_providers?in_tree={child}", version="1.13", status=400)
    error = api.delete(f"/resource_providers/{child}", status=409).json()["errors"][0]
    assert error["code"] == "placement.resource_provider.cannot_delete_parent"


def test_bad_parent(api: Api) -> None:
    me = str(uuid.uuid4())
    api.post(
        "/resource_providers",
        {"name": "x", "uuid": me, "parent_provider_uuid": me},
        status=400,
    )
    api.post(
        "/resource_providers",
        {"name": "x", "parent_provider_uuid": str(uuid.uuid4())},
        status=400,
    )


def test_reparenting_needs_1_37(api: Api) -> None:
    root1, root2 = api.provider("r1"), api.provider("r2")
    child = api.provider("c", parent=root1)
    leaf = api.provider("leaf", parent=child)
    move = {"name": "c", "parent_provider_uuid": root2}
    detail = api.put(f"/resource_providers/{child}", move, version="1.36", status=400).json()
    assert "re-parenting" in detail["errors"][0]["detail"]
    unparent = {"name": "c", "parent_provider_uuid": None}
    api.put(f"/resource_providers/{child}", unparent, version="1.36", status=400)
    # setting a parent on a root provider was always allowed
    api.put(
        f"/resource_providers/{root2}",
        {"name": "r2", "parent_provider_uuid": root1},
        version="1.14",
        status=200,
    )
    api.put(
        f"/resource_providers/{root2}",
        {"name": "r2", "parent_provider_uuid": None},
        version="1.37",
        status=200,
    )
    moved = api.put(f"/resource_providers/{child}", move, version="1.37", status=200).json()
    assert moved["root_provider_uuid"] == root2
    assert api.get(f"/resource_providers/{leaf}").json()["root_provider_uuid"] == root2
    loop = {"name": "c", "parent_provider_uuid": leaf}
    detail = api.put(f"/resource_providers/{child}", loop, version="1.37", status=400).json()
    assert "loop" in detail["errors"][0]["detail"]
    freed = api.put(f"/resource_providers/{child}", unparent, version="1.37", status=200)
    assert freed.json()["root_provider_uuid"] == child
    assert api.get(f"/resource_providers/{leaf}").json()["root_provider_uuid"] == child


def test_filter_name_uuid(api: Api) -> None:
    a = api.provider("a")
    api.provider("b")
    assert names(api.get("/resource_providers?name=a", version="1.0")) == {"a"}
    assert names(api.get(f"/resource_providers?uuid={a}", version="1.0")) == {"a"}
    api.get("/resource_providers?uuid=nope", status=400)
    api.get("/resource_providers?bogus=1", status=400)


def test_filter_member_of(api: Api) -> None:
    api.provider("one", aggregates=[AGG1])
    api.provider("two", aggregates=[AGG2])
    api.provider("both", aggregates=[AGG1, AGG2])
    api.provider("none")
    api.get(f"/resource_providers?member_of={AGG1}", version="1.2", status=400)
    assert names(api.get(f"/resource_providers?member_of={AGG1}", version="1.3")) == {
        "one",
        "both",
    }
    any_of = f"/resource_providers?member_of=in:{AGG1},{AGG2}"
    assert names(api.get(any_of, version="1.3")) == {"one", "two", "both"}
    both = f"/resource_providers?member_of={AGG1}&member_of={AGG2}"
    api.get(both, version="1.23", status=400)
    assert names(api.get(both, version="1.24")) == {"both"}
    api.get(f"/resource_providers?member_of=!{AGG1}", version="1.31", status=400)
    assert names(api.get(f"/resource_providers?member_of=!{AGG1}", version="1.32")) == {
        "two",
        "none",
    }
    not_any = f"/resource_providers?member_of=!in:{AGG1},{AGG2}"
    assert names(api.get(not_any, version="1.32")) == {"none"}
    api.get(f"/resource_providers?member_of={AGG1},{AGG2}", status=400)
    api.get("/resource_providers?member_of=not-a-uuid", status=400)
    assert names(api.get(f"/resource_providers?member_of={AGG3}", status=200)) == set()


def test_filter_resources(api: Api) -> None:
    api.provider("small", inventory={"VCPU": 2, "MEMORY_MB": 1024})
    api.provider("big", inventory={"VCPU": 16, "MEMORY_MB": {"total": 8192, "max_unit": 2048}})
    api.get("/resource_providers?resources=VCPU:4", version="1.3", status=400)
    assert names(api.get("/resource_providers?resources=VCPU:4", version="1.4")) == {"big"}
    assert names(api.get("/resource_providers?resources=VCPU:1,MEMORY_MB:1024")) == {
        "small",
        "big",
    }
    assert names(api.get("/resource_providers?resources=MEMORY_MB:4096")) == set()
    error = api.get("/resource_providers?resources=NOPE:1", status=400).json()["errors"][0]
    assert "Invalid resource class" in error["detail"]
    for bad in ("VCPU", "VCPU:x", "VCPU:0", ""):
        api.get(f"/resource_providers?resources={bad}", status=400)


def test_filter_required_traits(api: Api) -> None:
    api.provider("avx", traits=["HW_CPU_X86_AVX"])
    api.provider("avx2", traits=["HW_CPU_X86_AVX", "HW_CPU_X86_AVX2"])
    api.provider("sse", traits=["HW_CPU_X86_SSE"])
    url = "/resource_providers?required="
    api.get(url + "HW_CPU_X86_AVX", version="1.17", status=400)
    assert names(api.get(url + "HW_CPU_X86_AVX", version="1.18")) == {"avx", "avx2"}
    assert names(api.get(url + "HW_CPU_X86_AVX,HW_CPU_X86_AVX2")) == {"avx2"}
    api.get(url + "HW_CPU_X86_AVX,!HW_CPU_X86_AVX2", version="1.21", status=400)
    assert names(api.get(url + "HW_CPU_X86_AVX,!HW_CPU_X86_AVX2", version="1.22")) == {"avx"}
    any_of = url + "in:HW_CPU_X86_AVX2,HW_CPU_X86_SSE"
    api.get(any_of, version="1.38", status=400)
    assert names(api.get(any_of, version="1.39")) == {"avx2", "sse"}
    repeated = url + "HW_CPU_X86_AVX&required=!HW_CPU_X86_AVX2"
    assert names(api.get(repeated, version="1.38")) == {"avx", "sse"}  # only the last counts
    assert names(api.get(repeated, version="1.39")) == {"avx"}
    error = api.get(url + "CUSTOM_NOPE", status=400).json()["errors"][0]
    assert "CUSTOM_NOPE" in error["detail"]
    api.get(url + "HW_CPU_X86_AVX,", status=400)


def test_delete_in_use(api: Api) -> None:
    rp = api.provider(inventory={"VCPU": 4}, traits=["HW_CPU_X86_AVX"], aggregates=[AGG1])
    consumer = str(uuid.uuid4())
    api.allocate(consumer, {rp: {"VCPU": 1}})
    error = api.delete(f"/resource_providers/{rp}", status=409).json()["errors"][0]
    assert error["code"] == "placement.resource_provider.inuse"
    api.delete(f"/allocations/{consumer}", status=204)
    api.delete(f"/resource_providers/{rp}", status=204)
