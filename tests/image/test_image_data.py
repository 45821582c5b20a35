"""Image data: upload, download (with Range), staging and import, and their failure modes."""

from __future__ import annotations

import base64
import hashlib
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.image import imagefiles
from tests.image.conftest import PROJECT_B, Api, MakeApi
from tinystack.image.conf import store_dir

OCTET = {"Content-Type": "application/octet-stream"}


def store_files(api: Api) -> list[str]:
    root = store_dir(api.runtime.conf)
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def status_of(api: Api, image_id: str) -> str:
    return str(api.show(image_id).json()["status"])


def test_upload_and_download(api: Api) -> None:
    data = imagefiles.raw(300_000)
    image = api.create(name="data")
    resp = api.upload(image["id"], data)
    assert resp.status_code == 204
    shown = api.show(image["id"]).json()
    assert shown["status"] == "active"
    assert shown["size"] == len(data)
    assert shown["virtual_size"] == len(data)
    assert shown["checksum"] == hashlib.md5(data).hexdigest()
    assert shown["os_hash_algo"] == "sha512"
    assert shown["os_hash_value"] == hashlib.sha512(data).hexdigest()
    assert shown["stores"] == "file"
    resp = api.client.get(f"/v2/images/{image['id']}/file", headers=api.headers())
    assert resp.status_code == 200
    assert resp.content == data
    assert resp.headers["content-md5"] == shown["checksum"]
    assert resp.headers["content-length"] == str(len(data))
    assert resp.headers["content-type"] == "application/octet-stream"
    assert store_files(api) == [image["id"]]


def test_chunked_upload(api: Api) -> None:
    image = api.create()
    pieces = [imagefiles.raw(70_000, seed=i) for i in range(5)]

    def body() -> Iterator[bytes]:
        yield from pieces

    resp = api.client.put(
        f"/v2/images/{image['id']}/file", content=body(), headers={**api.headers(), **OCTET}
    )
    assert resp.status_code == 204
    assert api.show(image["id"]).json()["checksum"] == hashlib.md5(b"".join(pieces)).hexdigest()


def test_empty_upload(api: Api) -> None:
    image = api.create()
    resp = api.upload(image["id"], b"")
    assert resp.status_code == 204
    shown = api.show(image["id"]).json()
    assert (shown["status"], shown["size"]) == ("active", 0)
    assert shown["checksum"] == hashlib.md5(b"").hexdigest()
    resp = api.client.get(f"/v2/images/{image['id']}/file", headers=api.headers())
    assert resp.status_code == 200 and resp.content == b""


def test_hashing_algorithm_is_configurable(make_api: MakeApi) -> None:
    api = make_api(**{"image.hashing_algorithm": "sha256"})
    image = api.active(data=b"abc" * 100)
    assert image["os_hash_algo"] == "sha256"
    assert image["os_hash_value"] == hashlib.sha256(b"abc" * 100).hexdigest()


def test_download_without_data_is_204(api: Api) -> None:
    image = api.create()
    resp = api.client.get(f"/v2/images/{image['id']}/file", headers=api.headers())
    assert resp.status_code == 204


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [
        ("bytes=0-9", 0, 9),
        ("bytes=100-", 100, 999),
        ("bytes=-10", 990, 999),
        ("bytes=990-5000", 990, 999),
        ("bytes=0-0", 0, 0),
        ("bytes=-5000", 0, 999),
    ],
)
def test_range_download(api: Api, header: str, start: int, end: int) -> None:
    data = imagefiles.raw(1000)
    image = api.active(data=data)
    resp = api.client.get(
        f"/v2/images/{image['id']}/file", headers={**api.headers(), "Range": header}
    )
    assert resp.status_code == 206
    assert resp.content == data[start : end + 1]
    assert resp.headers["content-range"] == f"bytes {start}-{end}/1000"
    assert resp.headers["content-length"] == str(end - start + 1)


@pytest.mark.parametrize(
    ("header", "status"),
    [
        ("bytes=1000-", 416),
        ("bytes=5-2", 416),
        ("bytes=-0", 416),
        ("pages=1-2", 416),
        ("bytes=-", 416),
        ("bytes=0-1,5-6", 400),
    ],
)
def test_bad_ranges(api: Api, header: str, status: int) -> None:
    image = api.active(data=imagefiles.raw(1000))
    resp = api.client.get(
        f"/v2/images/{image['id']}/file", headers={**api.headers(), "Range": header}
    )
    assert resp.status_code == status


