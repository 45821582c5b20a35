"""OAuth1 (OS-OAUTH1): consumers, the delegation flow signed with oauthlib, OAuth-scoped
tokens and their revocation."""

from __future__ import annotations

import urllib.parse
from typing import Any

from oauthlib.oauth1 import Client

from tests.identity.conftest import Cloud, assert_error, password_auth

OAUTH = "/v3/OS-OAUTH1"
BASE = "http://testserver"  # the TestClient's host, which the signature covers


def _consumer(cloud: Cloud) -> dict[str, Any]:
    body = {"consumer": {"description": "a consumer"}}
    consumer: dict[str, Any] = cloud.ok("POST", f"{OAUTH}/consumers", status=201, json=body)[
        "consumer"
    ]
    return consumer


def _signed(client: Client, path: str, **headers: str) -> tuple[str, dict[str, str]]:
    url, signed, _ = client.sign(BASE + path, http_method="POST", headers=headers)
    return url, dict(signed)


def _form(text: str) -> dict[str, str]:
    return dict(urllib.parse.parse_qsl(text))


def _delegate(cloud: Cloud) -> dict[str, Any]:
    """Run the flow to an access token: a member authorizes its member role on its project."""
    project, user, user_token = cloud.member()
    consumer = _consumer(cloud)
    client = Client(consumer["id"], client_secret=consumer["secret"], callback_uri="oob")
    _, headers = _signed(
        client, f"{OAUTH}/request_token", **{"Requested-Project-Id": project["id"]}
    )
    response = cloud.client.post(f"{OAUTH}/request_token", headers=headers)
    assert response.status_code == 201, response.text
    assert response.headers["content-type"].startswith("application/x-www-form-urlencoded")
    request_token = _form(response.text)
    assert request_token["oauth_expires_at"]
    member = cloud.role_id("member")
    body = {"roles": [{"id": member}]}
    path = f"{OAUTH}/authorize/{request_token['oauth_token']}"
    # The admin authorizes on behalf of nobody: authorizing is admin-only upstream, so the
    # member gets the admin role on the project first.
    cloud.grant("admin", user=user["id"], project=project["id"])
    admin_token = cloud.project_token(user["id"], project["id"])
    verifier = cloud.ok("PUT", path, token=admin_token, json=body)["token"]["oauth_verifier"]
    assert len(verifier) == 8
    client = Client(
        consumer["id"],
        client_secret=consumer["secret"],
        resource_owner_key=request_token["oauth_token"],
        resource_owner_secret=request_token["oauth_token_secret"],
        verifier=verifier,
    )
    _, headers = _signed(client, f"{OAUTH}/access_token")
    response = cloud.client.post(f"{OAUTH}/access_token", headers=headers)
    assert response.status_code == 201, response.text
    access = _form(response.text)
    return {
        "project": project,
        "user": user,
        "consumer": consumer,
        "access": access,
        "request_token": request_token,
        "verifier": verifier,
        "admin_token": admin_token,
    }


def _oauth_token(cloud: Cloud, d: dict[str, Any], status: int = 201) -> tuple[str, Any]:
    client = Client(
        d["consumer"]["id"],
        client_secret=d["consumer"]["secret"],
        resource_owner_key=d["access"]["oauth_token"],
        resource_owner_secret=d["access"]["oauth_token_secret"],
    )
    _, headers = _signed(client, "/v3/auth/tokens")
    body = {"auth": {"identity": {"methods": ["oauth1"], "oauth1": {}}}}
    response = cloud.client.post("/v3/auth/tokens", headers=headers, json=body)
    assert response.status_code == status, response.text
    if status != 201:
        return "", response.json()
    return response.headers["X-Subject-Token"], response.json()["token"]


