"""Bad input never produces a 500: a matrix of hostile bodies, queries and headers."""

from __future__ import annotations

from typing import Any

import pytest

from tests.image.conftest import PROJECT_B, Api

BODIES: list[Any] = [
    None,
    "",
    "null",
    "[]",
    "{}",
    "1e999",
    '{"name": NaN}',
    b"\xff\xfe\x00garbage",
    '{"member": {"deep": [1, 2, {"x": null}]}}',
    '{"status": 12}',
    '{"method": {"name": ["glance-direct"]}}',
    '[{"op": "add", "path": 5, "value": 1}]',
    '[{"op": "add", "path": "/min_ram", "value": 100000000000000000000000}]',
    '[{"op": ["replace"], "path": "/name", "value": "x"}]',
    '{"min_ram": 1e400, "name": "\\ud800"}',
    '{"tags": [[], {}]}',
    "x" * 100_000,
]

QUERIES = [
    "?size_min=100000000000000000000000",
    "?size_max=-100000000000000000000000",
    "?min_ram=99999999999999999999999",
    "?limit=99999999999999999999999",
    "?created_at=gt:9999-99-99T99:99:99Z",
    "?created_at=gt:0001-01-01T00:00:00Z",
    "?updated_at=lte:2020-01-01T00:00:00%2B05:00",
    "?name=in:%22unterminated",
    "?sort=,,,",
    "?sort=:asc",
    "?marker=%00",
    "?marker=" + "a" * 300,
    "?tag=" + "t" * 1000,
    "?%00=%00",
    "?os_hidden=TRUE&protected=False",
    "?id=in:" + ",".join(["x"] * 2000),
    "?member_status=all&visibility=all",
    "?sort_key=name&sort_key=name&sort_dir=asc",
]


@pytest.fixture
def targets(api: Api) -> dict[str, str]:
    image = api.active(visibility="shared")
    api.client.post(
        f"/v2/images/{image['id']}/members", json={"member": PROJECT_B}, headers=api.headers()
    )
    return {"image": image["id"]}


def test_hostile_bodies(api: Api, targets: dict[str, str]) -> None:
    image = targets["image"]
    routes = [
        ("POST", "/v2/images", "application/json"),
        ("PATCH", f"/v2/images/{image}", "application/openstack-images-v2.1-json-patch"),
        ("PATCH", f"/v2/images/{image}", "application/openstack-images-v2.0-json-patch"),
        ("POST", f"/v2/images/{image}/members", "application/json"),
        ("PUT", f"/v2/images/{image}/members/{PROJECT_B}", "application/json"),
        ("POST", f"/v2/images/{image}/import", "application/json"),
    ]
    for method, url, media_type in routes:
        for body in BODIES:
            raw = body.encode() if isinstance(body, str) else body
            headers = {**api.headers(), "Content-Type": media_type}
            resp = api.client.request(method, url, content=raw, headers=headers)
            assert resp.status_code < 500, (method, url, body, resp.text)


def test_hostile_queries(api: Api, targets: dict[str, str]) -> None:
    for query in QUERIES:
        for headers in (api.headers(), api.admin()):
            resp = api.client.get("/v2/images" + query, headers=headers)
            assert resp.status_code < 500, (query, resp.text)


@pytest.mark.parametrize(
    "headers",
    [
        {"Range": "bytes=99999999999999999999999-"},
        {"Range": "bytes=0-99999999999999999999999"},
        {"Range": "bytes=-99999999999999999999999"},
        {"Range": ""},
    ],
)
def test_hostile_ranges(api: Api, targets: dict[str, str], headers: dict[str, str]) -> None:
    url = f"/v2/images/{targets['image']}/file"
    resp = api.client.get(url, headers={**api.headers(), **headers})
    assert resp.status_code < 500


@pytest.mark.parametrize(
    "headers",
    [
        {"x-openstack-image-size": "99999999999999999999999"},
        {"x-openstack-image-size": "-1"},
        {"Content-MD5": "=" * 30},
        {"X-Image-Meta-Store": ""},
        {"Content-Type": "application/octet-stream; charset=utf-8"},
    ],
)
def test_hostile_upload_headers(api: Api, headers: dict[str, str]) -> None:
    image = api.create()
    resp = api.upload(image["id"], b"data", **headers)
    assert resp.status_code < 500


@pytest.mark.parametrize(
    "path",
    [
        "/v2/images/%00",
        "/v2/images/" + "a" * 5000,
        "/v2/images/../../etc/passwd",
        "/v2/images/\u00e9\u00e9/file",
        "/v2/images/x/members/%00",
        "/v2/images/x/tags/%2F",
    ],
)
def test_hostile_paths(api: Api, path: str) -> None:
    for method in ("GET", "DELETE", "PUT", "PATCH", "POST"):
        resp = api.client.request(method, path, headers=api.headers())
        assert resp.status_code < 500, (method, path)
