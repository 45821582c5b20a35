"""web-download (through the import filter), copy-image, conversion, multi-store, tasks,
the location API and the cache, in-process against a local web server."""

from __future__ import annotations

import shutil
import subprocess
import time
from concurrent.futures import Future, ThreadPoolExecutor
from ipaddress import ip_network
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.image import imagefiles
from tests.image.conftest import PROJECT_B, Api, MakeApi
from tests.image.webserver import WebServer, web_server
from tinystack.common.outbound import AddressFilter, Refused
from tinystack.image.service import SERVICE, build_deps
from tinystack.image.services import import_flow
from tinystack.image.services.cache_prefetcher import Prefetcher
from tinystack.image.store.base import StoreError
from tinystack.image.store.http import HttpStore

TWO_STORES = {"image.enabled_backends": {"fast": "file", "cheap": "file"}}


def filtered(web: WebServer, **extra: Any) -> dict[str, Any]:
    return {
        "image.import_allowed_hosts": ["127.0.0.1"],
        "image.import_allowed_ports": [str(web.port)],
        "outbound_allowed_networks": ["127.0.0.1/32"],  # loopback is denied by default
        **extra,
    }


def web_import(api: Api, image_id: str, uri: str, **body: Any) -> Any:
    method = {"name": "web-download", "uri": uri}
    return api.client.post(
        f"/v2/images/{image_id}/import", json={"method": method, **body}, headers=api.headers()
    )


def wait_for(api: Api, image_id: str, predicate: Any, timeout: float = 10) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        image: dict[str, Any] = api.show(image_id).json()
        if predicate(image) or time.monotonic() > deadline:
            return image
        time.sleep(0.05)


def tasks_of(api: Api, image_id: str) -> list[dict[str, Any]]:
    resp = api.client.get(f"/v2/images/{image_id}/tasks", headers=api.headers())
    tasks: list[dict[str, Any]] = resp.json()["tasks"]
    return tasks


def test_stores_by_weight(make_api: MakeApi) -> None:
    """With weights configured the image's stores list the heaviest first, and the
    discovery API shows each store's weight (Tempest's StoreWeightTest)."""
    weights = {"image.backend_weights": {"fast": "1", "cheap": "10"}}
    data = imagefiles.raw(3000)
    with web_server() as web:
        web.files["/img.raw"] = data
        api = make_api(**filtered(web, **TWO_STORES, **weights))
        image = api.create()
        resp = web_import(api, image["id"], web.url("/img.raw"), all_stores=True)
        assert resp.status_code == 202, resp.text
        shown = wait_for(api, image["id"], lambda i: i["status"] == "active")
    assert shown["stores"] == "cheap,fast"
    listed = api.client.get("/v2/images", headers=api.headers()).json()["images"]
    assert [i["stores"] for i in listed if i["id"] == image["id"]] == ["cheap,fast"]
    info = api.client.get("/v2/info/stores", headers=api.headers()).json()["stores"]
    assert {s["id"]: s["weight"] for s in info} == {"fast": 1, "cheap": 10}
    plain = make_api(**TWO_STORES)
    info = plain.client.get("/v2/info/stores", headers=plain.headers()).json()["stores"]
    assert all("weight" not in s for s in info)