def test_consumer_crud(cloud: Cloud) -> None:
    consumer = _consumer(cloud)
    assert consumer["secret"] and consumer["description"] == "a consumer"
    path = f"{OAUTH}/consumers/{consumer['id']}"
    shown = cloud.ok("GET", path)["consumer"]
    assert "secret" not in shown and shown["links"]["self"].endswith(path)
    assert consumer["id"] in {c["id"] for c in cloud.ok("GET", f"{OAUTH}/consumers")["consumers"]}
    updated = cloud.ok("PATCH", path, json={"consumer": {"description": "renamed", "x": 1}})
    assert updated["consumer"]["description"] == "renamed" and updated["consumer"]["x"] == 1
    assert_error(cloud.patch(path, json={"consumer": {"secret": "mine"}}), 400)
    assert_error(cloud.patch(path, json={"consumer": {}}), 400)
    _, _, member = cloud.member()
    assert_error(cloud.post(f"{OAUTH}/consumers", token=member, json={"consumer": {}}), 403)
    assert cloud.delete(path).status_code == 204
    assert_error(cloud.get(path), 404)


def test_flow_and_oauth_scoped_token(cloud: Cloud) -> None:
    d = _delegate(cloud)
    token_id, token = _oauth_token(cloud, d)
    assert token["methods"] == ["oauth1"] and token["user"]["id"] == d["user"]["id"]
    assert token["project"]["id"] == d["project"]["id"]
    # Only the authorized role (and what it implies), not the admin role the user also has.
    names = {r["name"] for r in token["roles"]}
    assert {"member", "reader"} <= names and "admin" not in names
    assert token["OS-OAUTH1"] == {
        "access_token_id": d["access"]["oauth_token"],
        "consumer_id": d["consumer"]["id"],
    }
    assert cloud.alive(token_id)
    # The request token is spent.
    client = Client(
        d["consumer"]["id"],
        client_secret=d["consumer"]["secret"],
        resource_owner_key=d["request_token"]["oauth_token"],
        resource_owner_secret=d["request_token"]["oauth_token_secret"],
        verifier=d["verifier"],
    )
    _, headers = _signed(client, f"{OAUTH}/access_token")
    assert_error(cloud.client.post(f"{OAUTH}/access_token", headers=headers), 404)
    # An OAuth-scoped token makes no other token.
    rescope = {"auth": {"identity": {"methods": ["token"], "token": {"id": token_id}}}}
    assert_error(cloud.client.post("/v3/auth/tokens", json=rescope), 403)
    # The user's access tokens, and their roles.
    base = f"/v3/users/{d['user']['id']}/OS-OAUTH1/access_tokens"
    listed = cloud.ok("GET", base)["access_tokens"]
    assert [t["id"] for t in listed] == [d["access"]["oauth_token"]]
    assert listed[0]["consumer_id"] == d["consumer"]["id"] and "access_secret" not in listed[0]
    path = f"{base}/{d['access']['oauth_token']}"
    assert cloud.ok("GET", path)["access_token"]["project_id"] == d["project"]["id"]
    roles = cloud.ok("GET", f"{path}/roles")["roles"]
    assert [r["name"] for r in roles] == ["member"]
    cloud.ok("GET", f"{path}/roles/{cloud.role_id('member')}")
    assert_error(cloud.get(f"{path}/roles/{cloud.role_id('admin')}"), 404)
    # A delegated token manages no access tokens.
    assert_error(cloud.get(base, token=token_id), 403)
    # Deleting the access token revokes its tokens.
    assert cloud.delete(path).status_code == 204
    assert not cloud.alive(token_id)
    _oauth_token(cloud, d, status=404)


def test_deleting_the_consumer_revokes(cloud: Cloud) -> None:
    d = _delegate(cloud)
    token_id, _ = _oauth_token(cloud, d)
    cloud.ok("DELETE", f"{OAUTH}/consumers/{d['consumer']['id']}", status=204)
    assert not cloud.alive(token_id)
    events = cloud.ok("GET", "/v3/OS-REVOKE/events")["events"]
    assert any(e.get("OS-OAUTH1:consumer_id") == d["consumer"]["id"] for e in events)


