"""The file store driver, and bootstrap registration of image files."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tests.image import imagefiles
from tests.image.conftest import PROJECT_A, PROJECT_B, MakeApi
from tinystack.image.service import build_deps
from tinystack.image.services import bootstrap
from tinystack.image.store import FileStore
from tinystack.image.store.base import DataNotFound, Store, StoreError


def test_writer_commits_atomically(tmp_path: Path) -> None:
    store = FileStore(tmp_path / "store")
    writer = store.open_writer("img")
    writer.write([b"ab", b"cd"])
    assert [p.name for p in (tmp_path / "store").iterdir()][0].endswith(".partial")
    assert not (tmp_path / "store" / "img").exists()
    location = writer.commit()
    assert location == (tmp_path / "store" / "img").as_uri()
    assert store.size(location) == 4
    assert [p.name for p in (tmp_path / "store").iterdir()] == ["img"]


def test_writer_abort_leaves_nothing(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    writer = store.open_writer("img")
    writer.write([b"data"])
    writer.abort()
    writer.abort()
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(StoreError):
        writer.write([b"more"])


def test_reader_ranges(tmp_path: Path) -> None:
    store = FileStore(tmp_path, chunk_size=3)
    writer = store.open_writer("img")
    writer.write([b"0123456789"])
    location = writer.commit()
    reader = store.open_reader(location, offset=2, length=5)
    chunks = []
    while chunk := reader.read():
        chunks.append(chunk)
    reader.close()
    assert chunks == [b"234", b"56"]
    assert reader.size == 5
    with pytest.raises(DataNotFound):
        store.open_reader((tmp_path / "missing").as_uri())


def test_locations_are_confined(tmp_path: Path) -> None:
    store = FileStore(tmp_path / "store")
    with pytest.raises(StoreError):
        store.open_reader("file:///etc/passwd")
    with pytest.raises(StoreError):
        store.open_reader("http://example.com/x")
    with pytest.raises(StoreError):
        store.open_writer("../escape")
    store.delete((tmp_path / "store" / "absent").as_uri())


class CopyOnlyStore(FileStore):
    """A store on 'another medium': adopting data from it must copy."""


def test_adopt_moves_or_copies(tmp_path: Path) -> None:
    staging = FileStore(tmp_path / "staging")
    store = FileStore(tmp_path / "store")
    writer = staging.open_writer("img")
    writer.write([b"payload"])
    location = store.adopt(staging, writer.commit(), "img")
    assert store.size(location) == 7
    assert list((tmp_path / "staging").iterdir()) == []

    other = CopyOnlyStore(tmp_path / "other")
    writer = other.open_writer("img2")
    writer.write([b"copied"])
    source = writer.commit()
    copied = Store.adopt(store, other, source, "img2")
    assert store.size(copied) == 6
    assert list((tmp_path / "other").iterdir()) == []


def test_bootstrap_registers_image_files_once(make_api: MakeApi, tmp_path: Path) -> None:
    qcow2 = tmp_path / "guest.qcow2"
    qcow2.write_bytes(imagefiles.qcow2(8 * 1024 * 1024))
    iso = tmp_path / "rescue.iso"
    iso.write_bytes(imagefiles.iso(32))
    missing = tmp_path / "not-built-yet.qcow2"
    api = make_api(**{"image.bootstrap_images": [str(qcow2), str(iso), str(missing)]})
    deps = build_deps(api.runtime)
    assert len(bootstrap.register_images(deps, PROJECT_A)) == 2
    assert bootstrap.register_images(deps, PROJECT_A) == []
    images = api.client.get("/v2/images?sort=name:asc", headers=api.headers(PROJECT_B)).json()
    found = [(i["name"], i["disk_format"], i["visibility"], i["status"]) for i in images["images"]]
    assert found == [
        ("guest", "qcow2", "public", "active"),
        ("rescue", "iso", "public", "active"),
    ]
    guest = images["images"][0]
    assert guest["owner"] == PROJECT_A  # as if the owner project had uploaded it
    assert guest["checksum"] == hashlib.md5(qcow2.read_bytes()).hexdigest()
    assert guest["virtual_size"] == 8 * 1024 * 1024
    resp = api.client.get(f"/v2/images/{guest['id']}/file", headers=api.headers(PROJECT_B))
    assert resp.content == qcow2.read_bytes()


def test_bootstrap_directory(make_api: MakeApi, tmp_path: Path) -> None:
    folder = tmp_path / "drop"
    folder.mkdir()
    api = make_api(**{"image.bootstrap_image_dir": str(folder)})
    deps = build_deps(api.runtime)
    bootstrap.register_images(deps, None)
    assert api.client.get("/v2/images", headers=api.headers()).json()["images"] == []
    (folder / "tiny.img").write_bytes(imagefiles.raw(8192))
    (folder / "notes.txt").write_text("not an image")
    bootstrap.register_images(deps, None)
    images = api.client.get("/v2/images", headers=api.headers()).json()["images"]
    assert [(i["name"], i["disk_format"], i["size"]) for i in images] == [("tiny", "raw", 8192)]
