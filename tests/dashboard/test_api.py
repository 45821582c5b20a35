"""The Skyline API server's endpoints as tinystack serves them: sessions (login errors,
the signed cookie, expiry, forgery, CSRF, logout revoking the token), the profile,
policies, the joined lists and the pass-through."""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import cast

import httpx
import pytest

from tests.dashboard.conftest import API, Dashboard
from tinystack.common.clients.session import ClientError
from tinystack.dashboard.exception import ServiceFailed, SessionInvalid
from tinystack.dashboard.services import sessions
from tinystack.dashboard.services.deps import Deps
from tinystack.dashboard.services.records import Session
from tinystack.dashboard.services.signer import Signer


def test_login_errors_say_why(dashboard: Dashboard) -> None:
    client = httpx.Client(base_url=dashboard.url, timeout=30)
    wrong = client.post(API + "/login", json={"username": "demo", "password": "nope"})
    assert wrong.status_code == 401 and wrong.json()["detail"]
    assert "session" not in wrong.cookies
    unknown = client.post(API + "/login", json={"username": "ghost", "password": "x"})
    assert unknown.status_code == 401
    assert client.post(API + "/login", json={"password": "x"}).status_code == 400
    password = dashboard.password("demo")
    elsewhere = {"username": "demo", "password": password, "region": "RegionTwo"}
    assert client.post(API + "/login", json=elsewhere).status_code == 401
    here = {**elsewhere, "region": "RegionOne", "domain": "Default"}
    assert client.post(API + "/login", json=here).json()["region"] == "RegionOne"
    client.cookies.clear()
    assert client.get(API + "/profile").status_code == 401
    # what the login page asks before anyone logged in
    assert client.get(API + "/contrib/domains").json() == ["Default"]
    assert client.get(API + "/contrib/regions").json() == ["RegionOne"]
    assert client.get(API + "/config").json()["default_domain"] == "Default"


def test_session_cookie_profile_and_logout_revokes(dashboard: Dashboard) -> None:
    client = dashboard.login("demo")
    cookie = next(c for c in client.cookies.jar if c.name == "session")
    assert cookie.has_nonstandard_attr("HttpOnly")
    profile = client.get(API + "/profile").json()
    assert profile["user"]["name"] == "demo" and profile["project"]["name"] == "demo"
    assert {"keystone", "nova", "neutron", "glance", "placement"} <= set(profile["endpoints"])
    assert profile["projects"][profile["project"]["id"]]["name"] == "demo"
    token = profile["keystone_token"]
    compute = dashboard.cloud.endpoint("compute")
    assert httpx.get(compute + "/servers", headers={"X-Auth-Token": token}).status_code == 200
    assert client.post(API + "/logout").json() == {"message": "Logout OK"}
    assert httpx.get(compute + "/servers", headers={"X-Auth-Token": token}).status_code == 401
    stale = httpx.Client(base_url=dashboard.url, cookies={"session": cookie.value or ""})
    assert stale.get(API + "/profile").status_code == 401


@pytest.mark.parametrize(("status", "error"), [(401, SessionInvalid), (503, ServiceFailed)])
def test_identity_refusing_the_projects_of_a_profile(status: int, error: type) -> None:
    """The session's token revoked after the dashboard checked it (a logout in another
    tab racing a profile read; the chaos round found it as a 500) is a 401; identity
    failing otherwise is its status, not a 500."""

    class Identity:
        def request(self, *args: object, **kwargs: object) -> httpx.Response:
            raise ClientError("identity", status, "no")

    deps = cast(Deps, SimpleNamespace(session=Identity()))
    with pytest.raises(error) as raised:
        sessions._projects(deps, "a-token")
    assert getattr(raised.value, "status", status) == status


def test_forged_and_expired_sessions_are_refused(dashboard: Dashboard) -> None:
    client = dashboard.login("demo")
    value = client.cookies["session"]
    body, _, mac = value.partition(".")
    forged = httpx.Client(base_url=dashboard.url, cookies={"session": f"{body}x.{mac}"})
    assert forged.get(API + "/profile").status_code == 401
    token = client.get(API + "/profile").json()["keystone_token"]
    signer = Signer(dashboard.secret())
    expired = signer.dumps(Session(token, "RegionOne", int(time.time()) - 1, "x"))
    old = httpx.Client(base_url=dashboard.url, cookies={"session": expired})
    answer = old.get(API + "/extension/servers")
    assert answer.status_code == 401 and answer.json() == {"detail": "The token has expired."}
    fresh = signer.dumps(Session(token, "RegionOne", int(time.time()) + 60, "y"))
    renewed = httpx.Client(base_url=dashboard.url, cookies={"session": fresh})
    answer = renewed.get(API + "/profile")
    assert answer.status_code == 200 and "session" in answer.cookies  # re-signed, later end