def test_bad_signatures_and_requests(cloud: Cloud) -> None:
    project, _, _ = cloud.member()
    consumer = _consumer(cloud)
    wrong = Client(consumer["id"], client_secret="not-the-secret")
    _, headers = _signed(wrong, f"{OAUTH}/request_token", **{"Requested-Project-Id": project["id"]})
    assert_error(cloud.client.post(f"{OAUTH}/request_token", headers=headers), 401)
    right = Client(consumer["id"], client_secret=consumer["secret"])
    _, headers = _signed(right, f"{OAUTH}/request_token")
    assert_error(cloud.client.post(f"{OAUTH}/request_token", headers=headers), 400)
    _, headers = _signed(right, f"{OAUTH}/request_token", **{"Requested-Project-Id": "nosuch"})
    assert_error(cloud.client.post(f"{OAUTH}/request_token", headers=headers), 404)
    assert_error(cloud.client.post(f"{OAUTH}/request_token"), 400)
    nobody = Client("0" * 32, client_secret="x")
    _, headers = _signed(
        nobody, f"{OAUTH}/request_token", **{"Requested-Project-Id": project["id"]}
    )
    assert_error(cloud.client.post(f"{OAUTH}/request_token", headers=headers), 404)
    # Authorizing a role the user lacks, or an unknown request token.
    _, headers = _signed(right, f"{OAUTH}/request_token", **{"Requested-Project-Id": project["id"]})
    rt = _form(cloud.client.post(f"{OAUTH}/request_token", headers=headers).text)
    path = f"{OAUTH}/authorize/{rt['oauth_token']}"
    outsider = cloud.user()
    cloud.grant("admin", user=outsider["id"], project=cloud.ids["admin_project"])
    outsider_token = cloud.project_token(outsider["id"], cloud.ids["admin_project"])
    body = {"roles": [{"name": "member"}]}
    assert_error(cloud.put(path, token=outsider_token, json=body), 401)
    assert_error(cloud.put(f"{OAUTH}/authorize/nosuch", json=body), 404)
    assert_error(cloud.put(path, json={"roles": [{"id": "a", "name": "b"}]}), 400)
    # Exchanging an unauthorized request token, or with a wrong verifier.
    client = Client(
        consumer["id"],
        client_secret=consumer["secret"],
        resource_owner_key=rt["oauth_token"],
        resource_owner_secret=rt["oauth_token_secret"],
        verifier="abcdefgh",
    )
    _, headers = _signed(client, f"{OAUTH}/access_token")
    assert_error(cloud.client.post(f"{OAUTH}/access_token", headers=headers), 401)
    # oauth1 authentication with an unknown access token.
    unknown = Client(
        consumer["id"],
        client_secret=consumer["secret"],
        resource_owner_key="f" * 32,
        resource_owner_secret="x",
    )
    _, headers = _signed(unknown, "/v3/auth/tokens")
    body2 = {"auth": {"identity": {"methods": ["oauth1"], "oauth1": {}}}}
    assert_error(cloud.client.post("/v3/auth/tokens", headers=headers, json=body2), 404)


def test_delegated_tokens_cannot_authorize(cloud: Cloud) -> None:
    d = _delegate(cloud)
    token_id, _ = _oauth_token(cloud, d)
    consumer = d["consumer"]
    client = Client(consumer["id"], client_secret=consumer["secret"])
    _, headers = _signed(
        client, f"{OAUTH}/request_token", **{"Requested-Project-Id": d["project"]["id"]}
    )
    rt = _form(cloud.client.post(f"{OAUTH}/request_token", headers=headers).text)
    body = {"roles": [{"name": "member"}]}
    assert_error(
        cloud.put(f"{OAUTH}/authorize/{rt['oauth_token']}", token=token_id, json=body), 403
    )
    # The user's password works as before.
    cloud.issue(password_auth(user_id=d["user"]["id"], password="secret"))
