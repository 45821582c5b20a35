"""Microversion negotiation, version discovery and the per-version error body."""

from __future__ import annotations

import pytest

from tinystack.placement.api.microversion import PLACEMENT, VERSIONS, Version

from .conftest import Api


def test_versions_are_sequential() -> None:
    parsed = [Version.parse(v) for v in VERSIONS]
    assert parsed[0] == Version(1, 0)
    for before, after in zip(parsed, parsed[1:], strict=False):
        assert after == Version(before.major, before.minor + 1)
    assert VERSIONS[-1] == "1.39"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ([], "1.0"),
        (["placement 1.20"], "1.20"),
        (["placement latest"], "1.39"),
        (["compute 2.1, placement 1.5"], "1.5"),
        (["placement 1.2", "placement 1.3"], "1.3"),
        (["compute 2.50"], "1.0"),
    ],
)
def test_negotiate(header: list[str], expected: str) -> None:
    assert str(PLACEMENT.negotiate(header)) == expected


def test_root_is_public_and_describes_versions(api: Api) -> None:
    response = api.client.get("/")
    assert response.status_code == 200
    version = response.json()["versions"][0]
    assert version == {
        "id": "v1.0",
        "max_version": "1.39",
        "min_version": "1.0",
        "status": "CURRENT",
        "links": [{"rel": "self", "href": ""}],
    }
    assert response.headers["openstack-api-version"] == "placement 1.0"
    assert response.headers["vary"] == "openstack-api-version"
    assert "last-modified" not in response.headers


def test_latest_and_cache_headers(api: Api) -> None:
    response = api.client.get("/", headers={"openstack-api-version": "placement latest"})
    assert response.headers["openstack-api-version"] == "placement 1.39"
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["last-modified"].endswith("GMT")
    old = api.get("/resource_providers", version="1.14", status=200)
    assert "last-modified" not in old.headers
    new = api.get("/resource_providers", version="1.15", status=200)
    assert new.headers["cache-control"] == "no-cache"


@pytest.mark.parametrize("value", ["placement 0.5", "placement 1.40", "placement 2.0"])
def test_unknown_version_is_406(api: Api, value: str) -> None:
    response = api.client.get("/", headers={"openstack-api-version": value})
    assert response.status_code == 406
    error = response.json()["errors"][0]
    assert error["title"] == "Not Acceptable"
    assert "Unacceptable version header" in error["detail"]
    assert (error["min_version"], error["max_version"]) == ("1.0", "1.39")
    assert response.headers["x-openstack-request-id"].startswith("req-")


@pytest.mark.parametrize("value", ["placement pony.horse", "placement 1.2.3", "placement 1"])
def test_malformed_version_is_400(api: Api, value: str) -> None:
    response = api.client.get("/", headers={"openstack-api-version": value})
    assert response.status_code == 400
    assert "invalid version string" in response.json()["errors"][0]["detail"]


def test_error_code_appears_at_1_23(api: Api) -> None:
    missing = "/resource_providers/ffffffff-ffff-ffff-ffff-ffffffffffff"
    old = api.get(missing, version="1.22", status=404).json()["errors"][0]
    assert "code" not in old
    assert old["request_id"].startswith("req-")
    new = api.get(missing, version="1.23", status=404).json()["errors"][0]
    assert new["code"] == "placement.undefined_code"
    assert new["status"] == 404 and new["title"] == "Not Found"


def test_errors_carry_version_headers(api: Api) -> None:
    response = api.client.post("/", headers={"openstack-api-version": "placement 1.0"})
    assert response.status_code == 405
    assert response.headers["openstack-api-version"] == "placement 1.0"
    unknown = api.get("/no/such/thing", status=404)
    assert unknown.headers["openstack-api-version"] == "placement 1.39"


def test_accept_header(api: Api) -> None:
    api.get("/resource_providers", headers={"accept": "text/html"}, status=406)
    api.get("/resource_providers", headers={"accept": "text/html, */*;q=0.1"}, status=200)
    api.get("/resource_providers", headers={"accept": "application/json"}, status=200)


def test_content_type_required(api: Api) -> None:
    response = api.client.post(
        "/resource_providers",
        content=b'{"name": "x"}',
        headers={"x-auth-token": api.token, "content-type": "text/plain"},
    )
    assert response.status_code == 415
    bad = api.client.post(
        "/resource_providers",
        content=b"{not json",
        headers={"x-auth-token": api.token, "content-type": "application/json"},
    )
    assert bad.status_code == 400
    assert "Malformed JSON" in bad.json()["errors"][0]["detail"]


def test_method_not_allowed_names_every_method(api: Api) -> None:
    response = api.request("PATCH", "/resource_providers", status=405)
    assert response.headers["allow"] == "GET, POST"
    one = api.request("POST", "/resource_providers/abc", status=405)
    assert one.headers["allow"] == "DELETE, GET, PUT"