def test_upload_to_an_active_image_conflicts(api: Api) -> None:
    image = api.active()
    assert api.upload(image["id"], b"more").status_code == 409
    assert api.show(image["id"]).json()["status"] == "active"


def test_racing_upload_conflicts(api: Api) -> None:
    image = api.create()
    started = threading.Event()
    release = threading.Event()
    result: dict[str, int] = {}

    def slow_body() -> Iterator[bytes]:
        yield b"a" * 65536
        started.set()
        release.wait(10)
        yield b"b" * 65536

    def first() -> None:
        resp = api.client.put(
            f"/v2/images/{image['id']}/file",
            content=slow_body(),
            headers={**api.headers(), **OCTET},
        )
        result["first"] = resp.status_code

    thread = threading.Thread(target=first)
    thread.start()
    try:
        assert started.wait(10)
        _wait_for_status(api, image["id"], "saving")
        assert api.upload(image["id"], b"second").status_code == 409
        assert (
            api.client.put(
                f"/v2/images/{image['id']}/stage", content=b"x", headers={**api.headers(), **OCTET}
            ).status_code
            == 409
        )
    finally:
        release.set()
        thread.join(10)
    assert result["first"] == 204
    assert status_of(api, image["id"]) == "active"


def _wait_for_status(api: Api, image_id: str, status: str) -> None:
    import time

    deadline = time.monotonic() + 10
    while status_of(api, image_id) != status:
        assert time.monotonic() < deadline, f"image never reached {status}"
        time.sleep(0.01)


def test_upload_needs_formats(api: Api) -> None:
    resp = api.client.post("/v2/images", json={"name": "no formats"}, headers=api.headers())
    image = resp.json()
    resp = api.upload(image["id"], b"data")
    assert resp.status_code == 400
    assert "disk_format" in resp.text and "container_format" in resp.text
    assert status_of(api, image["id"]) == "queued"


def test_upload_content_type(api: Api) -> None:
    image = api.create()
    url = f"/v2/images/{image['id']}/file"
    resp = api.client.put(
        url, content=b"x", headers={**api.headers(), "Content-Type": "text/plain"}
    )
    assert resp.status_code == 415
    assert api.client.put(url, content=b"x", headers=api.headers()).status_code == 415
    assert status_of(api, image["id"]) == "queued"


def test_upload_by_others(api: Api) -> None:
    private = api.create(visibility="private")
    assert api.upload(private["id"], b"x", api.headers(PROJECT_B)).status_code == 404
    public = api.create(api.admin(), visibility="public")
    assert api.upload(public["id"], b"x", api.headers(PROJECT_B)).status_code == 403
    assert api.upload(public["id"], b"x", api.headers(role="reader")).status_code == 403
    assert status_of(api, public["id"]) == "queued"


def test_size_header_mismatch(api: Api) -> None:
    image = api.create()
    resp = api.upload(image["id"], b"12345", **{"x-openstack-image-size": "6"})
    assert resp.status_code == 400
    assert status_of(api, image["id"]) == "queued"
    assert store_files(api) == []
    resp = api.upload(image["id"], b"12345", **{"x-openstack-image-size": "five"})
    assert resp.status_code == 400
    resp = api.upload(image["id"], b"12345", **{"x-openstack-image-size": "5"})
    assert resp.status_code == 204


def test_content_md5(api: Api) -> None:
    data = b"checked data"
    digest = hashlib.md5(data)
    image = api.create()
    resp = api.upload(image["id"], data, **{"Content-MD5": hashlib.md5(b"other").hexdigest()})
    assert resp.status_code == 400
    assert status_of(api, image["id"]) == "queued"
    assert store_files(api) == []
    assert api.upload(image["id"], data, **{"Content-MD5": "nonsense"}).status_code == 400
    b64 = base64.b64encode(digest.digest()).decode()
    assert api.upload(image["id"], data, **{"Content-MD5": b64}).status_code == 204
    other = api.create()
    assert api.upload(other["id"], data, **{"Content-MD5": digest.hexdigest()}).status_code == 204


def test_unknown_store_header(api: Api) -> None:
    image = api.create()
    assert api.upload(image["id"], b"x", **{"X-Image-Meta-Store": "ceph"}).status_code == 400
    assert api.upload(image["id"], b"x", **{"X-Image-Meta-Store": "file"}).status_code == 204


# -- quotas ------------------------------------------------------------------------


