"""Multi-factor authentication: TOTP credentials, per-user MFA rules and auth receipts."""

from __future__ import annotations

import base64
import os
import time
from typing import Any

from tests.identity.conftest import Cloud, assert_error
from tinystack.identity.services import mfa

RECEIPT = "Openstack-Auth-Receipt"


def _secret() -> str:
    return base64.b32encode(os.urandom(20)).decode().rstrip("=")


def _totp_user(cloud: Cloud, rules: Any = None) -> tuple[dict[str, Any], str]:
    options = {"multi_factor_auth_rules": rules} if rules is not None else {}
    user = cloud.user(options=options)
    secret = _secret()
    body = {"credential": {"type": "totp", "user_id": user["id"], "blob": secret}}
    cloud.ok("POST", "/v3/credentials", json=body, status=201)
    return user, secret


def _auth(
    user_id: str, *, password: str | None = None, passcode: str | None = None, scope: Any = None
) -> dict[str, Any]:
    identity: dict[str, Any] = {"methods": []}
    if password is not None:
        identity["methods"].append("password")
        identity["password"] = {"user": {"id": user_id, "password": password}}
    if passcode is not None:
        identity["methods"].append("totp")
        identity["totp"] = {"user": {"id": user_id, "passcode": passcode}}
    auth: dict[str, Any] = {"identity": identity}
    if scope is not None:
        auth["scope"] = scope
    return {"auth": auth}


def test_passcodes_follow_rfc_6238() -> None:
    # RFC 6238's SHA-1 test vector: the secret "12345678901234567890" at 59 s.
    secret = base64.b32encode(b"12345678901234567890").decode()
    assert mfa.passcode(secret, 59) == "287082"
    assert mfa.passcode(secret, 1111111109) == "081804"


def test_totp_method(cloud: Cloud) -> None:
    user, secret = _totp_user(cloud)
    token, body = cloud.issue(_auth(user["id"], passcode=mfa.passcode(secret)))
    assert body["methods"] == ["totp"] and body["user"]["id"] == user["id"]
    _t, body = cloud.issue(_auth(user["id"], password="secret", passcode=mfa.passcode(secret)))
    assert body["methods"] == ["password", "totp"]
    # One step of clock skew either side is accepted, two are not.
    now = time.time()
    cloud.issue(_auth(user["id"], passcode=mfa.passcode(secret, now - 30)))
    cloud.issue(_auth(user["id"], passcode=mfa.passcode(secret, now + 30)))
    old = mfa.passcode(secret, now - 95)
    if old not in {mfa.passcode(secret, now + d) for d in (-30, 0, 30)}:
        assert_error(
            cloud.client.post("/v3/auth/tokens", json=_auth(user["id"], passcode=old)), 401
        )
    assert_error(
        cloud.client.post("/v3/auth/tokens", json=_auth(user["id"], passcode="000000x")), 401
    )
    # By name and domain too; a user without a totp credential cannot use the method.
    by_name = {
        "auth": {
            "identity": {
                "methods": ["totp"],
                "totp": {
                    "user": {
                        "name": user["name"],
                        "domain": {"id": "default"},
                        "passcode": mfa.passcode(secret),
                    }
                },
            }
        }
    }
    cloud.issue(by_name)
    other = cloud.user()
    assert_error(
        cloud.client.post(
            "/v3/auth/tokens", json=_auth(other["id"], passcode=mfa.passcode(secret))
        ),
        401,
    )
    assert_error(
        cloud.client.post(
            "/v3/auth/tokens",
            json={
                "auth": {"identity": {"methods": ["totp"], "totp": {"user": {"id": user["id"]}}}}
            },
        ),
        400,
    )
    assert cloud.alive(token)


