"""``[security_compliance]``: lockout, password strength, history, minimum age, expiry,
change upon first use and inactive accounts, with upstream's statuses and messages."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.identity.conftest import Cloud, assert_error, build_cloud, password_auth
from tinystack.common.timeutils import utcnow
from tinystack.identity import models

STRONG = "pw-1-strong"
RULES = {
    "security_compliance.lockout_failure_attempts": 2,
    "security_compliance.lockout_duration": 2,
    "security_compliance.unique_last_password_count": 3,
    "security_compliance.password_expires_days": 30,
    "security_compliance.disable_user_account_days_inactive": 10,
    "security_compliance.password_regex": r"^(?=.*\d).{7,}$",
    "security_compliance.password_regex_description": "seven characters with a digit",
}


def _cloud(path: Path, overrides: dict[str, object]) -> Iterator[Cloud]:
    built = build_cloud(path, overrides=overrides)
    try:
        yield built
    finally:
        built.client.close()
        if built.runtime.db is not None:
            built.runtime.db.dispose()


@pytest.fixture(scope="module")
def strict(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cloud]:
    yield from _cloud(tmp_path_factory.mktemp("compliance"), RULES)


@pytest.fixture(scope="module")
def first_use(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cloud]:
    yield from _cloud(
        tmp_path_factory.mktemp("first-use"),
        {
            "security_compliance.change_password_upon_first_use": True,
            "security_compliance.minimum_password_age": 1,
        },
    )


def _login(cloud: Cloud, user_id: str, password: str) -> Any:
    return cloud.client.post(
        "/v3/auth/tokens", json=password_auth(user_id=user_id, password=password)
    )


def _change(cloud: Cloud, user_id: str, original: str, new: str) -> Any:
    body = {"user": {"original_password": original, "password": new}}
    return cloud.client.post(f"/v3/users/{user_id}/password", json=body)


def _set_row(cloud: Cloud, user_id: str, **columns: Any) -> None:
    assert cloud.runtime.db is not None

    def tx(session: Any) -> None:
        row = session.get(models.User, user_id)
        for key, value in columns.items():
            setattr(row, key, value)

    cloud.runtime.db.write(tx)


def test_lockout_after_failed_attempts_then_unlocks(strict: Cloud) -> None:
    user = strict.user(password=STRONG)
    assert _login(strict, user["id"], STRONG).status_code == 201
    for _ in range(2):
        assert_error(_login(strict, user["id"], "wrong-pw-1"), 401)
    # locked: even the right password is refused, with upstream's message
    error = assert_error(_login(strict, user["id"], STRONG), 401)
    assert error["message"] == f"The account is locked for user: {user['id']}."
    # a self-service change authenticates with the password, so it is locked too
    assert_error(_change(strict, user["id"], STRONG, "pw-2-strong"), 401)
    time.sleep(2.2)
    assert _login(strict, user["id"], STRONG).status_code == 201
    # a success resets the count: one more failure does not lock
    assert_error(_login(strict, user["id"], "wrong-pw-1"), 401)
    assert _login(strict, user["id"], STRONG).status_code == 201


def test_ignore_lockout_option_and_reenabling_clears_the_count(strict: Cloud) -> None:
    exempt = strict.user(password=STRONG, options={"ignore_lockout_failure_attempts": True})
    for _ in range(3):
        assert_error(_login(strict, exempt["id"], "wrong-pw-1"), 401)
    assert _login(strict, exempt["id"], STRONG).status_code == 201
    user = strict.user(password=STRONG)
    for _ in range(2):
        assert_error(_login(strict, user["id"], "wrong-pw-1"), 401)
    assert_error(_login(strict, user["id"], STRONG), 401)
    path = f"/v3/users/{user['id']}"
    strict.ok("PATCH", path, json={"user": {"enabled": False}})
    strict.ok("PATCH", path, json={"user": {"enabled": True}})
    assert _login(strict, user["id"], STRONG).status_code == 201
    bad = strict.post(
        "/v3/users", json={"user": {"name": "x-opt", "options": {"lock_password": 1}}}
    )
    assert_error(bad, 400)


def test_password_regex_on_create_reset_and_change(strict: Cloud) -> None:
    weak = strict.post("/v3/users", json={"user": {"name": "weak-user", "password": "short"}})
    error = assert_error(weak, 400)
    assert error["message"] == (
        "The password does not match the requirements: seven characters with a digit."
    )
    user = strict.user(password=STRONG)
    assert_error(
        strict.patch(f"/v3/users/{user['id']}", json={"user": {"password": "nodigits"}}), 400
    )
    assert_error(_change(strict, user["id"], STRONG, "nodigits"), 400)
    assert _login(strict, user["id"], STRONG).status_code == 201


def test_password_history_on_self_service_not_admin_reset(strict: Cloud) -> None:
    user = strict.user(password="pw-a-0001")
    uid = user["id"]
    assert _change(strict, uid, "pw-a-0001", "pw-b-0002").status_code == 204
    assert _change(strict, uid, "pw-b-0002", "pw-c-0003").status_code == 204
    # the last three (the current one included) may not come back
    for old in ("pw-a-0001", "pw-b-0002", "pw-c-0003"):
        error = assert_error(_change(strict, uid, "pw-c-0003", old), 400)
        assert error["message"] == (
            "The new password cannot be identical to a previous password. The total "
            "number which includes the new password must be unique is 3."
        )
    assert _change(strict, uid, "pw-c-0003", "pw-d-0004").status_code == 204
    # the oldest dropped out of the window
    assert _change(strict, uid, "pw-d-0004", "pw-a-0001").status_code == 204
    # an administrator's reset is not checked against the history
    strict.ok("PATCH", f"/v3/users/{uid}", json={"user": {"password": "pw-a-0001"}})
    assert _login(strict, uid, "pw-a-0001").status_code == 201


def test_password_expiry_and_ignore_option(strict: Cloud) -> None:
    user = strict.user(password=STRONG)
    expires = datetime.fromisoformat(user["password_expires_at"].rstrip("Z"))
    assert timedelta(days=29) < expires - utcnow() <= timedelta(days=30)
    exempt = strict.user(password=STRONG, options={"ignore_password_expiry": True})
    assert exempt["password_expires_at"] is None
    _set_row(strict, user["id"], password_expires_at=utcnow() - timedelta(seconds=1))
    error = assert_error(_login(strict, user["id"], STRONG), 401)
    assert error["message"] == (
        f"The password is expired and needs to be changed for user: {user['id']}."
    )
    # an expired password may still be changed by its owner
    assert _change(strict, user["id"], STRONG, "pw-2-strong").status_code == 204
    assert _login(strict, user["id"], "pw-2-strong").status_code == 201


def test_inactive_user_is_disabled(strict: Cloud) -> None:
    user = strict.user(password=STRONG)
    assert _login(strict, user["id"], STRONG).status_code == 201
    _set_row(strict, user["id"], last_active_at=utcnow() - timedelta(days=11))
    assert strict.ok("GET", f"/v3/users/{user['id']}")["user"]["enabled"] is False
    error = assert_error(_login(strict, user["id"], STRONG), 401)
    assert error["message"] == f"The account is disabled for user: {user['id']}."
    assert strict.ok("GET", f"/v3/users/{user['id']}")["user"]["enabled"] is False
    strict.ok("PATCH", f"/v3/users/{user['id']}", json={"user": {"enabled": True}})
    assert _login(strict, user["id"], STRONG).status_code == 201
    # an administrator enabling a user that only counts as inactive restarts its clock
    _set_row(strict, user["id"], last_active_at=utcnow() - timedelta(days=11))
    strict.ok("PATCH", f"/v3/users/{user['id']}", json={"user": {"enabled": True}})
    assert _login(strict, user["id"], STRONG).status_code == 201
    exempt = strict.user(password=STRONG, options={"ignore_user_inactivity": True})
    _set_row(strict, exempt["id"], last_active_at=utcnow() - timedelta(days=11))
    assert _login(strict, exempt["id"], STRONG).status_code == 201


def test_change_password_upon_first_use(first_use: Cloud) -> None:
    user = first_use.user(password="first-pw")
    assert user["password_expires_at"] is not None
    assert_error(_login(first_use, user["id"], "first-pw"), 401)
    # the user sets its own password (an admin's password is not held by minimum age)
    assert _change(first_use, user["id"], "first-pw", "second-pw").status_code == 204
    assert _login(first_use, user["id"], "second-pw").status_code == 201
    # a self-service password must be kept for minimum_password_age days
    error = assert_error(_change(first_use, user["id"], "second-pw", "third-pw"), 400)
    assert error["message"].startswith(
        "You cannot change your password at this time due to the minimum password age."
    )
    # an administrator's reset expires it again, unless the user is exempt
    first_use.ok("PATCH", f"/v3/users/{user['id']}", json={"user": {"password": "reset-pw"}})
    assert_error(_login(first_use, user["id"], "reset-pw"), 401)
    exempt = first_use.user(
        password="first-pw", options={"ignore_change_password_upon_first_use": True}
    )
    assert exempt["password_expires_at"] is None
    assert _login(first_use, exempt["id"], "first-pw").status_code == 201


def test_lock_password_refuses_self_service(first_use: Cloud) -> None:
    user = first_use.user(
        password="first-pw",
        options={"lock_password": True, "ignore_change_password_upon_first_use": True},
    )
    error = assert_error(_change(first_use, user["id"], "first-pw", "other-pw"), 400)
    assert error["message"].startswith("You cannot change your password at this time due to")
    assert _login(first_use, user["id"], "first-pw").status_code == 201


def test_password_expires_at_filter(strict: Cloud) -> None:
    group = strict.group()
    soon = strict.user(password=STRONG)
    never = strict.user(password=STRONG, options={"ignore_password_expiry": True})
    strict.ok("PUT", f"/v3/groups/{group['id']}/users/{soon['id']}", status=204)
    strict.ok("PUT", f"/v3/groups/{group['id']}/users/{never['id']}", status=204)
    later = (utcnow() + timedelta(days=31)).strftime("%Y-%m-%dT%H:%M:%SZ")
    for path in ("/v3/users", f"/v3/groups/{group['id']}/users"):
        ids = {u["id"] for u in strict.ok("GET", f"{path}?password_expires_at=lt:{later}")["users"]}
        assert soon["id"] in ids and never["id"] not in ids
        ids = {u["id"] for u in strict.ok("GET", f"{path}?password_expires_at=gt:{later}")["users"]}
        assert not {soon["id"], never["id"]} & ids
        assert_error(strict.get(f"{path}?password_expires_at=foo:{later}"), 400)
        assert_error(strict.get(f"{path}?password_expires_at=lt:yesterday"), 400)


def test_password_rules_readable_through_domain_config(strict: Cloud) -> None:
    project, user = strict.project(), strict.user(password=STRONG)
    strict.grant("reader", user=user["id"], project=project["id"])
    token = strict.project_token(user["id"], project["id"], password=STRONG)
    base = "/v3/domains/default/config/security_compliance"
    assert strict.ok("GET", base, token=token)["config"] == {
        "security_compliance": {
            "password_regex": RULES["security_compliance.password_regex"],
            "password_regex_description": RULES["security_compliance.password_regex_description"],
        }
    }
    assert strict.ok("GET", f"{base}/password_regex", token=token)["config"] == {
        "password_regex": RULES["security_compliance.password_regex"]
    }
    assert_error(strict.get(f"{base}/lockout_duration", token=token), 403)
    domain = strict.domain()
    assert_error(strict.get(f"/v3/domains/{domain['id']}/config/security_compliance"), 403)
