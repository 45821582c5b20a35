"""Image records: create, show, update (JSON patch), delete, actions, discovery."""

from __future__ import annotations

import uuid

import pytest

from tests.image.conftest import PROJECT_A, PROJECT_B, Api, MakeApi

BASE_KEYS = {
    "id",
    "name",
    "status",
    "visibility",
    "protected",
    "os_hidden",
    "disk_format",
    "container_format",
    "min_disk",
    "min_ram",
    "size",
    "virtual_size",
    "checksum",
    "os_hash_algo",
    "os_hash_value",
    "owner",
    "tags",
    "created_at",
    "updated_at",
    "self",
    "file",
    "schema",
}


def test_versions_are_public(api: Api) -> None:
    resp = api.client.get("/")
    assert resp.status_code == 300
    versions = resp.json()["versions"]
    assert versions[0] == {
        "id": "v2.17",
        "status": "CURRENT",
        "links": [{"rel": "self", "href": "http://testserver/v2/"}],
    }
    assert {v["id"] for v in versions} >= {"v2.0", "v2.6", "v2.8", "v2.15"}
    assert api.client.get("/versions").status_code == 200


def test_api_requires_a_token(api: Api) -> None:
    resp = api.client.get("/v2/images")
    assert resp.status_code == 401
    assert resp.headers["content-type"].startswith("text/plain")
    assert api.client.get("/v2/images", headers={"X-Auth-Token": "garbage"}).status_code == 401


def test_create_defaults(api: Api) -> None:
    resp = api.client.post("/v2/images", json={}, headers=api.headers())
    assert resp.status_code == 201
    image = resp.json()
    assert set(image) == BASE_KEYS
    assert resp.headers["location"] == f"/v2/images/{image['id']}"
    assert resp.headers["openstack-image-import-methods"] == "glance-direct,web-download,copy-image"
    assert image["status"] == "queued"
    assert image["visibility"] == "shared"
    assert image["owner"] == PROJECT_A
    assert image["protected"] is False and image["os_hidden"] is False
    assert image["min_disk"] == 0 and image["min_ram"] == 0
    for key in ("name", "size", "virtual_size", "checksum", "os_hash_value", "disk_format"):
        assert image[key] is None
    assert image["tags"] == []
    assert image["self"] == f"/v2/images/{image['id']}"
    assert image["file"] == f"/v2/images/{image['id']}/file"
    assert image["schema"] == "/v2/schemas/image"
    assert image["created_at"].endswith("Z") and len(image["created_at"]) == 20


def test_create_every_field(api: Api) -> None:
    image_id = str(uuid.uuid4())
    image = api.create(
        id=image_id,
        name="cirros",
        visibility="private",
        protected=True,
        os_hidden=True,
        disk_format="qcow2",
        container_format="bare",
        min_disk=1,
        min_ram=64,
        tags=["a", "b", "a"],
        hw_disk_bus="virtio",
    )
    assert image["id"] == image_id
    assert image["name"] == "cirros"
    assert image["visibility"] == "private"
    assert image["protected"] is True and image["os_hidden"] is True
    assert (image["min_disk"], image["min_ram"]) == (1, 64)
    assert image["tags"] == ["a", "b"]
    assert image["hw_disk_bus"] == "virtio"
    shown = api.show(image_id).json()
    assert shown == image


@pytest.mark.parametrize(
    "body",
    [
        {"name": 5},
        {"name": "x" * 256},
        {"visibility": "secret"},
        {"protected": "yes"},
        {"min_ram": -1},
        {"min_disk": "1"},
        {"min_ram": True},
        {"disk_format": "floppy"},
        {"container_format": "tarball"},
        {"tags": "a"},
        {"tags": [1]},
        {"tags": ["x" * 256]},
        {"id": "not-a-uuid"},
        {"custom": 1},
        {"custom": None},
        {"k" * 256: "v"},
    ],
)
def test_create_rejects_bad_values(api: Api, body: dict[str, object]) -> None:
    resp = api.client.post("/v2/images", json=body, headers=api.headers())
    assert resp.status_code == 400, resp.text