def test_rules_and_receipts(cloud: Cloud) -> None:
    user, secret = _totp_user(cloud, [["password", "totp"]])
    project = cloud.project()
    cloud.grant("member", user=user["id"], project=project["id"])
    scope = {"project": {"id": project["id"]}}
    # The password alone is not enough: 401 with a receipt and the rules.
    partial = cloud.client.post(
        "/v3/auth/tokens", json=_auth(user["id"], password="secret", scope=scope)
    )
    assert partial.status_code == 401, partial.text
    receipt = partial.headers[RECEIPT]
    body = partial.json()
    assert body["required_auth_methods"] == [["password", "totp"]]
    assert body["receipt"]["methods"] == ["password"]
    assert body["receipt"]["user"] == {
        "id": user["id"],
        "name": user["name"],
        "domain": {"id": "default", "name": "Default"},
    }
    assert body["receipt"]["expires_at"] > body["receipt"]["issued_at"]
    # The missing method with the receipt completes it.
    done = cloud.client.post(
        "/v3/auth/tokens",
        headers={RECEIPT: receipt},
        json=_auth(user["id"], passcode=mfa.passcode(secret), scope=scope),
    )
    assert done.status_code == 201, done.text
    token = done.json()["token"]
    assert sorted(token["methods"]) == ["password", "totp"]
    assert token["project"]["id"] == project["id"]
    # Both methods at once need no receipt; a rescoped token keeps its methods.
    issued, _b = cloud.issue(_auth(user["id"], password="secret", passcode=mfa.passcode(secret)))
    _t, rescoped = cloud.issue(
        {"auth": {"identity": {"methods": ["token"], "token": {"id": issued}}, "scope": scope}}
    )
    assert set(rescoped["methods"]) >= {"password", "totp"}
    # A bad receipt, or one of another user, is refused.
    assert_error(
        cloud.client.post(
            "/v3/auth/tokens",
            headers={RECEIPT: "garbage"},
            json=_auth(user["id"], passcode=mfa.passcode(secret)),
        ),
        401,
    )
    other, other_secret = _totp_user(cloud)
    assert_error(
        cloud.client.post(
            "/v3/auth/tokens",
            headers={RECEIPT: receipt},
            json=_auth(other["id"], passcode=mfa.passcode(other_secret)),
        ),
        401,
    )
    # A token is not a receipt.
    assert_error(
        cloud.client.post(
            "/v3/auth/tokens",
            headers={RECEIPT: issued},
            json=_auth(user["id"], passcode=mfa.passcode(secret)),
        ),
        401,
    )
    # Disabled rules, or rules naming no known method, let the password through.
    cloud.ok(
        "PATCH",
        f"/v3/users/{user['id']}",
        json={"user": {"options": {"multi_factor_auth_enabled": False}}},
    )
    cloud.issue(_auth(user["id"], password="secret"))
    cloud.ok(
        "PATCH",
        f"/v3/users/{user['id']}",
        json={
            "user": {
                "options": {
                    "multi_factor_auth_enabled": True,
                    "multi_factor_auth_rules": [["nonsense"]],
                }
            }
        },
    )
    cloud.issue(_auth(user["id"], password="secret"))
    # Either rule is enough.
    cloud.ok(
        "PATCH",
        f"/v3/users/{user['id']}",
        json={"user": {"options": {"multi_factor_auth_rules": [["password", "totp"], ["totp"]]}}},
    )
    cloud.issue(_auth(user["id"], passcode=mfa.passcode(secret)))
    assert (
        cloud.client.post("/v3/auth/tokens", json=_auth(user["id"], password="secret")).status_code
        == 401
    )


def test_bad_rule_options(cloud: Cloud) -> None:
    bad: Any
    for bad in ("password", [[]], [["password", "password"]], [[1]], ["password"]):
        body = {"user": {"name": "x", "options": {"multi_factor_auth_rules": bad}}}
        assert_error(cloud.post("/v3/users", json=body), 400)
    body = {"user": {"name": "x", "options": {"multi_factor_auth_enabled": "yes"}}}
    assert_error(cloud.post("/v3/users", json=body), 400)
