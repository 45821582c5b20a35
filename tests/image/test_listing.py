"""GET /v2/images: visibility rules, filters, sorting and pagination."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from tests.image.conftest import PROJECT_A, PROJECT_B, Api


def names(api: Api, query: str = "", headers: dict[str, str] | None = None) -> list[str]:
    resp = api.client.get(f"/v2/images{query}", headers=headers or api.headers())
    assert resp.status_code == 200, resp.text
    return [image["name"] for image in resp.json()["images"]]


@pytest.fixture
def catalog(api: Api) -> Api:
    """Images of every visibility, owned by projects A and B and the admin."""
    admin = api.admin()
    api.create(admin, name="public", visibility="public")
    api.create(name="a-private", visibility="private", disk_format="qcow2")
    api.create(name="a-shared", visibility="shared", tags=["x", "y"], flavor="small")
    api.create(name="a-community", visibility="community", tags=["x"])
    api.create(name="a-hidden", os_hidden=True, protected=True)
    api.create(api.headers(PROJECT_B), name="b-private", visibility="private")
    api.create(api.headers(PROJECT_B), name="b-community", visibility="community")
    return api


def test_visibility_rules(catalog: Api) -> None:
    api = catalog
    assert sorted(names(api)) == ["a-community", "a-private", "a-shared", "public"]
    assert sorted(names(api, headers=api.headers(PROJECT_B))) == [
        "b-community",
        "b-private",
        "public",
    ]
    assert sorted(names(api, headers=api.admin())) == [
        "a-private",
        "a-shared",
        "b-private",
        "public",
    ]
    assert sorted(names(api, "?visibility=community")) == ["a-community", "b-community"]
    assert sorted(names(api, "?visibility=all", api.admin())) == [
        "a-community",
        "a-private",
        "a-shared",
        "b-community",
        "b-private",
        "public",
    ]
    assert names(api, "?visibility=private", api.headers(PROJECT_B)) == ["b-private"]


def test_hidden_images(catalog: Api) -> None:
    assert names(catalog, "?os_hidden=true") == ["a-hidden"]
    assert "a-hidden" not in names(catalog)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?name=a-private", ["a-private"]),
        ('?name=in:a-private,"a-shared"', ["a-private", "a-shared"]),
        ("?status=queued&visibility=private", ["a-private"]),
        ("?status=in:active,saving", []),
        ("?disk_format=qcow2", ["a-private"]),
        ("?container_format=in:bare&visibility=shared", ["a-shared"]),
        ("?tag=x", ["a-community", "a-shared"]),
        ("?tag=x&tag=y", ["a-shared"]),
        ("?tag=z", []),
        ("?flavor=small", ["a-shared"]),
        ("?flavor=large", []),
        (f"?owner={PROJECT_A}&visibility=shared", ["a-shared"]),
        ("?protected=true&os_hidden=true", ["a-hidden"]),
        ("?protected=false&visibility=private", ["a-private"]),
        ("?visibility=public", ["public"]),
        ("?min_ram=0&name=public", ["public"]),
    ],
)
def test_filters(catalog: Api, query: str, expected: list[str]) -> None:
    assert sorted(names(catalog, query)) == expected


def test_size_filters(api: Api) -> None:
    api.active(name="small", data=b"s" * 1000)
    api.active(name="big", data=b"b" * 5000)
    assert names(api, "?size_min=2000") == ["big"]
    assert names(api, "?size_max=2000") == ["small"]
    assert names(api, "?size_min=500&size_max=6000&sort=name:asc") == ["big", "small"]


def test_time_filters(api: Api) -> None:
    first = api.create(name="first")
    time.sleep(1.1)
    second = api.create(name="second")
    created = first["created_at"]
    assert names(api, f"?created_at=gt:{created}") == ["second"]
    assert sorted(names(api, f"?created_at=gte:{created}")) == ["first", "second"]
    assert names(api, f"?created_at=lte:{created}") == ["first"]
    assert names(api, f"?created_at=eq:{created}") == ["first"]
    assert names(api, f"?created_at={created}") == ["first"]
    assert names(api, f"?created_at=neq:{created}") == ["second"]
    assert names(api, f"?updated_at=gt:{second['updated_at']}") == []
    later = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).isoformat()
    assert names(api, f"?updated_at=lt:{later.replace('+', '%2B')}") == ["second", "first"]


@pytest.mark.parametrize(
    "query",
    [
        "?limit=x",
        "?limit=-1",
        "?sort_key=owner",
        "?sort_dir=up",
        "?sort=name:sideways",
        "?sort=name&sort_key=name",
        "?sort_key=name&sort_key=status&sort_dir=asc&sort_dir=desc&sort_dir=asc",
        "?member_status=maybe",
        "?visibility=secret",
        "?os_hidden=maybe",
        "?protected=1",
        "?size_min=big",
        "?created_at=gt:yesterday",
        "?created_at=after:2020-01-01T00:00:00Z",
        "?name=like:foo",
        "?changes-since=2020-01-01T00:00:00Z",
        "?marker=00000000-0000-0000-0000-000000000000",
        "?min_ram=lots",
    ],
)
def test_bad_list_queries(api: Api, query: str) -> None:
    resp = api.client.get(f"/v2/images{query}", headers=api.headers())
    assert resp.status_code == 400, resp.text


def _create_many(api: Api, count: int) -> list[dict[str, Any]]:
    return [api.create(name=f"img-{i:02d}", min_ram=i % 3) for i in range(count)]


def test_default_order_is_newest_first(api: Api) -> None:
    created = _create_many(api, 5)
    assert names(api) == [c["name"] for c in reversed(created)]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?sort=name:asc", ["img-00", "img-01", "img-02", "img-03", "img-04"]),
        ("?sort=name:desc", ["img-04", "img-03", "img-02", "img-01", "img-00"]),
        ("?sort_key=name&sort_dir=asc", ["img-00", "img-01", "img-02", "img-03", "img-04"]),
        ("?sort_key=name", ["img-04", "img-03", "img-02", "img-01", "img-00"]),
        (
            "?sort_key=status&sort_key=name&sort_dir=asc&sort_dir=desc",
            ["img-04", "img-03", "img-02", "img-01", "img-00"],
        ),
        ("?sort=status:asc,name", ["img-04", "img-03", "img-02", "img-01", "img-00"]),
    ],
)
def test_sorting(api: Api, query: str, expected: list[str]) -> None:
    _create_many(api, 5)
    assert names(api, query) == expected


def test_sort_by_nullable_size(api: Api) -> None:
    api.active(name="big", data=b"x" * 3000)
    api.create(name="empty")
    api.active(name="small", data=b"x" * 1000)
    assert names(api, "?sort=size:asc") == ["empty", "small", "big"]
    assert names(api, "?sort=size:desc") == ["big", "small", "empty"]


@pytest.mark.parametrize("sort", ["", "&sort=name:asc", "&sort=size:asc,name:desc", "&sort_key=id"])
def test_pagination_walks_everything_once(api: Api, sort: str) -> None:
    created = {c["name"] for c in _create_many(api, 11)}
    seen: list[str] = []
    url: str | None = f"/v2/images?limit=4{sort}"
    pages = 0
    while url:
        resp = api.client.get(url, headers=api.headers())
        assert resp.status_code == 200, resp.text
        body = resp.json()
        seen += [image["name"] for image in body["images"]]
        assert body["schema"] == "/v2/schemas/images"
        assert body["first"].startswith("/v2/images")
        url = body.get("next")
        pages += 1
        if url:
            params = dict(parse_qsl(urlsplit(url).query))
            assert params["limit"] == "4"
            assert "marker" in params
    assert pages == 3
    assert sorted(seen) == sorted(created)
    assert len(seen) == len(set(seen))


def test_next_link_keeps_filters(api: Api) -> None:
    for i in range(3):
        api.create(name=f"t{i}", tags=["keep", "also"])
    body = api.client.get("/v2/images?limit=2&tag=keep&tag=also", headers=api.headers()).json()
    pairs = parse_qsl(urlsplit(body["next"]).query)
    assert ("tag", "keep") in pairs and ("tag", "also") in pairs
    assert body["first"] == "/v2/images?limit=2&tag=keep&tag=also"
    rest = api.client.get(body["next"], headers=api.headers()).json()
    assert len(rest["images"]) == 1


def test_limit_bounds(make_api: Any) -> None:
    api = make_api(**{"image.limit_param_default": 2, "image.api_limit_max": 3})
    _create_many(api, 5)
    assert len(names(api)) == 2
    assert len(names(api, "?limit=100")) == 3
    assert names(api, "?limit=0") == []


def test_member_status_filter(api: Api) -> None:
    image = api.create(name="shared-with-b", visibility="shared")
    url = f"/v2/images/{image['id']}/members"
    api.client.post(url, json={"member": PROJECT_B}, headers=api.headers())
    b = api.headers(PROJECT_B)
    assert names(api, headers=b) == []
    assert names(api, "?member_status=pending", b) == ["shared-with-b"]
    assert names(api, "?member_status=all", b) == ["shared-with-b"]
    api.client.put(f"{url}/{PROJECT_B}", json={"status": "accepted"}, headers=b)
    assert names(api, headers=b) == ["shared-with-b"]
    assert names(api, "?visibility=shared", b) == ["shared-with-b"]
    api.client.put(f"{url}/{PROJECT_B}", json={"status": "rejected"}, headers=b)
    assert names(api, headers=b) == []
    assert names(api, "?member_status=rejected", b) == ["shared-with-b"]


def test_readers_may_list(api: Api) -> None:
    api.create(name="mine")
    assert names(api, headers=api.headers(role="reader")) == ["mine"]
