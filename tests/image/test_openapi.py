"""``/openapi.json`` describes the request body of every image write route."""

from __future__ import annotations

from tests.image.conftest import Api
from tinystack.image import policies
from tinystack.image.api import schemas

#: write routes Glance defines without a body
BODYLESS = {
    ("POST", "/v2/images/{image_id}/actions/deactivate"),
    ("POST", "/v2/images/{image_id}/actions/reactivate"),
    ("PUT", "/v2/images/{image_id}/tags/{tag}"),
    ("PUT", "/v2/cache/{image_id}"),
    ("POST", "/v2/metadefs/namespaces/{namespace}/tags/{tag_name}"),
}


def test_every_write_route_declares_its_body(api: Api) -> None:
    doc = api.client.get("/openapi.json").json()
    missing, content = [], {}
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            key = (method.upper(), path)
            if key[0] not in ("POST", "PUT", "PATCH") or key in BODYLESS:
                continue
            body = operation.get("requestBody")
            if body is None:
                missing.append(key)
            else:
                content[key] = sorted(body["content"])
    assert missing == []
    assert content[("PATCH", "/v2/images/{image_id}")] == [
        "application/openstack-images-v2.0-json-patch",
        "application/openstack-images-v2.1-json-patch",
    ]
    assert content[("PUT", "/v2/images/{image_id}/file")] == ["application/octet-stream"]
    assert content[("POST", "/v2/images")] == ["application/json"]
    assert "$defs" not in str(doc["paths"]) and "#/$defs" not in str(doc["paths"])


def test_the_models_accept_what_glance_accepts() -> None:
    schemas.ImageCreate.model_validate(
        {"name": "cirros", "disk_format": "qcow2", "visibility": "shared", "purpose": "test"}
    )
    schemas.ImagePatch.model_validate([{"op": "replace", "path": "/name", "value": "x"}])
    schemas.ImagePatchV20.model_validate([{"replace": "/name", "value": "x"}])
    schemas.MemberCreate.model_validate({"member": "project-b"})
    schemas.MemberUpdate.model_validate({"status": "accepted"})
    schemas.ImageImport.model_validate({"method": {"name": "glance-direct"}, "stores": ["file"]})


def test_a_malformed_body_is_still_glance_400(api: Api) -> None:
    resp = api.client.post(
        "/v2/images",
        content=b"{nope",
        headers={**api.headers(), "Content-Type": "application/json"},
    )
    assert resp.status_code == 400
    assert "Malformed JSON in request body." in resp.text


#: routes that check no policy rule of their own (as upstream): version discovery needs
#: no token, the JSON schemas and the discovery documents need one
NO_RULE = {
    ("GET", "/"),
    ("GET", "/versions"),
    ("GET", "/v2"),
    ("GET", "/v2/"),
    ("GET", "/v2/schemas/image"),
    ("GET", "/v2/schemas/images"),
    ("GET", "/v2/schemas/member"),
    ("GET", "/v2/schemas/members"),
    ("GET", "/v2/info/import"),
    ("GET", "/v2/info/stores"),
    ("GET", "/v2/info/usage"),
    ("GET", "/v2/schemas/task"),
    ("GET", "/v2/schemas/tasks"),
    *(
        ("GET", f"/v2/schemas/metadefs/{kind}")
        for kind in (
            "namespace",
            "namespaces",
            "object",
            "objects",
            "property",
            "properties",
            "tag",
            "tags",
            "resource_type",
            "resource_types",
        )
    ),
}


def test_every_route_names_its_registered_policy_rules(api: Api) -> None:
    registered = {rule.name for rule in policies.list_rules()}
    doc = api.client.get("/openapi.json").json()
    undeclared, unknown, public = [], [], set()
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            key = (method.upper(), path)
            if operation.get("x-public"):
                public.add(key)
                continue
            declared = operation.get("x-policies", [])
            if not declared:
                undeclared.append(key)
            unknown += [(key, rule) for rule in declared if rule not in registered]
    assert undeclared == [] and unknown == []
    assert public == NO_RULE
    image = doc["paths"]["/v2/images/{image_id}"]
    assert image["patch"]["x-policies"] == ["modify_image", "publicize_image", "communitize_image"]
