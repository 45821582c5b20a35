"""Image sharing: members, their status, and what members may see and do."""

from __future__ import annotations

from typing import Any

from tests.image.conftest import PROJECT_A, PROJECT_B, PROJECT_C, Api


def members_url(image: dict[str, Any], member: str = "") -> str:
    base = f"/v2/images/{image['id']}/members"
    return f"{base}/{member}" if member else base


def add(api: Api, image: dict[str, Any], member: str, headers: dict[str, str] | None = None) -> Any:
    return api.client.post(
        members_url(image), json={"member": member}, headers=headers or api.headers()
    )


def set_status(api: Api, image: dict[str, Any], member: str, status: str, project: str) -> Any:
    return api.client.put(
        members_url(image, member), json={"status": status}, headers=api.headers(project)
    )


def test_sharing_life_cycle(api: Api) -> None:
    image = api.active(name="to-share", visibility="shared")
    b = api.headers(PROJECT_B)
    assert api.show(image["id"], b).status_code == 404

    resp = add(api, image, PROJECT_B)
    assert resp.status_code == 200
    member = resp.json()
    assert member["member_id"] == PROJECT_B
    assert member["image_id"] == image["id"]
    assert member["status"] == "pending"
    assert member["schema"] == "/v2/schemas/member"
    assert member["created_at"].endswith("Z")

    # a pending member can see and download the image, but it is not in its list yet
    assert api.show(image["id"], b).status_code == 200
    assert api.client.get(f"/v2/images/{image['id']}/file", headers=b).status_code == 200
    assert api.client.get("/v2/images", headers=b).json()["images"] == []

    resp = set_status(api, image, PROJECT_B, "accepted", PROJECT_B)
    assert resp.status_code == 200 and resp.json()["status"] == "accepted"
    listed = api.client.get("/v2/images", headers=b).json()["images"]
    assert [i["id"] for i in listed] == [image["id"]]

    # the member still cannot change the image
    ops = [{"op": "replace", "path": "/name", "value": "mine"}]
    assert api.patch(image["id"], ops, b).status_code == 403
    assert api.client.delete(f"/v2/images/{image['id']}", headers=b).status_code == 403

    assert set_status(api, image, PROJECT_B, "rejected", PROJECT_B).json()["status"] == "rejected"
    assert api.client.get("/v2/images", headers=b).json()["images"] == []
    assert set_status(api, image, PROJECT_B, "pending", PROJECT_B).status_code == 200

    assert (
        api.client.delete(members_url(image, PROJECT_B), headers=api.headers()).status_code == 204
    )
    assert api.show(image["id"], b).status_code == 404


def test_list_and_show_members(api: Api) -> None:
    image = api.create(visibility="shared")
    add(api, image, PROJECT_B)
    add(api, image, PROJECT_C)
    owner_view = api.client.get(members_url(image), headers=api.headers()).json()
    assert owner_view["schema"] == "/v2/schemas/members"
    assert sorted(m["member_id"] for m in owner_view["members"]) == [PROJECT_B, PROJECT_C]
    member_view = api.client.get(members_url(image), headers=api.headers(PROJECT_B)).json()
    assert [m["member_id"] for m in member_view["members"]] == [PROJECT_B]
    admin_view = api.client.get(members_url(image), headers=api.admin()).json()
    assert len(admin_view["members"]) == 2

    resp = api.client.get(members_url(image, PROJECT_C), headers=api.headers())
    assert resp.status_code == 200 and resp.json()["member_id"] == PROJECT_C
    # a member cannot see another member
    resp = api.client.get(members_url(image, PROJECT_C), headers=api.headers(PROJECT_B))
    assert resp.status_code == 404
    resp = api.client.get(members_url(image, "unknown"), headers=api.headers())
    assert resp.status_code == 404
    # outsiders learn nothing
    outsider = api.headers("project-z")
    assert api.client.get(members_url(image), headers=outsider).status_code == 404
    assert api.client.get(members_url(image, PROJECT_B), headers=outsider).status_code == 404


