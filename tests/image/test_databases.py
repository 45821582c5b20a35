"""The image API on MariaDB and PostgreSQL: records, lists, data, sharing, import.

Each backend gets a uniquely named database for this module, dropped at the end;
the tests are skipped when the server is not reachable.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.databases import BACKENDS, database
from tests.image import imagefiles
from tests.image.conftest import PROJECT_B, Api
from tests.support import make_runtime
from tinystack.image.service import SERVICE


@pytest.fixture(scope="module", params=BACKENDS)
def db_url(request: pytest.FixtureRequest) -> Iterator[str]:
    with database(request.param, "image_test") as url:
        yield url


@pytest.fixture
def api(tmp_path: Path, db_url: str) -> Iterator[Api]:
    runtime = make_runtime(tmp_path, SERVICE, db_url=db_url)
    app = SERVICE.create_app(runtime)
    with TestClient(app) as client:
        yield Api(client, runtime, app)
    assert runtime.db is not None
    runtime.db.dispose()


def test_records_and_lists(api: Api) -> None:
    tag = uuid.uuid4().hex[:8]
    created = [
        api.create(name=f"{tag}-{i}", tags=[tag, "x" if i % 2 else "y"], prop=str(i % 3))
        for i in range(7)
    ]
    resp = api.patch(
        created[0]["id"],
        [
            {"op": "add", "path": "/extra", "value": "1"},
            {"op": "replace", "path": "/prop", "value": "changed"},
            {"op": "replace", "path": "/tags", "value": [tag, "z"]},
        ],
    )
    assert resp.status_code == 200, resp.text
    body = api.client.get(f"/v2/images?tag={tag}&tag=x&sort=name:asc", headers=api.headers())
    assert [i["name"] for i in body.json()["images"]] == [f"{tag}-1", f"{tag}-3", f"{tag}-5"]
    body = api.client.get(f"/v2/images?tag={tag}&prop=2", headers=api.headers())
    assert sorted(i["name"] for i in body.json()["images"]) == [f"{tag}-2", f"{tag}-5"]
    seen: list[str] = []
    url: str | None = f"/v2/images?tag={tag}&limit=3&sort=size:asc,name:desc"
    while url:
        page = api.client.get(url, headers=api.headers()).json()
        seen += [i["name"] for i in page["images"]]
        url = page.get("next")
    assert sorted(seen) == sorted(c["name"] for c in created)
    assert len(seen) == 7
    first = api.show(created[0]["id"]).json()
    assert (first["extra"], first["prop"], first["tags"]) == ("1", "changed", [tag, "z"])
    assert (
        api.client.delete(f"/v2/images/{created[0]['id']}", headers=api.headers()).status_code
        == 204
    )


def test_data_sharing_and_import(api: Api) -> None:
    data = imagefiles.qcow2()
    image = api.create(disk_format="qcow2", visibility="shared")
    assert api.upload(image["id"], data).status_code == 204
    shown = api.show(image["id"]).json()
    assert shown["checksum"] == hashlib.md5(data).hexdigest()
    assert shown["virtual_size"] == 64 * 1024 * 1024
    members = f"/v2/images/{image['id']}/members"
    assert (
        api.client.post(members, json={"member": PROJECT_B}, headers=api.headers()).status_code
        == 200
    )
    b = api.headers(PROJECT_B)
    accept = api.client.put(f"{members}/{PROJECT_B}", json={"status": "accepted"}, headers=b)
    assert accept.status_code == 200
    listed = api.client.get("/v2/images", headers=b).json()["images"]
    assert image["id"] in [i["id"] for i in listed]

    staged = api.create()
    headers = {**api.headers(), "Content-Type": "application/octet-stream"}
    assert (
        api.client.put(
            f"/v2/images/{staged['id']}/stage", content=b"raw", headers=headers
        ).status_code
        == 204
    )
    body = {"method": {"name": "glance-direct"}}
    resp = api.client.post(f"/v2/images/{staged['id']}/import", json=body, headers=api.headers())
    assert resp.status_code == 202
    assert api.show(staged["id"]).json()["status"] == "active"
    usage = api.client.get("/v2/info/usage", headers=api.headers()).json()["usage"]
    assert usage["image_count_total"]["usage"] >= 2


def test_a_delete_racing_an_upload_leaves_no_data(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Regression (chaos on MariaDB): a delete that read the image's locations before an
    upload recorded its own, and wrote after, left the upload's file and location behind
    a deleted image (READ COMMITTED, no row lock)."""
    import threading

    from tinystack.image.conf import store_dir
    from tinystack.image.services import _locations

    image = api.create()
    entered, recorded = threading.Event(), threading.Event()
    clear = _locations.clear

    def slow_clear(*args: object, **kwargs: object) -> object:
        found = clear(*args, **kwargs)  # type: ignore[arg-type]
        entered.set()
        recorded.wait(2)  # without the lock the upload records its location meanwhile
        return found

    monkeypatch.setattr(_locations, "clear", slow_clear)
    deleting = threading.Thread(target=lambda: api.client.delete(
        f"/v2/images/{image['id']}", headers=api.headers()))  # fmt: skip
    deleting.start()
    try:
        assert entered.wait(30)
        api.upload(image["id"], b"raced")
        recorded.set()
    finally:
        deleting.join(30)
    assert api.client.get(f"/v2/images/{image['id']}", headers=api.headers()).status_code == 404
    assert not (store_dir(api.runtime.conf) / image["id"]).exists()