def test_web_download_into_two_stores(make_api: MakeApi) -> None:
    data = imagefiles.qcow2()
    with web_server() as web:
        web.files["/img.qcow2"] = data
        web.redirects["/moved"] = "/img.qcow2"
        api = make_api(**filtered(web, **TWO_STORES))
        image = api.create(disk_format="qcow2")
        resp = web_import(api, image["id"], web.url("/moved"), all_stores=True)
        assert resp.status_code == 202, resp.text
        shown = wait_for(api, image["id"], lambda i: i["status"] == "active")
    assert shown["stores"] == "cheap,fast"
    assert shown["size"] == len(data) and shown["virtual_size"] == 64 * 1024 * 1024
    assert shown["os_glance_importing_to_stores"] == ""
    assert shown["os_glance_failed_import"] == ""
    assert "os_glance_import_task" not in shown
    [task] = tasks_of(api, image["id"])
    assert task["status"] == "success" and task["input"]["backend"] == ["fast", "cheap"]
    download = api.client.get(f"/v2/images/{image['id']}/file", headers=api.headers())
    assert download.content == data
    # one store's copy can go (admin), the last one cannot
    admin = api.admin()
    assert api.client.delete(f"/v2/stores/fast/{image['id']}", headers=admin).status_code == 204
    assert api.show(image["id"]).json()["stores"] == "cheap"
    assert api.client.delete(f"/v2/stores/cheap/{image['id']}", headers=admin).status_code == 403
    assert api.client.delete(f"/v2/stores/nope/{image['id']}", headers=admin).status_code == 409
    assert api.client.get(f"/v2/images/{image['id']}/file", headers=api.headers()).content == data
    # copy-image (admin) puts it back into fast
    copy = {"method": {"name": "copy-image"}, "stores": ["fast"]}
    resp = api.client.post(f"/v2/images/{image['id']}/import", json=copy, headers=admin)
    assert resp.status_code == 202, resp.text
    assert wait_for(api, image["id"], lambda i: i["stores"] == "cheap,fast")["stores"] == (
        "cheap,fast"
    )
    again = api.client.post(f"/v2/images/{image['id']}/import", json=copy, headers=admin)
    assert again.status_code == 400  # already there


def test_web_download_filtering(make_api: MakeApi) -> None:
    with web_server() as web:
        web.files["/img"] = imagefiles.raw()
        web.redirects["/away"] = "http://127.0.0.2:80/img"
        api = make_api(**filtered(web))
        image = api.create()
        for uri in ("http://127.0.0.2/x", "ftp://127.0.0.1/x", "http://127.0.0.1:1/x", "nope"):
            assert web_import(api, image["id"], uri).status_code == 400, uri
        assert api.show(image["id"]).json()["status"] == "queued"
        # a permitted URL that redirects somewhere forbidden fails the task
        assert web_import(api, image["id"], web.url("/away")).status_code == 202
        shown = wait_for(api, image["id"], lambda i: "os_glance_import_task" not in i)
    assert shown["status"] == "queued" and shown["os_glance_failed_import"] == "file"
    assert "filtering" in tasks_of(api, image["id"])[0]["message"]


def test_web_download_address_filter(make_api: MakeApi) -> None:
    """Beyond Glance's host filter, the addresses a URL resolves to must be permitted:
    loopback and link-local are refused by default (a name too), an allowed network
    opens one address, and a redirect to a host the host filter passes but whose
    address is not allowed fails the task."""
    with web_server() as web:
        web.files["/img"] = imagefiles.raw()
        web.redirects["/away"] = f"http://127.0.0.2:{web.port}/img"
        default = make_api(**{"image.import_allowed_ports": [str(web.port), "80"]})
        image = default.create()
        for uri in (
            web.url("/img"),
            f"http://localhost:{web.port}/img",
            f"http://[::ffff:127.0.0.1]:{web.port}/img",
            "http://169.254.169.254/",
        ):
            resp = web_import(default, image["id"], uri)
            assert resp.status_code == 400 and "filtering" in resp.text, uri
        assert default.show(image["id"]).json()["status"] == "queued"
        api = make_api(
            **filtered(web, **{"image.import_allowed_hosts": ["127.0.0.1", "127.0.0.2"]})
        )
        image = api.create()
        assert web_import(api, image["id"], web.url("/away")).status_code == 202
        shown = wait_for(api, image["id"], lambda i: "os_glance_import_task" not in i)
        assert shown["status"] == "queued" and shown["os_glance_failed_import"] == "file"
        assert "filtering: http://127.0.0.2" in tasks_of(api, image["id"])[0]["message"]
        assert web_import(api, image["id"], web.url("/img")).status_code == 202
        assert wait_for(api, image["id"], lambda i: i["status"] == "active")["status"] == "active"