def test_size_quota_known_length(make_api: MakeApi) -> None:
    api = make_api(**{"image.image_size_total": 1})
    image = api.create()
    resp = api.upload(image["id"], imagefiles.raw(2 * 1024 * 1024))
    assert resp.status_code == 413
    assert status_of(api, image["id"]) == "queued"
    assert store_files(api) == []
    assert api.upload(image["id"], imagefiles.raw(512 * 1024)).status_code == 204
    second = api.create()
    assert api.upload(second["id"], imagefiles.raw(600 * 1024)).status_code == 413


def test_size_quota_chunked_stops_mid_stream(make_api: MakeApi) -> None:
    api = make_api(**{"image.image_size_total": 1})
    image = api.create()

    def body() -> Iterator[bytes]:
        for _ in range(40):
            yield b"z" * 65536

    resp = api.client.put(
        f"/v2/images/{image['id']}/file", content=body(), headers={**api.headers(), **OCTET}
    )
    assert resp.status_code == 413
    assert status_of(api, image["id"]) == "queued"
    assert store_files(api) == []


def test_image_size_cap(make_api: MakeApi) -> None:
    api = make_api(**{"image.image_size_cap": 1000})
    image = api.create()
    assert api.upload(image["id"], b"x" * 1001).status_code == 413
    assert api.upload(image["id"], b"x" * 1000).status_code == 204


def test_count_quota(make_api: MakeApi) -> None:
    api = make_api(**{"image.image_count_total": 2})
    first = api.create()
    api.create()
    resp = api.client.post("/v2/images", json={}, headers=api.headers())
    assert resp.status_code == 413
    assert api.client.post("/v2/images", json={}, headers=api.headers(PROJECT_B)).status_code == 201
    api.client.delete(f"/v2/images/{first['id']}", headers=api.headers())
    assert api.client.post("/v2/images", json={}, headers=api.headers()).status_code == 201


def test_uploading_count_quota(make_api: MakeApi) -> None:
    api = make_api(**{"image.image_count_uploading": 0})
    image = api.create()
    assert api.upload(image["id"], b"x").status_code == 413
    assert status_of(api, image["id"]) == "queued"


def test_stage_quota(make_api: MakeApi) -> None:
    api = make_api(**{"image.image_stage_total": 1})
    image = api.create()
    resp = api.client.put(
        f"/v2/images/{image['id']}/stage",
        content=imagefiles.raw(2 * 1024 * 1024),
        headers={**api.headers(), **OCTET},
    )
    assert resp.status_code == 413
    assert status_of(api, image["id"]) == "queued"
    assert store_files(api) == []


# -- failures leave nothing behind --------------------------------------------------


def test_failed_upload_leaves_no_file_and_a_queued_image(api: Api) -> None:
    image = api.create(disk_format="qcow2")
    resp = api.upload(image["id"], imagefiles.raw(100_000))
    assert resp.status_code == 400
    shown = api.show(image["id"]).json()
    assert shown["status"] == "queued"
    assert shown["size"] is None and shown["checksum"] is None
    assert store_files(api) == []
    assert api.upload(image["id"], imagefiles.qcow2()).status_code == 204


def test_upload_into_a_deleted_image_is_gone(api: Api) -> None:
    image = api.create()
    started = threading.Event()
    release = threading.Event()
    result: dict[str, int] = {}

    def slow_body() -> Iterator[bytes]:
        yield b"a" * 65536
        started.set()
        release.wait(10)
        yield b"b" * 65536

    def upload() -> None:
        resp = api.client.put(
            f"/v2/images/{image['id']}/file",
            content=slow_body(),
            headers={**api.headers(), **OCTET},
        )
        result["status"] = resp.status_code

    thread = threading.Thread(target=upload)
    thread.start()
    try:
        assert started.wait(10)
        _wait_for_status(api, image["id"], "saving")
        assert (
            api.client.delete(f"/v2/images/{image['id']}", headers=api.headers()).status_code == 204
        )
    finally:
        release.set()
        thread.join(10)
    assert result["status"] == 410
    assert store_files(api) == []


# -- import (glance-direct) ------------------------------------------------------------


def stage(api: Api, image_id: str, data: bytes, headers: dict[str, str] | None = None) -> int:
    resp = api.client.put(
        f"/v2/images/{image_id}/stage",
        content=data,
        headers={**(headers or api.headers()), **OCTET},
    )
    status: int = resp.status_code
    return status