@pytest.mark.parametrize(
    "key",
    [
        "status",
        "checksum",
        "size",
        "virtual_size",
        "created_at",
        "self",
        "file",
        "schema",
        "stores",
    ],
)
def test_create_rejects_read_only_attributes(api: Api, key: str) -> None:
    resp = api.client.post("/v2/images", json={key: "x"}, headers=api.headers())
    assert resp.status_code == 403


@pytest.mark.parametrize("key", ["os_glance_foo", "location", "locations", "deleted"])
def test_create_rejects_reserved_attributes(api: Api, key: str) -> None:
    resp = api.client.post("/v2/images", json={key: "x"}, headers=api.headers())
    assert resp.status_code == 403


@pytest.mark.parametrize("raw", [b"", b"{", b"[1, 2]", b'"text"'])
def test_create_rejects_bad_bodies(api: Api, raw: bytes) -> None:
    headers = {**api.headers(), "Content-Type": "application/json"}
    resp = api.client.post("/v2/images", content=raw, headers=headers)
    assert resp.status_code == 400


def test_create_duplicate_id_conflicts_even_after_delete(api: Api) -> None:
    image = api.create()
    resp = api.client.post("/v2/images", json={"id": image["id"]}, headers=api.headers())
    assert resp.status_code == 409
    assert api.client.delete(f"/v2/images/{image['id']}", headers=api.headers()).status_code == 204
    resp = api.client.post("/v2/images", json={"id": image["id"]}, headers=api.headers())
    assert resp.status_code == 409


def test_only_admins_publicize(api: Api) -> None:
    resp = api.client.post("/v2/images", json={"visibility": "public"}, headers=api.headers())
    assert resp.status_code == 403
    image = api.create(api.admin(), visibility="public")
    assert image["visibility"] == "public"
    community = api.create(visibility="community")
    assert community["visibility"] == "community"
    resp = api.patch(community["id"], [{"op": "replace", "path": "/visibility", "value": "public"}])
    assert resp.status_code == 403


def test_owner_on_create(api: Api) -> None:
    resp = api.client.post("/v2/images", json={"owner": PROJECT_B}, headers=api.headers())
    assert resp.status_code == 403
    assert PROJECT_B in resp.text
    image = api.create(api.admin(), owner=PROJECT_B)
    assert image["owner"] == PROJECT_B
    assert api.show(image["id"], api.headers(PROJECT_B)).status_code == 200


def test_readers_cannot_create(api: Api) -> None:
    resp = api.client.post("/v2/images", json={}, headers=api.headers(role="reader"))
    assert resp.status_code == 403


def test_show_unknown_and_invisible(api: Api) -> None:
    assert api.show(str(uuid.uuid4())).status_code == 404
    assert api.show("nonsense").status_code == 404
    private = api.create(visibility="private")
    assert api.show(private["id"], api.headers(PROJECT_B)).status_code == 404
    assert api.show(private["id"], api.admin()).status_code == 200


# -- PATCH ---------------------------------------------------------------------


def test_patch_base_attributes(api: Api) -> None:
    image = api.create()
    ops = [
        {"op": "replace", "path": "/name", "value": "new"},
        {"op": "add", "path": "/min_ram", "value": 512},
        {"op": "replace", "path": "/protected", "value": True},
        {"op": "replace", "path": "/os_hidden", "value": True},
        {"op": "replace", "path": "/visibility", "value": "private"},
        {"op": "replace", "path": "/disk_format", "value": "qcow2"},
        {"op": "replace", "path": "/container_format", "value": "ova"},
        {"op": "replace", "path": "/tags", "value": ["x", "y"]},
    ]
    resp = api.patch(image["id"], ops)
    assert resp.status_code == 200, resp.text
    patched = resp.json()
    assert patched["name"] == "new" and patched["min_ram"] == 512
    assert patched["protected"] is True and patched["os_hidden"] is True
    assert patched["visibility"] == "private"
    assert (patched["disk_format"], patched["container_format"]) == ("qcow2", "ova")
    assert patched["tags"] == ["x", "y"]
    assert api.show(image["id"]).json() == patched


