"""An LDAP-backed domain and OpenID Connect federation, driven with the real openstack CLI,
openstacksdk and keystoneauth against a ``tinystack up`` (identity only).

- LDAP: ``openstack domain create``, the domain's configuration set through the REST API
  (there is no CLI command for it), ``openstack user list --domain`` lists the
  directory's users, and a directory user gets a token with ``openstack token issue``.
- Federation: ``openstack identity provider create``, ``mapping create``, ``federation
  protocol create``; keystoneauth's ``v3oidcaccesstoken`` plugin (through openstacksdk
  and the CLI) turns a test provider's access token into a project-scoped token.
- MFA: a user whose rules ask for password and TOTP gets a token with OSC's
  ``v3multifactor`` plugin (``--os-auth-methods v3password,v3totp --os-passcode``).
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests import osc_fork
from tests.cloudproc import CloudProcess
from tests.identity.oidc_idp import OidcProvider
from tests.identity.slapd import Slapd, available, domain_config, seed
from tinystack.identity.services import mfa

pytestmark = pytest.mark.cli


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CloudProcess]:
    proc = CloudProcess(Path(tmp_path_factory.mktemp("idcli")), ["identity"])
    proc.start(timeout=120)
    try:
        yield proc
    finally:
        proc.stop()


def _env(cloud: CloudProcess, **os_vars: str) -> dict[str, str]:
    env = {k: v for k, v in cloud.env.items() if k != "OS_CLIENT_CONFIG_FILE"}
    env["OS_AUTH_URL"] = cloud.auth_url
    env["OS_IDENTITY_API_VERSION"] = "3"
    env.update({f"OS_{k.upper()}": v for k, v in os_vars.items()})
    return env


def _openstack(env: dict[str, str], *args: str) -> dict[str, str]:
    result = osc_fork.run([*args, "-f", "json"], env)
    assert result.returncode == 0, result.stderr
    parsed: dict[str, str] = json.loads(result.stdout)
    return parsed


@pytest.mark.skipif(not available(), reason="slapd (Debian package) not installed")
def test_ldap_domain_with_the_cli(cloud: CloudProcess, tmp_path: Path) -> None:
    server = Slapd(tmp_path / "slapd")
    server.start()
    try:
        seed(server)
        domain = cloud.osc("domain", "create", "ldapdom")
        admin = httpx.Client(headers={"X-Auth-Token": cloud.token()}, timeout=30)
        response = admin.put(
            f"{cloud.auth_url}/domains/{domain['id']}/config",
            json={"config": domain_config(server.url)},
        )
        assert response.status_code == 201, response.text
        users = cloud.osc("user", "list", "--domain", "ldapdom")
        assert sorted(u["Name"] for u in users) == ["alice", "bob", "carol"]
        groups = cloud.osc("group", "list", "--domain", "ldapdom")
        assert sorted(g["Name"] for g in groups) == ["devs", "ops"]
        devs = next(g["ID"] for g in groups if g["Name"] == "devs")
        members = cloud.osc("user", "list", "--group", devs)
        assert sorted(u["Name"] for u in members) == ["alice", "carol"]
        cloud.osc(
            "role",
            "add",
            "--group",
            "devs",
            "--group-domain",
            "ldapdom",
            "--project",
            "demo",
            "member",
        )
        # alice authenticates with her directory password; her role comes from her group.
        alice = _env(
            cloud,
            username="alice",
            password="alice-pw",
            user_domain_name="ldapdom",
            project_name="demo",
            project_domain_name="Default",
        )
        token = _openstack(alice, "token", "issue")
        assert token["user_id"] == next(u["ID"] for u in users if u["Name"] == "alice")
        assert token["project_id"] == cloud.osc("project", "show", "demo")["id"]
        wrong = osc_fork.run(["token", "issue"], {**alice, "OS_PASSWORD": "nope"})
        assert wrong.returncode != 0 and "401" in wrong.stderr
        # The SDK sees the same directory.
        conn = cloud.sdk()
        names = {u.name for u in conn.identity.users(domain_id=domain["id"])}
        assert names == {"alice", "bob", "carol"}
    finally:
        server.stop()


def test_oidc_federation_with_the_cli_and_keystoneauth(cloud: CloudProcess, tmp_path: Path) -> None:
    provider = OidcProvider().start()
    try:
        group = cloud.osc("group", "create", "federated-users")
        cloud.osc("role", "add", "--group", group["id"], "--project", "demo", "member")
        rules = [
            {
                "local": [
                    {"user": {"name": "{0}", "email": "{1}"}},
                    {"group": {"id": group["id"]}},
                ],
                "remote": [{"type": "preferred_username"}, {"type": "email"}],
            }
        ]
        rules_file = tmp_path / "rules.json"
        rules_file.write_text(json.dumps(rules))
        idp = cloud.osc(
            "identity", "provider", "create", "--remote-id", provider.issuer, "--enable", "testidp"
        )
        assert idp["remote_ids"] == [provider.issuer] and idp["enabled"] is True
        mapping = cloud.osc("mapping", "create", "--rules", str(rules_file), "testmap")
        assert mapping["id"] == "testmap"
        protocol = cloud.osc(
            "federation",
            "protocol",
            "create",
            "--identity-provider",
            "testidp",
            "--mapping",
            "testmap",
            "openid",
        )
        assert protocol["mapping"] == "testmap"
        assert [
            p["id"]
            for p in cloud.osc("federation", "protocol", "list", "--identity-provider", "testidp")
        ] == ["openid"]
        access = provider.token(preferred_username="fred", email="fred@example.org")

        # keystoneauth's v3oidcaccesstoken plugin through openstacksdk.
        import openstack

        conn = openstack.connect(
            auth_type="v3oidcaccesstoken",
            auth={
                "auth_url": cloud.auth_url,
                "identity_provider": "testidp",
                "protocol": "openid",
                "access_token": access,
                "project_name": "demo",
                "project_domain_name": "Default",
            },
            load_yaml_config=False,
            load_envvars=False,
        )
        token = str(conn.session.get_token())
        plugin: Any = conn.session.auth
        ref = plugin.get_access(conn.session)
        assert ref.project_name == "demo" and "member" in ref.role_names
        assert ref.username == "fred"
        validated = httpx.get(
            f"{cloud.auth_url}/auth/tokens",
            headers={"X-Auth-Token": cloud.token(), "X-Subject-Token": token},
        ).json()["token"]
        assert validated["user"]["OS-FEDERATION"]["identity_provider"]["id"] == "testidp"
        assert validated["methods"] == ["openid", "token"]

        # And through the CLI.
        env = _env(
            cloud,
            auth_type="v3oidcaccesstoken",
            identity_provider="testidp",
            protocol="openid",
            access_token=access,
            project_name="demo",
            project_domain_name="Default",
        )
        issued = _openstack(env, "token", "issue")
        assert issued["project_id"] == ref.project_id
        cloud.osc("federation", "protocol", "delete", "--identity-provider", "testidp", "openid")
        cloud.osc("mapping", "delete", "testmap")
        cloud.osc("identity", "provider", "delete", "testidp")
    finally:
        provider.stop()
        os.environ.pop("OS_CLOUD", None)


def test_totp_login_with_the_cli(cloud: CloudProcess) -> None:
    """``openstack token issue`` with OSC's v3multifactor plugin (password and TOTP)."""
    secret = base64.b32encode(os.urandom(20)).decode().rstrip("=")
    user = cloud.osc("user", "create", "--password", "mfa-pw", "mfauser")
    cloud.osc("role", "add", "--user", "mfauser", "--project", "demo", "member")
    cloud.osc("credential", "create", "--type", "totp", "mfauser", secret)
    cloud.osc(
        "user",
        "set",
        "--multi-factor-auth-rule",
        "password,totp",
        "--enable-multi-factor-auth",
        "mfauser",
    )
    password_only = _env(
        cloud,
        username="mfauser",
        password="mfa-pw",
        user_domain_name="Default",
        project_name="demo",
        project_domain_name="Default",
    )
    refused = osc_fork.run(["token", "issue"], password_only)
    assert refused.returncode != 0
    both = {
        **password_only,
        "OS_AUTH_TYPE": "v3multifactor",
        "OS_AUTH_METHODS": "v3password,v3totp",
        "OS_PASSCODE": mfa.passcode(secret),
    }
    token = _openstack(both, "token", "issue")
    assert token["user_id"] == user["id"] and token["project_id"]
