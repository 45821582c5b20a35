"""Trusts (OS-TRUST): CRUD, trust-scoped tokens, uses, expiry, redelegation, revocation."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.identity.conftest import Cloud, assert_error, password_auth, unique
from tinystack.common.auth.poller import parse_events
from tinystack.common.auth.revocation import RevocationList

TRUSTS = "/v3/OS-TRUST/trusts"


def _setup(cloud: Cloud) -> dict[str, Any]:
    """A trustor with two roles on a project, and a trustee."""
    project = cloud.project()
    trustor, trustee = cloud.user(), cloud.user()
    delegated, kept = cloud.role(), cloud.role()
    for role in (delegated, kept):
        cloud.grant(role["id"], user=trustor["id"], project=project["id"])
    return {
        "project": project,
        "trustor": trustor,
        "trustee": trustee,
        "delegated": delegated,
        "kept": kept,
        "token": cloud.project_token(trustor["id"], project["id"]),
    }


def _create(cloud: Cloud, s: dict[str, Any], status: int = 201, **fields: Any) -> Any:
    body = {
        "trustor_user_id": s["trustor"]["id"],
        "trustee_user_id": s["trustee"]["id"],
        "project_id": s["project"]["id"],
        "impersonation": True,
        "roles": [{"name": s["delegated"]["name"]}],
        **fields,
    }
    response = cloud.post(TRUSTS, token=s["token"], json={"trust": body})
    if status != 201:
        return assert_error(response, status)
    assert response.status_code == 201, response.text
    return response.json()["trust"]


def _trust_token(cloud: Cloud, s: dict[str, Any], trust_id: str, status: int = 201) -> Any:
    body = password_auth(
        user_id=s["trustee"]["id"], password="secret", scope={"OS-TRUST:trust": {"id": trust_id}}
    )
    return cloud.issue(body, status)


def test_create_show_list_roles_delete(cloud: Cloud) -> None:
    s = _setup(cloud)
    expires = (datetime.now(UTC) + timedelta(hours=1)).replace(microsecond=0)
    trust = _create(cloud, s, expires_at=expires.strftime("%Y-%m-%dT%H:%M:%SZ"), note="kept")
    assert trust["impersonation"] is True and trust["note"] == "kept"
    assert trust["expires_at"] == expires.strftime("%Y-%m-%dT%H:%M:%S.000000Z")
    assert [r["id"] for r in trust["roles"]] == [s["delegated"]["id"]]
    assert "/v3/OS-TRUST/trusts/" in trust["links"]["self"]
    path = f"{TRUSTS}/{trust['id']}"
    shown = cloud.ok("GET", path, token=s["token"])["trust"]
    assert shown["id"] == trust["id"] and shown["trustee_user_id"] == s["trustee"]["id"]
    trustee_token = cloud.login(s["trustee"]["id"])[0]
    assert cloud.ok("GET", path, token=trustee_token)["trust"]["id"] == trust["id"]
    # Listing: by trustor (as the trustor), by trustee (as the trustee), everything (admin).
    by_trustor = cloud.ok("GET", f"{TRUSTS}?trustor_user_id={s['trustor']['id']}", token=s["token"])
    assert [t["id"] for t in by_trustor["trusts"]] == [trust["id"]]
    assert "roles" not in by_trustor["trusts"][0]
    by_trustee = cloud.ok(
        "GET", f"{TRUSTS}?trustee_user_id={s['trustee']['id']}", token=trustee_token
    )
    assert trust["id"] in {t["id"] for t in by_trustee["trusts"]}
    assert trust["id"] in {t["id"] for t in cloud.ok("GET", TRUSTS)["trusts"]}
    assert_error(cloud.get(TRUSTS, token=trustee_token), 403)  # all trusts: admin only
    other = cloud.user()
    assert_error(cloud.get(path, token=cloud.login(other["id"])[0]), 403)
    roles = cloud.ok("GET", f"{path}/roles", token=s["token"])["roles"]
    assert [r["name"] for r in roles] == [s["delegated"]["name"]]
    cloud.ok("GET", f"{path}/roles/{s['delegated']['id']}", token=s["token"])
    assert cloud.head(f"{path}/roles/{s['delegated']['id']}", token=s["token"]).status_code == 200
    assert_error(cloud.get(f"{path}/roles/{s['kept']['id']}", token=s["token"]), 404)
    assert cloud.delete(path, token=s["token"]).status_code == 204
    assert_error(cloud.get(path, token=s["token"]), 404)


def test_bad_input(cloud: Cloud) -> None:
    s = _setup(cloud)
    assert_error(cloud.post(TRUSTS, token=s["token"], json={"trust": {}}), 400)
    _create(cloud, s, 400, expires_at="bad.123Z")
    _create(cloud, s, 400, remaining_uses=0)
    _create(cloud, s, 400, roles=[{"id": "x", "name": "y"}])
    _create(cloud, s, 403, roles=[])  # a project needs roles
    _create(cloud, s, 404, roles=[{"name": unique("nosuchrole")}])
    _create(cloud, s, 404, roles=[{"id": s["delegated"]["id"]}], trustee_user_id="nobody")
    # The trustor must hold the roles it delegates, and must be the caller.
    _create(cloud, s, 404, roles=[{"name": "admin"}])
    _create(cloud, s, 403, trustor_user_id=s["trustee"]["id"])
    past = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    _create(cloud, s, 400, expires_at=past)
    assert_error(cloud.get(f"{TRUSTS}/nosuch", token=s["token"]), 404)
    _create(cloud, s)
    _create(cloud, s, 409)  # the same trust again


def test_trust_scoped_token_impersonation(cloud: Cloud) -> None:
    s = _setup(cloud)
    trust = _create(cloud, s, impersonation=True)
    token_id, token = _trust_token(cloud, s, trust["id"])
    assert token["user"]["id"] == s["trustor"]["id"]  # impersonating the trustor
    assert token["project"]["id"] == s["project"]["id"]
    assert {r["id"] for r in token["roles"]} == {s["delegated"]["id"]}
    assert token["OS-TRUST:trust"] == {
        "id": trust["id"],
        "trustor_user": {"id": s["trustor"]["id"]},
        "trustee_user": {"id": s["trustee"]["id"]},
        "impersonation": True,
    }
    validated = cloud.ok("GET", "/v3/auth/tokens", headers={"X-Subject-Token": token_id})
    assert validated["token"]["OS-TRUST:trust"]["id"] == trust["id"]
    # A trust-scoped token cannot make another token.
    rescope = {
        "auth": {
            "identity": {"methods": ["token"], "token": {"id": token_id}},
            "scope": {"project": {"id": s["project"]["id"]}},
        }
    }
    assert_error(cloud.client.post("/v3/auth/tokens", json=rescope), 403)


def test_trust_without_impersonation_and_limited_uses(cloud: Cloud) -> None:
    s = _setup(cloud)
    trust = _create(cloud, s, impersonation=False, remaining_uses=2)
    _, token = _trust_token(cloud, s, trust["id"])
    assert token["user"]["id"] == s["trustee"]["id"]
    assert (
        cloud.ok("GET", f"{TRUSTS}/{trust['id']}", token=s["token"])["trust"]["remaining_uses"] == 1
    )
    _trust_token(cloud, s, trust["id"])
    # Used up: the trust is gone for every purpose.
    _trust_token(cloud, s, trust["id"], status=401)
    assert_error(cloud.get(f"{TRUSTS}/{trust['id']}", token=s["token"]), 404)


def test_only_the_trustee_uses_a_trust(cloud: Cloud) -> None:
    s = _setup(cloud)
    trust = _create(cloud, s)
    body = password_auth(
        user_id=s["trustor"]["id"], password="secret", scope={"OS-TRUST:trust": {"id": trust["id"]}}
    )
    cloud.issue(body, 403)
    _trust_token(cloud, s, "nosuchtrust", status=401)


def test_expired_trust_cannot_be_used(cloud: Cloud) -> None:
    s = _setup(cloud)
    soon = (datetime.now(UTC) + timedelta(seconds=2)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    trust = _create(cloud, s, expires_at=soon)
    token_id, token = _trust_token(cloud, s, trust["id"])
    # The token ends with the trust.
    assert token["expires_at"] <= trust["expires_at"]
    time.sleep(2.1)
    assert not cloud.alive(token_id)
    _trust_token(cloud, s, trust["id"], status=401)
    assert_error(cloud.get(f"{TRUSTS}/{trust['id']}", token=s["token"]), 404)


def test_racing_uses_never_overspend(cloud: Cloud) -> None:
    s = _setup(cloud)
    trust = _create(cloud, s, impersonation=False, remaining_uses=3)
    body = password_auth(
        user_id=s["trustee"]["id"], password="secret", scope={"OS-TRUST:trust": {"id": trust["id"]}}
    )
    with ThreadPoolExecutor(8) as pool:
        codes = list(
            pool.map(
                lambda _: cloud.client.post("/v3/auth/tokens", json=body).status_code, range(8)
            )
        )
    assert sorted(codes) == [201] * 3 + [401] * 5


@pytest.mark.parametrize(
    "how", ["delete_trust", "remove_role", "delete_trustee", "disable_trustor"]
)
def test_revocation_reaches_trust_tokens(cloud: Cloud, how: str) -> None:
    s = _setup(cloud)
    trust = _create(cloud, s, impersonation=False)
    token_id, _ = _trust_token(cloud, s, trust["id"])
    assert cloud.alive(token_id)
    if how == "delete_trust":
        cloud.ok("DELETE", f"{TRUSTS}/{trust['id']}", token=s["token"], status=204)
    elif how == "remove_role":
        grant = cloud.grant_path(
            s["delegated"]["id"], user=s["trustor"]["id"], project=s["project"]["id"]
        )
        cloud.ok("DELETE", grant, status=204)
    elif how == "delete_trustee":
        cloud.ok("DELETE", f"/v3/users/{s['trustee']['id']}", status=204)
    else:
        cloud.ok("PATCH", f"/v3/users/{s['trustor']['id']}", json={"user": {"enabled": False}})
    assert not cloud.alive(token_id)
    body = cloud.ok("GET", "/v3/OS-REVOKE/events")
    events = body["events"]
    # A service in another process reads these events (its poller) and refuses the token.
    elsewhere = RevocationList()
    elsewhere.replace(parse_events(body))
    assert elsewhere.is_revoked(cloud.runtime.token_codec.decode(token_id))
    if how == "delete_trust":
        assert any(e.get("OS-TRUST:trust_id") == trust["id"] for e in events)
    if how in ("remove_role", "delete_trustee"):
        # The trust cannot make new tokens either.
        _trust_token(cloud, s, trust["id"], status=403 if how == "remove_role" else 401)


def test_redelegation(cloud: Cloud) -> None:
    s = _setup(cloud)
    trust = _create(cloud, s, impersonation=False, allow_redelegation=True, redelegation_count=2)
    assert trust["redelegation_count"] == 2
    token_id, _ = _trust_token(cloud, s, trust["id"])
    third = cloud.user()
    body = {
        "trustor_user_id": s["trustee"]["id"],
        "trustee_user_id": third["id"],
        "project_id": s["project"]["id"],
        "impersonation": False,
        "roles": [{"id": s["delegated"]["id"]}],
        "allow_redelegation": True,
    }
    child = cloud.ok("POST", TRUSTS, token=token_id, status=201, json={"trust": body})["trust"]
    assert child["redelegated_trust_id"] == trust["id"] and child["redelegation_count"] == 1
    # Wider than the parent, or impersonating when it does not: refused.
    wider = {**body, "roles": [{"id": s["kept"]["id"]}]}
    assert_error(cloud.post(TRUSTS, token=token_id, json={"trust": wider}), 403)
    imp = {**body, "impersonation": True}
    assert_error(cloud.post(TRUSTS, token=token_id, json={"trust": imp}), 403)
    third_token = cloud.login(third["id"], scope={"OS-TRUST:trust": {"id": child["id"]}})[0]
    assert cloud.alive(third_token)
    # Deleting the parent deletes the chain and revokes the redelegated trust's tokens.
    cloud.ok("DELETE", f"{TRUSTS}/{trust['id']}", token=s["token"], status=204)
    assert not cloud.alive(third_token)
    assert_error(cloud.get(f"{TRUSTS}/{child['id']}"), 404)


def test_trusts_survive_a_restart_and_tokens_stay_revoked(fresh_cloud: Cloud) -> None:
    from tests.identity.conftest import restart

    s = _setup(fresh_cloud)
    trust = _create(fresh_cloud, s, impersonation=False)
    token_id, _ = _trust_token(fresh_cloud, s, trust["id"])
    fresh_cloud.ok("DELETE", f"{TRUSTS}/{trust['id']}", token=s["token"], status=204)
    again = restart(fresh_cloud)
    assert not again.alive(token_id)