def test_second_import_conflicts_while_one_runs(make_api: MakeApi) -> None:
    with web_server() as web:
        api = make_api(**filtered(web, **{"image.import_settle_seconds": 0}))
        deps = build_deps(api.runtime)
        image = api.create()
        web.files["/img"] = imagefiles.raw()
        gate = deps.tasks_pool.submit(time.sleep, 0.5)  # hold both pool threads
        blocker = deps.tasks_pool.submit(time.sleep, 0.5)
        assert web_import(api, image["id"], web.url("/img")).status_code == 202
        assert api.show(image["id"]).json()["status"] == "importing"
        assert web_import(api, image["id"], web.url("/img")).status_code == 409
        gate.result(), blocker.result()
        assert wait_for(api, image["id"], lambda i: i["status"] == "active")["status"] == "active"


class _Crashed(ThreadPoolExecutor):
    """A pool that accepts work and never runs it: the process died right after the commit."""

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        return Future()


def test_interrupted_import_is_failed_at_start(make_api: MakeApi) -> None:
    api = make_api(**{"image.import_settle_seconds": 0})
    deps = build_deps(api.runtime)
    object.__setattr__(deps, "tasks_pool", _Crashed())
    image = api.create()
    api.client.put(
        f"/v2/images/{image['id']}/stage",
        content=imagefiles.raw(),
        headers={**api.headers(), "Content-Type": "application/octet-stream"},
    )
    body = {"method": {"name": "glance-direct"}}
    resp = api.client.post(f"/v2/images/{image['id']}/import", json=body, headers=api.headers())
    assert resp.status_code == 202
    stuck = api.show(image["id"]).json()
    assert stuck["status"] == "importing" and stuck["os_glance_import_task"]
    assert import_flow.recover(deps) == 1  # what start() does after a restart
    shown = api.show(image["id"]).json()
    assert shown["status"] == "queued"
    assert "os_glance_import_task" not in shown
    assert shown["os_glance_failed_import"] == "file"
    [task] = tasks_of(api, image["id"])
    assert task["status"] == "failure" and "restart" in task["message"]
    assert import_flow.recover(deps) == 0


@pytest.mark.skipif(shutil.which("qemu-img") is None, reason="qemu-img is not installed")
def test_conversion_plugin(make_api: MakeApi, tmp_path: Path) -> None:
    source = tmp_path / "small.qcow2"
    subprocess.run(["qemu-img", "create", "-f", "qcow2", str(source), "4M"], check=True)
    with web_server() as web:
        web.files["/small.qcow2"] = source.read_bytes()
        api = make_api(**filtered(web, **{"image.import_plugins": ["image_conversion"]}))
        image = api.create(disk_format="qcow2")
        assert web_import(api, image["id"], web.url("/small.qcow2")).status_code == 202
        shown = wait_for(api, image["id"], lambda i: i["status"] == "active")
    assert shown["disk_format"] == "raw"
    assert shown["size"] == 4 * 1024 * 1024 and shown["virtual_size"] == 4 * 1024 * 1024


def test_stores_info_and_upload_header(make_api: MakeApi) -> None:
    api = make_api(**TWO_STORES, **{"image.backend_weights": {"cheap": "10"}})
    stores = api.client.get("/v2/info/stores", headers=api.headers()).json()["stores"]
    assert [(s["id"], s.get("default", False)) for s in stores] == [
        ("fast", True),
        ("cheap", False),
    ]
    detail = api.client.get("/v2/info/stores/detail", headers=api.admin()).json()["stores"]
    assert {s["id"]: s["weight"] for s in detail} == {"fast": 0, "cheap": 10}
    image = api.create()
    resp = api.upload(image["id"], imagefiles.raw(), None, **{"X-Image-Meta-Store": "cheap"})
    assert resp.status_code == 204
    assert api.show(image["id"]).json()["stores"] == "cheap"
    other = api.create()
    bad = api.upload(other["id"], imagefiles.raw(), None, **{"X-Image-Meta-Store": "nope"})
    assert bad.status_code == 400