def do_import(api: Api, image_id: str, body: object, headers: dict[str, str] | None = None) -> int:
    resp = api.client.post(
        f"/v2/images/{image_id}/import", json=body, headers=headers or api.headers()
    )
    status: int = resp.status_code
    return status


GLANCE_DIRECT = {"method": {"name": "glance-direct"}}


def test_import_flow(api: Api) -> None:
    data = imagefiles.qcow2()
    image = api.create(disk_format="qcow2")
    assert stage(api, image["id"], data) == 204
    staged = api.show(image["id"]).json()
    assert staged["status"] == "uploading"
    assert staged["size"] == len(data)
    assert staged["checksum"] is None
    resp = api.client.get(f"/v2/images/{image['id']}/file", headers=api.headers())
    assert resp.status_code == 204
    assert do_import(api, image["id"], GLANCE_DIRECT) == 202
    shown = api.show(image["id"]).json()
    assert shown["status"] == "active"
    assert shown["checksum"] == hashlib.md5(data).hexdigest()
    assert shown["os_hash_value"] == hashlib.sha512(data).hexdigest()
    assert shown["virtual_size"] == 64 * 1024 * 1024
    assert shown["os_glance_failed_import"] == ""
    assert shown["os_glance_importing_to_stores"] == ""
    resp = api.client.get(f"/v2/images/{image['id']}/file", headers=api.headers())
    assert resp.content == data
    assert store_files(api) == [image["id"]]
    assert do_import(api, image["id"], GLANCE_DIRECT) == 409


def test_import_with_explicit_store(api: Api) -> None:
    image = api.create()
    stage(api, image["id"], b"data")
    assert do_import(api, image["id"], {**GLANCE_DIRECT, "stores": ["nowhere"]}) == 409
    assert do_import(api, image["id"], {**GLANCE_DIRECT, "stores": ["file"]}) == 202


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"method": "glance-direct"},
        {"method": {}},
        {"method": {"name": "web-download"}},
        {"method": {"name": "glance-download", "glance_region": "r"}},
        {**GLANCE_DIRECT, "all_stores": "yes"},
        {**GLANCE_DIRECT, "all_stores_must_succeed": 1},
        {**GLANCE_DIRECT, "stores": "file"},
        [],
    ],
)
def test_import_bad_bodies(api: Api, body: object) -> None:
    image = api.create()
    stage(api, image["id"], b"data")
    assert do_import(api, image["id"], body) == 400
    assert status_of(api, image["id"]) == "uploading"


def test_import_method_needs_its_status(api: Api) -> None:
    """web-download needs a queued image and copy-image an active one (409 otherwise)."""
    image = api.create()
    stage(api, image["id"], b"data")
    web = {"method": {"name": "web-download", "uri": "http://192.0.2.1/x"}}
    assert do_import(api, image["id"], web) == 409
    assert do_import(api, image["id"], {"method": {"name": "copy-image"}}) == 409
    assert status_of(api, image["id"]) == "uploading"


def test_import_preconditions(api: Api) -> None:
    image = api.create()
    assert do_import(api, image["id"], GLANCE_DIRECT) == 409  # not staged
    no_formats = api.client.post("/v2/images", json={}, headers=api.headers()).json()
    assert stage(api, no_formats["id"], b"data") == 204
    assert do_import(api, no_formats["id"], GLANCE_DIRECT) == 409
    active = api.active()
    assert do_import(api, active["id"], GLANCE_DIRECT) == 409
    assert stage(api, active["id"], b"data") == 409
    assert do_import(api, "00000000-0000-0000-0000-000000000000", GLANCE_DIRECT) == 404


def test_stage_twice_conflicts(api: Api) -> None:
    image = api.create()
    assert stage(api, image["id"], b"one") == 204
    assert stage(api, image["id"], b"two") == 409


def test_import_of_mismatched_data_fails_cleanly(api: Api) -> None:
    image = api.create(disk_format="qcow2")
    assert stage(api, image["id"], imagefiles.raw(50_000)) == 204
    # as upstream: accepted, then the import task fails on the format verdict
    assert do_import(api, image["id"], GLANCE_DIRECT) == 202
    shown = api.show(image["id"]).json()
    assert shown["status"] == "queued"
    assert shown["os_glance_failed_import"] == "file"
    assert "os_glance_import_task" not in shown
    task = api.client.get(f"/v2/images/{image['id']}/tasks", headers=api.headers()).json()
    assert task["tasks"][0]["status"] == "failure"
    assert "does not match" in task["tasks"][0]["message"]
    assert store_files(api) == []
    assert stage(api, image["id"], imagefiles.qcow2()) == 204
    assert do_import(api, image["id"], GLANCE_DIRECT) == 202


