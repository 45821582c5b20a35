"""Locations through JSON patch (``show_multiple_locations``): shown, added, replaced,
removed with upstream's rules; off by default; new URLs only from web servers that pass
the import filter."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import pytest

from tests.image import imagefiles
from tests.image.conftest import PROJECT_B, Api, MakeApi
from tests.image.webserver import WebServer, web_server

DATA = imagefiles.raw(5000, seed=7)


@pytest.fixture
def web() -> Iterator[WebServer]:
    with web_server() as server:
        server.files["/img.raw"] = DATA
        yield server


def _api(make_api: MakeApi, web: WebServer, **extra: Any) -> Api:
    return make_api(
        **{
            "image.show_multiple_locations": True,
            "image.import_allowed_hosts": ["127.0.0.1"],
            "image.import_allowed_ports": [str(web.port)],
            "outbound_allowed_networks": ["127.0.0.1/32"],  # loopback is denied by default
            **extra,
        }
    )


def _add(
    api: Api, image_id: str, url: str, headers: dict[str, str] | None = None, **loc: Any
) -> Any:
    value = {"url": url, "metadata": loc.pop("metadata", {}), **loc}
    return api.patch(image_id, [{"op": "add", "path": "/locations/-", "value": value}], headers)


def test_off_by_default(make_api: MakeApi, web: WebServer) -> None:
    api = make_api()
    image = api.create()
    assert "locations" not in image
    resp = _add(api, image["id"], web.url("/img.raw"))
    assert resp.status_code == 403
    assert "locations are invisible" in resp.text
    active = api.active(DATA)
    remove = api.patch(active["id"], [{"op": "remove", "path": "/locations/0"}], api.admin())
    assert remove.status_code == 403


def test_add_replace_remove(make_api: MakeApi, web: WebServer) -> None:
    api = _api(make_api, web)
    image = api.create()
    assert image["locations"] == []
    url = web.url("/img.raw")
    assert _add(api, image["id"], url, metadata={"foo": "bar"}).status_code == 200
    shown = api.show(image["id"]).json()
    assert shown["status"] == "active" and shown["size"] == len(DATA)
    assert shown["os_hash_value"] is None
    assert [(loc["url"], loc["metadata"]["foo"]) for loc in shown["locations"]] == [(url, "bar")]
    assert api.client.get(f"/v2/images/{image['id']}/file", headers=api.headers()).content == DATA
    # a second copy, a duplicate, a bad position
    second = url + "#new"
    assert _add(api, image["id"], second, metadata={"speed": "88mph"}).status_code == 200
    assert _add(api, image["id"], second).status_code == 400
    bad_pos = {"url": url + "#x", "metadata": {}}
    ops = [{"op": "add", "path": "/locations/7", "value": bad_pos}]
    assert api.patch(image["id"], ops).status_code == 400
    locs = api.show(image["id"]).json()["locations"]
    assert [loc["url"] for loc in locs] == [url, second]
    # replace: metadata only; dropping or changing a URL is refused
    locs[0]["metadata"]["date"] = "2015-10-15"
    assert (
        api.patch(image["id"], [{"op": "replace", "path": "/locations", "value": locs}]).status_code
        == 200
    )
    for value in ([locs[0]], [locs[0], {"url": url + "#new3", "metadata": {}}]):
        ops = [{"op": "replace", "path": "/locations", "value": value}]
        assert api.patch(image["id"], ops).status_code == 400
    ops = [{"op": "replace", "path": "/locations", "value": []}]
    assert api.patch(image["id"], ops).status_code == 403
    assert api.show(image["id"]).json()["locations"] == locs
    # remove: admin only, never the last one
    remove = [{"op": "remove", "path": "/locations/0"}]
    assert api.patch(image["id"], remove).status_code == 403
    assert api.patch(image["id"], remove, api.admin()).status_code == 200
    assert [loc["url"] for loc in api.show(image["id"]).json()["locations"]] == [second]
    assert api.patch(image["id"], remove, api.admin()).status_code == 403
    # another project sees nothing and may not add
    assert _add(api, image["id"], url + "#b", api.headers(PROJECT_B)).status_code == 404


def test_validation_data(make_api: MakeApi, web: WebServer) -> None:
    api = _api(make_api, web)
    url = web.url("/img.raw")
    image = api.create()
    validation = {"checksum": "1" * 32, "os_hash_algo": "sha512", "os_hash_value": "de" * 64}
    assert _add(api, image["id"], url, validation_data=validation).status_code == 200
    shown = api.show(image["id"]).json()
    assert (shown["checksum"], shown["os_hash_value"]) == ("1" * 32, "de" * 64)
    assert "validation_data" not in shown["locations"][0]
    assert _add(api, image["id"], url + "#2", validation_data=validation).status_code == 200
    other = {**validation, "os_hash_algo": "sha256"}
    assert _add(api, image["id"], url + "#3", validation_data=other).status_code == 409
    assert len(api.show(image["id"]).json()["locations"]) == 2
    fresh = api.create()
    bad = {"os_hash_algo": "sha512", "os_hash_value": "xyz"}
    assert _add(api, fresh["id"], url, validation_data=bad).status_code == 400
    assert api.show(fresh["id"]).json()["status"] == "queued"


def test_only_filtered_web_urls(make_api: MakeApi, web: WebServer) -> None:
    api = _api(make_api, web)
    image = api.create()
    assert _add(api, image["id"], "gopher://info.cern.ch").status_code == 400
    # not through the import filter (another port)
    assert _add(api, image["id"], f"http://127.0.0.1:{web.port + 1}/img.raw").status_code == 400
    # another image's data in the service's own store
    owned = api.active(DATA)
    own_url = api.show(owned["id"], api.admin()).json()["locations"][0]["url"]
    assert own_url.startswith("file://")
    assert _add(api, image["id"], own_url).status_code == 400
    assert _add(api, image["id"], web.url("/missing")).status_code == 400
    assert api.show(image["id"]).json()["status"] == "queued"
    assert hashlib.md5(DATA).hexdigest() == owned["checksum"]