def test_patch_properties(api: Api) -> None:
    image = api.create(a="1")
    resp = api.patch(
        image["id"],
        [
            {"op": "add", "path": "/b", "value": "2"},
            {"op": "replace", "path": "/a", "value": "one"},
            {"op": "add", "path": "/a", "value": "uno"},
            {"op": "add", "path": "/with~1slash", "value": "s"},
        ],
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert (body["a"], body["b"], body["with/slash"]) == ("uno", "2", "s")
    resp = api.patch(image["id"], [{"op": "remove", "path": "/a"}])
    assert resp.status_code == 200 and "a" not in resp.json()


def test_patch_is_all_or_nothing(api: Api) -> None:
    image = api.create(name="before")
    resp = api.patch(
        image["id"],
        [{"op": "replace", "path": "/name", "value": "after"}, {"op": "remove", "path": "/nope"}],
    )
    assert resp.status_code == 409
    assert api.show(image["id"]).json()["name"] == "before"


@pytest.mark.parametrize(
    ("ops", "status"),
    [
        ([{"op": "replace", "path": "/status", "value": "active"}], 403),
        ([{"op": "replace", "path": "/id", "value": str(uuid.uuid4())}], 403),
        ([{"op": "replace", "path": "/checksum", "value": "x"}], 403),
        ([{"op": "add", "path": "/self", "value": "x"}], 403),
        ([{"op": "add", "path": "/os_glance_import_task", "value": "x"}], 403),
        ([{"op": "add", "path": "/deleted", "value": "x"}], 403),
        ([{"op": "remove", "path": "/name"}], 403),
        ([{"op": "remove", "path": "/tags"}], 403),
        ([{"op": "replace", "path": "/owner", "value": "someone"}], 403),
        ([{"op": "replace", "path": "/missing", "value": "x"}], 409),
        ([{"op": "remove", "path": "/missing"}], 409),
        ([{"op": "replace", "path": "/name/deeper", "value": "x"}], 400),
        ([{"op": "add", "path": "/tags/-", "value": "x"}], 400),
        ([{"op": "replace", "path": "name", "value": "x"}], 400),
        ([{"op": "replace", "path": "/", "value": "x"}], 400),
        ([{"op": "replace", "path": "/a~2", "value": "x"}], 400),
        ([{"op": "move", "path": "/name", "value": "x"}], 400),
        ([{"path": "/name", "value": "x"}], 400),
        ([{"op": "replace", "value": "x"}], 400),
        ([{"op": "replace", "path": "/name"}], 400),
        ([{"op": "replace", "path": "/min_ram", "value": "lots"}], 400),
        ([{"op": "replace", "path": "/min_ram", "value": -5}], 400),
        ([{"op": "replace", "path": "/visibility", "value": "everyone"}], 400),
        ([{"op": "add", "path": "/prop", "value": 5}], 400),
        ([{"op": "replace", "path": "/disk_format", "value": "floppy"}], 400),
        ({"op": "replace"}, 400),
        (["op"], 400),
    ],
)
def test_patch_errors(api: Api, ops: object, status: int) -> None:
    image = api.create()
    resp = api.patch(image["id"], ops)
    assert resp.status_code == status, resp.text


def test_patch_media_types(api: Api) -> None:
    image = api.create()
    url = f"/v2/images/{image['id']}"
    ops = [{"op": "replace", "path": "/name", "value": "n"}]
    headers = {**api.headers(), "Content-Type": "application/json"}
    resp = api.client.patch(url, json=ops, headers=headers)
    assert resp.status_code == 415
    assert "application/openstack-images-v2.1-json-patch" in resp.headers["accept-patch"]
    headers = {**api.headers(), "Content-Type": "application/openstack-images-v2.0-json-patch"}
    resp = api.client.patch(url, json=[{"replace": "/name", "value": "old-style"}], headers=headers)
    assert resp.status_code == 200 and resp.json()["name"] == "old-style"
    # draft 4 "add" of something present is a conflict
    resp = api.client.patch(url, json=[{"add": "/name", "value": "x"}], headers=headers)
    assert resp.status_code == 409
    headers["Content-Type"] = "application/openstack-images-v2.1-json-patch"
    resp = api.client.patch(url, content=b"not json", headers=headers)
    assert resp.status_code == 400


def test_formats_frozen_once_data_is_there(api: Api) -> None:
    image = api.active()
    resp = api.patch(image["id"], [{"op": "replace", "path": "/disk_format", "value": "qcow2"}])
    assert resp.status_code == 403
    resp = api.patch(image["id"], [{"op": "replace", "path": "/name", "value": "ok"}])
    assert resp.status_code == 200


def test_admin_may_change_owner(api: Api) -> None:
    image = api.create()
    ops = [{"op": "replace", "path": "/owner", "value": PROJECT_B}]
    resp = api.patch(image["id"], ops, api.admin())
    assert resp.status_code == 200 and resp.json()["owner"] == PROJECT_B


def test_other_projects_cannot_modify(api: Api) -> None:
    private = api.create(visibility="private")
    ops = [{"op": "replace", "path": "/name", "value": "mine"}]
    assert api.patch(private["id"], ops, api.headers(PROJECT_B)).status_code == 404
    public = api.create(api.admin(), visibility="public")
    assert api.patch(public["id"], ops, api.headers(PROJECT_B)).status_code == 403
    assert api.patch(public["id"], ops, api.admin()).status_code == 200


def test_property_and_tag_quotas(make_api: MakeApi) -> None:
    api = make_api(**{"image.image_property_quota": 2, "image.image_tag_quota": 2})
    resp = api.client.post("/v2/images", json={"a": "1", "b": "2", "c": "3"}, headers=api.headers())
    assert resp.status_code == 413
    image = api.create(a="1", b="2", tags=["x", "y"])
    assert api.patch(image["id"], [{"op": "add", "path": "/c", "value": "3"}]).status_code == 413
    url = f"/v2/images/{image['id']}/tags/z"
    assert api.client.put(url, headers=api.headers()).status_code == 413


# -- delete and actions ----------------------------------------------------------


def test_delete(api: Api) -> None:
    image = api.active()
    url = f"/v2/images/{image['id']}"
    assert api.client.delete(url, headers=api.headers(PROJECT_B)).status_code == 404
    assert api.client.delete(url, headers=api.headers()).status_code == 204
    assert api.show(image["id"]).status_code == 404
    assert api.client.delete(url, headers=api.headers()).status_code == 404


def test_delete_removes_the_data(api: Api) -> None:
    from tinystack.image.conf import store_dir

    image = api.active()
    root = store_dir(api.runtime.conf)
    assert (root / image["id"]).exists()
    api.client.delete(f"/v2/images/{image['id']}", headers=api.headers())
    assert not (root / image["id"]).exists()


def test_protected_image_cannot_be_deleted(api: Api) -> None:
    image = api.create(protected=True)
    url = f"/v2/images/{image['id']}"
    assert api.client.delete(url, headers=api.headers()).status_code == 403
    assert api.client.delete(url, headers=api.admin()).status_code == 403
    api.patch(image["id"], [{"op": "replace", "path": "/protected", "value": False}])
    assert api.client.delete(url, headers=api.headers()).status_code == 204


def test_deactivate_and_reactivate(api: Api) -> None:
    image = api.active()
    base = f"/v2/images/{image['id']}"
    assert api.client.post(base + "/actions/deactivate", headers=api.headers()).status_code == 204
    assert api.show(image["id"]).json()["status"] == "deactivated"
    # idempotent
    assert api.client.post(base + "/actions/deactivate", headers=api.headers()).status_code == 204
    assert api.client.get(base + "/file", headers=api.headers()).status_code == 403
    assert api.client.get(base + "/file", headers=api.admin()).status_code == 200
    assert api.client.post(base + "/actions/reactivate", headers=api.headers()).status_code == 204
    assert api.show(image["id"]).json()["status"] == "active"
    assert api.client.get(base + "/file", headers=api.headers()).status_code == 200


def test_deactivate_needs_an_active_image(api: Api) -> None:
    image = api.create()
    url = f"/v2/images/{image['id']}/actions/deactivate"
    assert api.client.post(url, headers=api.headers()).status_code == 403
    other = api.client.post(url, headers=api.headers(PROJECT_B))
    assert other.status_code == 404


# -- tags --------------------------------------------------------------------------


def test_tags(api: Api) -> None:
    image = api.create(tags=["one"])
    base = f"/v2/images/{image['id']}/tags"
    assert api.client.put(base + "/two", headers=api.headers()).status_code == 204
    assert api.client.put(base + "/two", headers=api.headers()).status_code == 204
    assert api.show(image["id"]).json()["tags"] == ["one", "two"]
    assert api.client.delete(base + "/one", headers=api.headers()).status_code == 204
    assert api.client.delete(base + "/one", headers=api.headers()).status_code == 404
    assert api.show(image["id"]).json()["tags"] == ["two"]
    assert api.client.put(base + "/" + "x" * 256, headers=api.headers()).status_code == 400
    assert api.client.put(base + "/t", headers=api.headers(PROJECT_B)).status_code == 404


# -- discovery ---------------------------------------------------------------------


def test_schemas(api: Api) -> None:
    image = api.client.get("/v2/schemas/image", headers=api.headers()).json()
    assert image["name"] == "image"
    assert image["additionalProperties"] == {"type": "string"}
    assert set(image["properties"]) >= BASE_KEYS | {"locations", "direct_url", "stores"}
    assert image["properties"]["status"]["readOnly"] is True
    assert None in image["properties"]["disk_format"]["enum"]
    assert "qcow2" in image["properties"]["disk_format"]["enum"]
    images = api.client.get("/v2/schemas/images", headers=api.headers()).json()
    assert images["properties"]["images"]["items"]["name"] == "image"
    assert {link["rel"] for link in images["links"]} == {"first", "next", "describedby"}
    member = api.client.get("/v2/schemas/member", headers=api.headers()).json()
    assert member["properties"]["status"]["enum"] == ["pending", "accepted", "rejected"]
    members = api.client.get("/v2/schemas/members", headers=api.headers()).json()
    assert members["properties"]["members"]["items"]["name"] == "member"


def test_info(api: Api) -> None:
    resp = api.client.get("/v2/info/import", headers=api.headers()).json()
    assert resp["import-methods"]["value"] == ["glance-direct", "web-download", "copy-image"]
    stores = api.client.get("/v2/info/stores", headers=api.headers()).json()
    assert stores == {
        "stores": [{"id": "file", "description": "Local filesystem store", "default": True}]
    }
    assert api.client.get("/v2/info/stores/detail", headers=api.headers()).status_code == 403
    assert api.client.get("/v2/info/stores/detail", headers=api.admin()).status_code == 200
    api.active()
    usage = api.client.get("/v2/info/usage", headers=api.headers()).json()["usage"]
    assert usage["image_count_total"] == {"limit": -1, "usage": 1}
    assert set(usage) == {
        "image_size_total",
        "image_stage_total",
        "image_count_total",
        "image_count_uploading",
    }


def test_unknown_routes_and_methods(api: Api) -> None:
    assert api.client.get("/v2/nothing", headers=api.headers()).status_code == 404
    assert api.client.put("/v2/images", headers=api.headers()).status_code == 405
