"""Metadata definitions: namespaces, objects, properties, tags, resource types, schemas."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.image.conftest import PROJECT_A, PROJECT_B, Api, MakeApi
from tinystack.image.service import build_deps
from tinystack.image.services import metadef_loader

NS = "/v2/metadefs/namespaces"


def ns_body(name: str, **extra: Any) -> dict[str, Any]:
    return {"namespace": name, "display_name": name.title(), **extra}


def create_ns(api: Api, name: str, **extra: Any) -> dict[str, Any]:
    resp = api.client.post(NS, json=ns_body(name, **extra), headers=api.admin())
    assert resp.status_code == 201, resp.text
    assert resp.headers["location"] == f"{NS}/{name}"
    body: dict[str, Any] = resp.json()
    return body


def test_namespace_lifecycle_and_protection(api: Api) -> None:
    created = create_ns(
        api,
        "test-ns",
        visibility="public",
        protected=True,
        resource_type_associations=[{"name": "OS::Glance::Image", "prefix": "hw_"}],
        properties={"cores": {"title": "Cores", "type": "integer", "minimum": 1}},
        objects=[{"name": "CPU", "properties": {"x": {"title": "X", "type": "string"}}}],
        tags=[{"name": "fast"}],
    )
    assert created["visibility"] == "public" and created["protected"] is True
    assert created["owner"] == "admin-project"
    assert created["schema"] == "/v2/schemas/metadefs/namespace"
    shown = api.client.get(f"{NS}/test-ns", headers=api.headers()).json()
    assert shown["properties"]["cores"]["minimum"] == 1
    assert [o["name"] for o in shown["objects"]] == ["CPU"]
    assert shown["tags"] == [{"name": "fast"}]
    assert shown["resource_type_associations"][0]["prefix"] == "hw_"
    prefixed = api.client.get(
        f"{NS}/test-ns?resource_type=OS::Glance::Image", headers=api.headers()
    ).json()
    assert "hw_cores" in prefixed["properties"]
    # members may read a public namespace but not change it
    assert api.client.delete(f"{NS}/test-ns", headers=api.headers()).status_code == 403
    assert api.client.delete(f"{NS}/test-ns", headers=api.admin()).status_code == 403  # protected
    assert api.client.delete(f"{NS}/test-ns/tags", headers=api.admin()).status_code == 403
    update = ns_body("test-ns", visibility="private", protected=False)
    resp = api.client.put(f"{NS}/test-ns", json=update, headers=api.admin())
    assert resp.status_code == 200 and resp.json()["protected"] is False
    # private now, owned by the admin project: invisible to project A
    assert api.client.get(f"{NS}/test-ns", headers=api.headers()).status_code == 404
    assert api.client.delete(f"{NS}/test-ns", headers=api.admin()).status_code == 204
    assert api.client.get(f"{NS}/test-ns", headers=api.admin()).status_code == 404


def test_namespace_errors(api: Api) -> None:
    create_ns(api, "dup")
    assert api.client.post(NS, json=ns_body("dup"), headers=api.admin()).status_code == 409
    assert api.client.post(NS, json={}, headers=api.admin()).status_code == 400
    bad_vis = ns_body("x", visibility="shared")
    assert api.client.post(NS, json=bad_vis, headers=api.admin()).status_code == 400
    readonly = ns_body("x", created_at="now")
    assert api.client.post(NS, json=readonly, headers=api.admin()).status_code == 403
    bad_prop = ns_body("x", properties={"p": {"type": "string"}})  # no title
    assert api.client.post(NS, json=bad_prop, headers=api.admin()).status_code == 400
    assert api.client.get(NS + "?visibility=shared", headers=api.admin()).status_code == 400
    assert api.client.get(NS + "?limit=x", headers=api.admin()).status_code == 400
    assert api.client.post(NS, json=ns_body("y"), headers=api.headers()).status_code == 403
    # the failed creates wrote nothing
    names = [n["namespace"] for n in api.client.get(NS, headers=api.admin()).json()["namespaces"]]
    assert "x" not in names


def test_namespace_list_filters_and_pages(api: Api) -> None:
    for i in range(3):
        create_ns(api, f"pub-{i}", visibility="public")
    create_ns(api, "priv", resource_type_associations=[{"name": "OS::Nova::Flavor"}])
    member = api.client.get(NS, headers=api.headers(PROJECT_B)).json()
    assert {n["namespace"] for n in member["namespaces"]} >= {"pub-0", "pub-1", "pub-2"}
    assert "priv" not in {n["namespace"] for n in member["namespaces"]}
    page = api.client.get(NS + "?limit=2&sort_key=namespace&sort_dir=asc", headers=api.admin())
    body = page.json()
    assert [n["namespace"] for n in body["namespaces"]] == ["priv", "pub-0"]
    rest = api.client.get(body["next"], headers=api.admin()).json()
    assert [n["namespace"] for n in rest["namespaces"]][:2] == ["pub-1", "pub-2"]
    by_type = api.client.get(NS + "?resource_types=OS::Nova::Flavor", headers=api.admin()).json()
    assert [n["namespace"] for n in by_type["namespaces"]] == ["priv"]


def test_objects_properties_tags(api: Api) -> None:
    create_ns(api, "content")
    base = f"{NS}/content"
    obj = {"name": "o1", "required": ["a"], "properties": {"a": {"title": "A", "type": "string"}}}
    resp = api.client.post(base + "/objects", json=obj, headers=api.admin())
    assert resp.status_code == 201 and resp.json()["self"] == base + "/objects/o1"
    assert api.client.post(base + "/objects", json=obj, headers=api.admin()).status_code == 409
    renamed = api.client.put(base + "/objects/o1", json={"name": "o2"}, headers=api.admin())
    assert renamed.json()["name"] == "o2"
    assert [
        o["name"] for o in api.client.get(base + "/objects", headers=api.admin()).json()["objects"]
    ] == ["o2"]
    prop = {"name": "speed", "title": "Speed", "type": "string", "enum": ["a", "b"]}
    assert api.client.post(base + "/properties", json=prop, headers=api.admin()).status_code == 201
    listed = api.client.get(base + "/properties", headers=api.admin()).json()
    assert listed["properties"]["speed"]["enum"] == ["a", "b"]
    bad = {"name": "p", "title": "P", "type": "colour"}
    assert api.client.post(base + "/properties", json=bad, headers=api.admin()).status_code == 400
    changed = {**prop, "title": "Velocity"}
    resp = api.client.put(base + "/properties/speed", json=changed, headers=api.admin())
    assert resp.json()["title"] == "Velocity"
    # tags: one, then many (replace), then many with append; duplicates refused
    assert api.client.post(base + "/tags/t0", headers=api.admin()).status_code == 201
    assert api.client.post(base + "/tags/t0", headers=api.admin()).status_code == 409
    many = {"tags": [{"name": "t1"}, {"name": "t2"}]}
    assert api.client.post(base + "/tags", json=many, headers=api.admin()).status_code == 201
    names = {t["name"] for t in api.client.get(base + "/tags", headers=api.admin()).json()["tags"]}
    assert names == {"t1", "t2"}
    append = {**api.admin(), "X-Openstack-Append": "true"}
    more = {"tags": [{"name": "t3"}]}
    assert api.client.post(base + "/tags", json=more, headers=append).status_code == 201
    assert api.client.post(base + "/tags", json=more, headers=append).status_code == 409
    assert len(api.client.get(base + "/tags", headers=api.admin()).json()["tags"]) == 3
    resp = api.client.put(base + "/tags/t3", json={"name": "t4"}, headers=api.admin())
    assert resp.json()["name"] == "t4"
    assert api.client.delete(base + "/tags", headers=api.admin()).status_code == 204
    assert api.client.get(base + "/tags", headers=api.admin()).json()["tags"] == []
    for sub in ("/objects/o2", "/properties/speed"):
        assert api.client.delete(base + sub, headers=api.admin()).status_code == 204
        assert api.client.get(base + sub, headers=api.admin()).status_code == 404


def test_resource_types_and_associations(api: Api) -> None:
    build_deps(api.runtime)  # the app's deps; bootstrap creates the standard types
    metadef_loader.load(build_deps(api.runtime))
    types = api.client.get("/v2/metadefs/resource_types", headers=api.headers()).json()
    assert "OS::Glance::Image" in {t["name"] for t in types["resource_types"]}
    create_ns(api, "assoc")
    url = f"{NS}/assoc/resource_types"
    link = {"name": "OS::Cinder::Volume", "prefix": "vol_", "properties_target": "image"}
    resp = api.client.post(url, json=link, headers=api.admin())
    assert resp.status_code == 201 and resp.json()["prefix"] == "vol_"
    assert api.client.post(url, json=link, headers=api.admin()).status_code == 409
    listed = api.client.get(url, headers=api.admin()).json()["resource_type_associations"]
    assert [a["name"] for a in listed] == ["OS::Cinder::Volume"]
    assert api.client.delete(url + "/OS::Cinder::Volume", headers=api.admin()).status_code == 204
    assert api.client.delete(url + "/OS::Cinder::Volume", headers=api.admin()).status_code == 404


def test_schemas(api: Api) -> None:
    names = {
        "namespace": "namespace",
        "namespaces": "namespaces",
        "object": "object",
        "objects": "objects",
        "property": "property",
        "properties": "properties",
        "tag": "tag",
        "tags": "tags",
        "resource_type": "resource_type_association",
        "resource_types": "resource_type_associations",
    }
    for path, name in names.items():
        body = api.client.get(f"/v2/schemas/metadefs/{path}", headers=api.headers()).json()
        assert body["name"] == name


def test_definitions_load_once(make_api: MakeApi, tmp_path: Path) -> None:
    folder = tmp_path / "defs"
    folder.mkdir()
    definition = {
        "namespace": "OS::Test::Loaded",
        "display_name": "Loaded",
        "visibility": "public",
        "protected": True,
        "resource_type_associations": [{"name": "OS::Glance::Image"}],
        "properties": {"hw_x": {"title": "X", "type": "string"}},
    }
    (folder / "loaded.json").write_text(json.dumps(definition))
    (folder / "broken.json").write_text("{nope")
    api = make_api(**{"image.metadefs_dir": str(folder)})
    deps = build_deps(api.runtime)
    assert metadef_loader.load(deps) == ["OS::Test::Loaded"]
    assert metadef_loader.load(deps) == []
    shown = api.client.get(f"{NS}/OS::Test::Loaded", headers=api.headers(PROJECT_A)).json()
    assert shown["properties"]["hw_x"]["title"] == "X"
