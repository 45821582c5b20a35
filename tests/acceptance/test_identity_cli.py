"""Identity acceptance with the real openstack CLI and openstacksdk."""

from __future__ import annotations

import subprocess
import uuid

import pytest

from tests.cloudproc import CloudProcess

pytestmark = pytest.mark.cli


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_token_issue_and_catalog(cloud: CloudProcess) -> None:
    token = cloud.osc("token", "issue")
    assert token["id"] and token["project_id"] and token["user_id"]
    catalog = cloud.osc("catalog", "list")
    types = {entry["Type"] for entry in catalog}
    assert "identity" in types


def test_project_lifecycle(cloud: CloudProcess) -> None:
    name = _name("proj")
    created = cloud.osc("project", "create", name, "--description", "first")
    assert created["name"] == name and created["enabled"] is True
    assert name in {p["Name"] for p in cloud.osc("project", "list")}
    cloud.osc("project", "set", name, "--description", "second", "--disable")
    shown = cloud.osc("project", "show", name)
    assert shown["description"] == "second" and shown["enabled"] is False
    cloud.osc("project", "delete", name)
    with pytest.raises(subprocess.CalledProcessError):
        cloud.osc("project", "show", name)


def test_users_groups_roles_and_assignments(cloud: CloudProcess) -> None:
    user, group, role, project = _name("u"), _name("g"), _name("r"), _name("p")
    cloud.osc("project", "create", project)
    cloud.osc("user", "create", "--password", "secret-1", "--project", project, user)
    cloud.osc("user", "set", "--password", "secret-2", user)
    cloud.osc("group", "create", group)
    cloud.osc("group", "add", "user", group, user)
    cloud.osc("role", "create", role)
    cloud.osc("role", "add", "--user", user, "--project", project, "member")
    cloud.osc("role", "add", "--group", group, "--domain", "default", role)
    rows = cloud.osc("role", "assignment", "list", "--names", "--effective", "--user", user)
    got = {(r["Role"], r["Project"], r["Domain"]) for r in rows}
    assert ("member", f"{project}@Default", "") in got
    assert ("reader", f"{project}@Default", "") in got  # member implies reader
    assert (role, "", "Default") in got  # through the group
    # The new password works, the old one does not.
    env_cloud = {
        "--os-auth-url": cloud.auth_url,
        "--os-username": user,
        "--os-project-name": project,
        "--os-user-domain-name": "Default",
        "--os-project-domain-name": "Default",
    }
    args = [x for kv in env_cloud.items() for x in kv]
    ok = subprocess.run(
        [str(cloud_bin()), *args, "--os-password", "secret-2", "token", "issue", "-f", "json"],
        env=cloud.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ok.returncode == 0, ok.stderr
    bad = subprocess.run(
        [str(cloud_bin()), *args, "--os-password", "secret-1", "token", "issue"],
        env=cloud.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode != 0 and "401" in bad.stderr
    cloud.osc("user", "delete", user)
    cloud.osc("group", "delete", group)
    cloud.osc("role", "delete", role)
    cloud.osc("project", "delete", project)


def cloud_bin() -> str:
    from tests.cloudproc import BIN

    return str(BIN / "openstack")


def test_application_credential_authenticates(cloud: CloudProcess) -> None:
    name = _name("ac")
    cred = cloud.osc("application", "credential", "create", name)
    assert cred["Secret"]
    result = subprocess.run(
        [
            cloud_bin(),
            "--os-auth-type",
            "v3applicationcredential",
            "--os-auth-url",
            cloud.auth_url,
            "--os-application-credential-id",
            cred["ID"],
            "--os-application-credential-secret",
            cred["Secret"],
            "token",
            "issue",
            "-f",
            "json",
        ],
        env=cloud.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    cloud.osc("application", "credential", "delete", name)


def test_token_revoke_rejects_token(cloud: CloudProcess) -> None:
    import httpx

    token = cloud.token()
    headers = {"X-Auth-Token": token}
    assert httpx.get(f"{cloud.auth_url}/auth/projects", headers=headers).status_code == 200
    cloud.osc("token", "revoke", token)
    assert httpx.get(f"{cloud.auth_url}/auth/projects", headers=headers).status_code == 401


def test_demo_member_rbac(cloud: CloudProcess) -> None:
    denied = cloud.osc_raw("project", "create", _name("nope"), cloud="tinystack-demo")
    assert denied.returncode != 0 and "403" in denied.stderr
    denied = cloud.osc_raw("user", "create", _name("nope"), cloud="tinystack-demo")
    assert denied.returncode != 0 and "403" in denied.stderr
    admin_project = cloud.osc("project", "show", "admin")["id"]
    hidden = cloud.osc_raw("project", "show", admin_project, cloud="tinystack-demo")
    assert hidden.returncode != 0
    import httpx

    demo_token = cloud.token("tinystack-demo")
    resp = httpx.get(
        f"{cloud.auth_url}/projects/{admin_project}", headers={"X-Auth-Token": demo_token}
    )
    assert resp.status_code == 403 and resp.json()["error"]["code"] == 403
    own = cloud.osc("project", "list", "--my-projects", cloud="tinystack-demo")
    assert [p["Name"] for p in own] == ["demo"]


def test_disabled_user_cannot_authenticate(cloud: CloudProcess) -> None:
    import httpx

    user = _name("dis")
    cloud.osc("user", "create", "--password", "pw-dis", user)
    body = {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {
                    "user": {"name": user, "domain": {"id": "default"}, "password": "pw-dis"}
                },
            }
        }
    }
    assert httpx.post(f"{cloud.auth_url}/auth/tokens", json=body).status_code == 201
    cloud.osc("user", "set", "--disable", user)
    assert httpx.post(f"{cloud.auth_url}/auth/tokens", json=body).status_code == 401
    cloud.osc("user", "delete", user)


def test_sdk_identity(cloud: CloudProcess) -> None:
    conn = cloud.sdk()
    project = conn.identity.create_project(name=_name("sdk"), description="from sdk")
    user = conn.identity.create_user(
        name=_name("sdku"), password="pw", default_project_id=project.id
    )
    member = conn.identity.find_role("member")
    conn.identity.assign_project_role_to_user(project, user, member)
    assert conn.identity.validate_user_has_project_role(project, user, member)
    group = conn.identity.create_group(name=_name("sdkg"))
    conn.identity.add_user_to_group(user, group)
    assert conn.identity.check_user_in_group(user, group)
    names = {p.name for p in conn.identity.projects()}
    assert project.name in names
    assert any(r.id == member.id for r in conn.identity.roles())
    conn.identity.unassign_project_role_from_user(project, user, member)
    conn.identity.delete_group(group)
    conn.identity.delete_user(user)
    conn.identity.delete_project(project)
    assert conn.identity.find_project(project.name) is None