def test_import_by_another_project(api: Api) -> None:
    image = api.create(api.admin(), visibility="public")
    stage(api, image["id"], b"data", api.admin())
    assert do_import(api, image["id"], GLANCE_DIRECT, api.headers(PROJECT_B)) == 403
    assert stage(api, api.create(api.admin(), visibility="public")["id"], b"x") == 403


def test_delete_staged_image_removes_staged_data(api: Api) -> None:
    image = api.create()
    stage(api, image["id"], b"staged")
    assert store_files(api) == ["staging/" + image["id"]]
    api.client.delete(f"/v2/images/{image['id']}", headers=api.headers())
    assert store_files(api) == []


def test_stage_disabled(make_api: MakeApi) -> None:
    api = make_api(**{"image.enabled_import_methods": []})
    image = api.create()
    assert stage(api, image["id"], b"x") == 404
    info = api.client.get("/v2/info/import", headers=api.headers()).json()
    assert info["import-methods"]["value"] == []


def test_partial_files_of_a_crash_are_cleaned_at_start(api: Api, tmp_path: Path) -> None:
    import os

    from tinystack.image.service import SERVICE

    root = store_dir(api.runtime.conf)
    leftover = root / "abc.123.partial"
    leftover.write_bytes(b"x")
    os.utime(leftover, (1, 1))
    fresh = root / "def.456.partial"
    fresh.write_bytes(b"y")
    SERVICE.start(api.runtime)
    assert not leftover.exists()
    assert fresh.exists()


def test_uploads_a_crash_interrupted_go_back_to_queued_at_start(api: Api) -> None:
    """Regression (chaos, kill -9 during uploads): an image whose upload the crash cut
    stayed ``saving`` forever, its partial data kept an hour and a file committed just
    before the kill kept for ever."""
    from sqlalchemy import update

    from tinystack.image import models
    from tinystack.image.service import SERVICE

    cut, committed = api.create(), api.create()
    assert api.runtime.db is not None
    api.runtime.db.write(lambda s: s.execute(update(models.Image).where(
        models.Image.id.in_([cut["id"], committed["id"]])).values(status="saving")))  # fmt: skip
    root = store_dir(api.runtime.conf)
    partial, whole = root / f"{cut['id']}.1a2b.partial", root / committed["id"]
    partial.write_bytes(b"half")
    whole.write_bytes(b"all of it")
    SERVICE.start(api.runtime)
    assert status_of(api, cut["id"]) == status_of(api, committed["id"]) == "queued"
    assert not partial.exists() and not whole.exists()
    assert api.upload(cut["id"], b"again").status_code == 204
    assert status_of(api, cut["id"]) == "active"


def test_import_tasks(api: Api) -> None:
    good = api.create(disk_format="qcow2")
    stage(api, good["id"], imagefiles.qcow2())
    started = api.client.post(
        f"/v2/images/{good['id']}/import", json=GLANCE_DIRECT, headers=api.headers()
    )
    assert started.status_code == 202
    bad = api.create(disk_format="qcow2")
    stage(api, bad["id"], imagefiles.raw(5000))
    do_import(api, bad["id"], GLANCE_DIRECT)

    tasks = api.client.get(f"/v2/images/{good['id']}/tasks", headers=api.headers()).json()
    [task] = tasks["tasks"]
    assert task["type"] == "api_image_import" and task["status"] == "success"
    assert task["input"]["import_req"] == GLANCE_DIRECT
    assert task["image_id"] == good["id"] and task["result"] == {"image_id": good["id"]}
    assert task["expires_at"] is not None
    # the import request's id, under Glance's key and its api-ref's spelling
    request_id = started.headers["x-openstack-request-id"]
    assert task["request_id"] == task["request-id"] == request_id
    assert task["user_id"] == task["user"]
    [failed] = api.client.get(f"/v2/images/{bad['id']}/tasks", headers=api.headers()).json()[
        "tasks"
    ]
    assert failed["status"] == "failure" and "does not match" in failed["message"]
    fresh = api.create()
    assert api.client.get(f"/v2/images/{fresh['id']}/tasks", headers=api.headers()).json() == {
        "tasks": []
    }
    other = api.client.get(f"/v2/images/{good['id']}/tasks", headers=api.headers(PROJECT_B))
    assert other.status_code == 404