def test_cross_site_requests_are_refused(dashboard: Dashboard) -> None:
    client = dashboard.login("demo")
    project = client.get(API + "/profile").json()["project"]["id"]
    evil = {"Origin": "http://evil.example"}
    path = f"{API}/switch_project/{project}"
    assert client.post(path, json={}, headers=evil).status_code == 403
    nova = dashboard.through(client, "nova")
    body = {"keypair": {"name": "csrf"}}
    assert client.post(nova + "/v2.1/os-keypairs", json=body, headers=evil).status_code == 403
    own = {"Origin": dashboard.url}
    assert client.post(path, json={}, headers=own).status_code == 200
    creds = {"username": "demo", "password": dashboard.password("demo")}
    assert httpx.post(dashboard.url + API + "/login", json=creds, headers=evil).status_code == 403


def test_policies_are_each_services_own(dashboard: Dashboard) -> None:
    demo, admin = dashboard.login("demo"), dashboard.login("admin")
    rules = ["nova:os_compute_api:servers:create", "keystone:identity:create_project",
             "neutron:get_security_group_rule"]  # fmt: skip
    mine = demo.post(API + "/policies/check", json={"rules": rules}).json()["policies"]
    assert [p["allowed"] for p in mine] == [True, False, True]
    theirs = admin.post(API + "/policies/check", json={"rules": rules}).json()["policies"]
    assert [p["allowed"] for p in theirs] == [True, True, True]
    listed = {p["rule"]: p["allowed"] for p in demo.get(API + "/policies").json()["policies"]}
    assert listed["nova:os_compute_api:servers:create"] is True
    unknown = demo.post(API + "/policies/check", json={"rules": ["nova:no_such_rule"]})
    assert unknown.status_code == 403


def test_extension_servers_page_sort_and_scope(dashboard: Dashboard) -> None:
    demo, admin = dashboard.login("demo"), dashboard.login("admin")
    nova = dashboard.through(demo, "nova")
    flavor = demo.get(nova + "/v2.1/flavors").json()["flavors"][0]["id"]
    net = demo.get(dashboard.through(demo, "neutron") + "/v2.0/networks?name=private").json()
    network = net["networks"][0]["id"]
    ids = []
    for name in ("page-b", "page-a", "page-c"):
        body = {"server": {"name": name, "flavorRef": flavor, "imageRef": _image(dashboard, demo),
                           "networks": [{"uuid": network}]}}  # fmt: skip
        created = demo.post(nova + "/v2.1/servers", json=body)
        assert created.status_code == 202, created.text
        ids.append(created.json()["server"]["id"])
    try:
        query = "?limit=2&sort_keys=display_name&sort_dirs=asc&name=page-"
        first = demo.get(API + "/extension/servers" + query).json()["servers"]
        assert [s["name"] for s in first] == ["page-a", "page-b"]
        assert first[0]["image_name"] == "cirros" and first[0]["flavor"]
        rest = demo.get(API + "/extension/servers" + query + f"&marker={first[-1]['id']}")
        assert [s["name"] for s in rest.json()["servers"]] == ["page-c"]
        assert demo.get(API + "/extension/servers?all_projects=true").status_code == 403
        every = admin.get(API + "/extension/servers?all_projects=true&name=page-").json()
        assert {s["project_name"] for s in every["servers"]} == {"demo"}
        services = admin.get(API + "/extension/compute-services").json()["services"]
        assert any(s["binary"] == "nova-compute" for s in services)
        ports = demo.get(API + f"/extension/ports?device_id={ids[0]}").json()["ports"]
        assert ports and ports[0]["server_name"] == "page-b"
        assert ports[0]["network_name"] == "private"
    finally:
        for server_id in ids:
            demo.delete(f"{nova}/v2.1/servers/{server_id}")


def _image(dashboard: Dashboard, client: httpx.Client) -> str:
    glance = dashboard.through(client, "glance")
    return str(client.get(glance + "/v2/images?name=cirros").json()["images"][0]["id"])


def test_pass_through_needs_a_session_or_token(dashboard: Dashboard) -> None:
    anonymous = httpx.Client(base_url=dashboard.url, timeout=30)
    assert anonymous.get("/api/openstack/regionone/nova/v2.1/servers").status_code == 401
    client = dashboard.login("demo")
    assert client.get("/api/openstack/regionone/nosuch/v1/x").status_code == 404
    listed = client.get("/api/openstack/regionone/neutron/v2.0/networks")
    assert listed.status_code == 200 and listed.json()["networks"]
    # the console's files: the app for its own routes, bundles gzipped
    page = anonymous.get("/compute/instance")
    assert page.status_code == 200 and "main.bundle" in page.text