def test_only_the_member_sets_its_status(api: Api) -> None:
    image = api.create(visibility="shared")
    add(api, image, PROJECT_B)
    add(api, image, PROJECT_C)
    assert set_status(api, image, PROJECT_B, "accepted", PROJECT_A).status_code == 403
    assert set_status(api, image, PROJECT_B, "accepted", PROJECT_C).status_code == 404
    resp = api.client.put(
        members_url(image, PROJECT_B), json={"status": "accepted"}, headers=api.admin()
    )
    assert resp.status_code == 200


def test_only_the_owner_adds_and_removes(api: Api) -> None:
    image = api.create(visibility="shared")
    add(api, image, PROJECT_B)
    set_status(api, image, PROJECT_B, "accepted", PROJECT_B)
    assert add(api, image, PROJECT_C, api.headers(PROJECT_B)).status_code == 403
    resp = api.client.delete(members_url(image, PROJECT_B), headers=api.headers(PROJECT_B))
    assert resp.status_code == 403
    assert add(api, image, PROJECT_C, api.admin()).status_code == 200
    assert add(api, image, PROJECT_C, api.headers(role="reader")).status_code == 403


def test_members_need_a_shared_image(api: Api) -> None:
    private = api.create(visibility="private")
    assert add(api, private, PROJECT_B).status_code == 403
    assert api.client.get(members_url(private), headers=api.headers()).status_code == 403
    shared = api.create(visibility="shared")
    add(api, shared, PROJECT_B)
    api.patch(shared["id"], [{"op": "replace", "path": "/visibility", "value": "private"}])
    assert api.show(shared["id"], api.headers(PROJECT_B)).status_code == 404
    resp = api.client.get(members_url(shared, PROJECT_B), headers=api.headers())
    assert resp.status_code == 404


def test_member_errors(api: Api) -> None:
    image = api.create(visibility="shared")
    assert add(api, image, PROJECT_B).status_code == 200
    assert add(api, image, PROJECT_B).status_code == 409
    bodies: list[object] = [{}, {"member": ""}, {"member": 5}, [], {"member": "x" * 256}]
    for body in bodies:
        resp = api.client.post(members_url(image), json=body, headers=api.headers())
        assert resp.status_code == 400, body
    for body in ({}, {"status": "maybe"}, []):
        resp = api.client.put(
            members_url(image, PROJECT_B), json=body, headers=api.headers(PROJECT_B)
        )
        assert resp.status_code == 400, body
    unknown = "00000000-0000-0000-0000-000000000000"
    resp = api.client.post(
        f"/v2/images/{unknown}/members", json={"member": PROJECT_B}, headers=api.headers()
    )
    assert resp.status_code == 404


def test_member_quota(make_api: Any) -> None:
    api = make_api(**{"image.image_member_quota": 1})
    image = api.create(visibility="shared")
    assert add(api, image, PROJECT_B).status_code == 200
    assert add(api, image, PROJECT_C).status_code == 413


def test_deleting_the_image_drops_members(api: Api) -> None:
    image = api.create(visibility="shared")
    add(api, image, PROJECT_B)
    api.client.delete(f"/v2/images/{image['id']}", headers=api.headers())
    resp = api.client.get("/v2/images?member_status=all", headers=api.headers(PROJECT_B))
    assert resp.json()["images"] == []


def test_community_images(api: Api) -> None:
    image = api.active(name="community", visibility="community")
    b = api.headers(PROJECT_B)
    assert api.show(image["id"], b).status_code == 200
    assert api.client.get(f"/v2/images/{image['id']}/file", headers=b).status_code == 200
    assert api.client.get("/v2/images", headers=b).json()["images"] == []
    found = api.client.get("/v2/images?visibility=community", headers=b).json()["images"]
    assert [i["id"] for i in found] == [image["id"]]
    assert add(api, image, PROJECT_B).status_code == 403