def test_tasks_api(make_api: MakeApi) -> None:
    data = imagefiles.qcow2()
    with web_server() as web:
        web.files["/task.qcow2"] = data
        api = make_api(**filtered(web))
        task_input: dict[str, Any] = {
            "import_from": web.url("/task.qcow2"),
            "import_from_format": "qcow2",
            "image_properties": {
                "name": "from-task",
                "disk_format": "qcow2",
                "container_format": "bare",
            },
        }
        body = {"type": "import", "input": task_input}
        assert api.client.post("/v2/tasks", json=body, headers=api.headers()).status_code == 403
        resp = api.client.post("/v2/tasks", json=body, headers=api.admin())
        assert resp.status_code == 201, resp.text
        task_id = resp.json()["id"]
        assert resp.headers["location"] == f"/v2/tasks/{task_id}"
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            task = api.client.get(f"/v2/tasks/{task_id}", headers=api.admin()).json()
            if task["status"] in ("success", "failure"):
                break
            time.sleep(0.05)
    assert task["status"] == "success", task
    image = api.show(task["result"]["image_id"], api.admin()).json()
    assert image["name"] == "from-task" and image["status"] == "active"
    listed = api.client.get("/v2/tasks?type=import", headers=api.admin()).json()
    assert [t["id"] for t in listed["tasks"]] == [task_id]
    assert "input" not in listed["tasks"][0]
    assert api.client.get("/v2/tasks?status=nope", headers=api.admin()).status_code == 400
    refused = {**body, "input": {**task_input, "import_from": "http://127.0.0.2/x"}}
    assert api.client.post("/v2/tasks", json=refused, headers=api.admin()).status_code == 400
    missing = {"type": "import"}
    assert api.client.post("/v2/tasks", json=missing, headers=api.admin()).status_code == 400


def test_location_api(make_api: MakeApi) -> None:
    data = imagefiles.raw(10_000)
    with web_server() as web:
        web.files["/loc"] = data
        api = make_api(**filtered(web))
        image = api.create()
        url = f"/v2/images/{image['id']}/locations"
        bad = {
            "url": web.url("/loc"),
            "validation_data": {"os_hash_algo": "sha512", "os_hash_value": "abc"},
        }
        assert api.client.post(url, json=bad, headers=api.headers()).status_code == 400
        resp = api.client.post(url, json={"url": web.url("/loc")}, headers=api.headers())
        assert resp.status_code == 202, resp.text
        shown = wait_for(api, image["id"], lambda i: i["status"] == "active")
        assert shown["size"] == len(data)
        assert api.client.get(f"/v2/images/{image['id']}/file", headers=api.headers()).content == (
            data
        )
    again = api.client.post(url, json={"url": "http://127.0.0.1/x"}, headers=api.headers())
    assert again.status_code in (400, 409)
    assert api.client.get(url, headers=api.headers()).status_code == 403  # services only
    assert api.client.get(url, headers=api.headers(role="service")).status_code == 200
    # data a service put in one of the cloud's own stores (compute's direct snapshot of
    # an RBD root disk): only a service may name such a location, as upstream
    writer = build_deps(api.runtime).stores.default.open_writer("put-by-a-service")
    writer.write([data])
    own_data = writer.commit()
    own = api.create()
    own_url = f"/v2/images/{own['id']}/locations"
    member = api.client.post(own_url, json={"url": own_data}, headers=api.headers())
    assert member.status_code == 403, member.text
    service = api.headers(role="service")
    assert api.client.post(own_url, json={"url": own_data}, headers=service).status_code == 202
    shown = wait_for(api, own["id"], lambda i: i["status"] == "active")
    assert shown["size"] == len(data) and shown["stores"] == "file"


def test_cache_api_and_prefetcher(make_api: MakeApi, tmp_path: Path) -> None:
    plain = make_api()
    assert plain.client.get("/v2/cache", headers=plain.admin()).status_code == 404
    api = make_api(
        **{"image.image_cache_dir": str(tmp_path / "cache"), "image.image_cache_max_size": 30_000}
    )
    deps = build_deps(api.runtime)
    one = api.active(imagefiles.raw(20_000, seed=1))
    two = api.active(imagefiles.raw(20_000, seed=2))
    queued = api.client.put(f"/v2/cache/{one['id']}", headers=api.admin())
    assert queued.status_code == 202
    assert api.client.put(f"/v2/cache/{one['id']}", headers=api.headers()).status_code == 403
    state = api.client.get("/v2/cache", headers=api.admin()).json()
    assert state == {"cached_images": [], "queued_images": [one["id"]]}
    assert Prefetcher(deps).run_once() == 1
    state = api.client.get("/v2/cache", headers=api.admin()).json()
    assert [c["image_id"] for c in state["cached_images"]] == [one["id"]]
    assert state["queued_images"] == []
    # a download is served from the cache (a hit) and fills it for another image; the
    # cache holds 30 kB, so the least recently used entry goes
    got = api.client.get(f"/v2/images/{one['id']}/file", headers=api.headers())
    assert got.content == imagefiles.raw(20_000, seed=1)
    api.client.get(f"/v2/images/{two['id']}/file", headers=api.headers())
    state = api.client.get("/v2/cache", headers=api.admin()).json()
    assert [c["image_id"] for c in state["cached_images"]] == [two["id"]]
    assert api.client.delete(f"/v2/cache/{two['id']}", headers=api.admin()).status_code == 204
    assert api.client.put(f"/v2/cache/{one['id']}", headers=api.admin()).status_code == 202
    clear = {**api.admin(), "x-image-cache-clear-target": "queue"}
    assert api.client.delete("/v2/cache", headers=clear).status_code == 204
    assert api.client.get("/v2/cache", headers=api.admin()).json()["queued_images"] == []
    bad = {**api.admin(), "x-image-cache-clear-target": "all"}
    assert api.client.delete("/v2/cache", headers=bad).status_code == 400
    queued_missing = api.client.put(
        "/v2/cache/00000000-0000-0000-0000-000000000000", headers=api.admin()
    )
    assert queued_missing.status_code == 404
    queued_inactive = api.create(api.admin())
    assert (
        api.client.put(f"/v2/cache/{queued_inactive['id']}", headers=api.admin()).status_code == 400
    )
    assert api.show(one["id"], api.headers(PROJECT_B)).status_code == 404
    assert SERVICE.name == "image"


def test_http_store_reads_only_permitted_addresses() -> None:
    """Locations are read through the address filter on every request and redirect."""
    with web_server() as web:
        web.files["/img"] = b"image bytes"
        web.redirects["/away"] = f"http://127.0.0.2:{web.port}/img"
        store = HttpStore(outbound=AddressFilter(allowed=(ip_network("127.0.0.1/32"),)))
        reader = store.open_reader(web.url("/img"))
        try:
            assert reader.read() == b"image bytes"
        finally:
            reader.close()
        assert store.size(web.url("/img")) == len(b"image bytes")
        with pytest.raises(StoreError, match="127.0.0.2"):
            store.open_reader(web.url("/away"))
        with pytest.raises(StoreError, match="not an allowed destination"):
            store.size(web.url("/away"))
        with pytest.raises(StoreError, match="not an allowed destination"):
            HttpStore().open_reader(web.url("/img"))  # loopback is denied by default
        # the address connected to is checked too (a name may resolve anew)
        with httpx.Client() as client, client.stream("GET", web.url("/img")) as response:
            AddressFilter(allowed=(ip_network("127.0.0.1/32"),)).check_peer(response)
            with pytest.raises(Refused, match="connected to 127.0.0.1"):
                AddressFilter(allowed=(ip_network("127.0.0.2/32"),)).check_peer(response)
