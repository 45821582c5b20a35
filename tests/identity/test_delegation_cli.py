"""Trusts, credentials, EC2 credentials, OAuth consumers, endpoint groups and access rules
through the real ``openstack`` CLI against a real ``tinystack up`` (identity and image);
access rules refused by the image service; the credential key CLI."""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from keystoneclient.contrib.ec2.utils import Ec2Signer

from tests import cloud_fork, osc_fork
from tests.cloudproc import CloudProcess

pytestmark = pytest.mark.cli


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CloudProcess]:
    proc = CloudProcess(Path(tmp_path_factory.mktemp("delegation")), ["identity", "image"])
    proc.start()
    try:
        yield proc
    finally:
        proc.stop()


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _admin_token(cloud: CloudProcess) -> str:
    return cloud.token()


def _as_demo(cloud: CloudProcess, *args: str) -> subprocess.CompletedProcess[str]:
    """The CLI as the demo user without a project (so a trust can scope the token)."""
    auth = [
        "--os-auth-url",
        cloud.auth_url,
        "--os-username",
        "demo",
        f"--os-password={cloud.password('demo')}",  # whatever its first character
        "--os-user-domain-name",
        "Default",
        "--os-identity-api-version",
        "3",
    ]
    return osc_fork.run([*auth, *args], cloud.env)


def test_trust_cli(cloud: CloudProcess) -> None:
    trust = cloud.osc(
        "trust",
        "create",
        "--project",
        "admin",
        "--role",
        "member",
        "--impersonate",
        "admin",
        "demo",
    )
    assert trust["is_impersonation"] is True
    assert [r["name"] for r in trust["roles"]] == ["member"]
    assert trust["id"] in {t["ID"] for t in cloud.osc("trust", "list")}
    shown = cloud.osc("trust", "show", trust["id"])
    assert shown["trustor_user_id"] == trust["trustor_user_id"]
    # The trustee gets a trust-scoped token that acts as the admin user (impersonation).
    issued = _as_demo(cloud, "--os-trust-id", trust["id"], "token", "issue", "-f", "json")
    assert issued.returncode == 0, issued.stderr
    token = json.loads(issued.stdout)
    assert token["user_id"] == trust["trustor_user_id"]
    headers = {"X-Auth-Token": _admin_token(cloud), "X-Subject-Token": token["id"]}
    body = httpx.get(f"{cloud.auth_url}/auth/tokens", headers=headers).json()["token"]
    assert body["OS-TRUST:trust"]["id"] == trust["id"]
    cloud.osc("trust", "delete", trust["id"])
    assert httpx.get(f"{cloud.auth_url}/auth/tokens", headers=headers).status_code == 404
    with pytest.raises(subprocess.CalledProcessError):
        cloud.osc("trust", "show", trust["id"])


def test_credential_and_ec2_cli(cloud: CloudProcess) -> None:
    blob = json.dumps({"access": _name("ak"), "secret": "sk"})
    created = cloud.osc(
        "credential", "create", "admin", blob, "--type", "ec2", "--project", "admin"
    )
    assert created["type"] == "ec2" and json.loads(created["blob"])["secret"] == "sk"
    assert created["id"] in {c["ID"] for c in cloud.osc("credential", "list")}
    assert cloud.osc("credential", "show", created["id"])["blob"] == created["blob"]
    cloud.osc("credential", "delete", created["id"])
    assert created["id"] not in {c["ID"] for c in cloud.osc("credential", "list")}
    ec2 = cloud.osc("ec2", "credentials", "create")
    assert ec2["access"] in {c["Access"] for c in cloud.osc("ec2", "credentials", "list")}
    # The object store's S3 API turns a request signed with these keys into a token.
    request: dict[str, Any] = {
        "access": ec2["access"],
        "host": "127.0.0.1",
        "verb": "GET",
        "path": "/",
        "params": {
            "SignatureVersion": "2",
            "SignatureMethod": "HmacSHA256",
            "AWSAccessKeyId": ec2["access"],
            "Timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
        "headers": {},
    }
    request["signature"] = Ec2Signer(ec2["secret"]).generate(json.loads(json.dumps(request)))
    response = httpx.post(
        f"{cloud.auth_url}/ec2tokens",
        json={"credentials": request},
        headers={"X-Auth-Token": _admin_token(cloud)},
    )
    assert response.status_code == 200, response.text
    assert response.json()["token"]["methods"] == ["ec2credential"]


def test_consumer_and_endpoint_group_cli(cloud: CloudProcess, tmp_path: Path) -> None:
    consumer = cloud.osc("consumer", "create", "--description", "cli consumer")
    assert consumer["secret"] and consumer["description"] == "cli consumer"
    assert consumer["id"] in {c["ID"] for c in cloud.osc("consumer", "list")}
    filters = tmp_path / "filters.json"
    filters.write_text(json.dumps({"interface": "public"}))
    group = cloud.osc("endpoint", "group", "create", _name("eg"), str(filters))
    assert group["filters"] == {"interface": "public"}
    assert group["id"] in {g["ID"] for g in cloud.osc("endpoint", "group", "list")}


def test_access_rules_are_enforced_by_the_image_service(cloud: CloudProcess) -> None:
    rules = json.dumps([{"service": "image", "method": "GET", "path": "/v2/images"}])
    cred = cloud.osc("application", "credential", "create", _name("ac"), "--access-rules", rules)
    listed = cloud.osc("access", "rule", "list")
    assert {(r["Service"], r["Method"], r["Path"]) for r in listed} >= {
        ("image", "GET", "/v2/images")
    }
    auth = {
        "auth": {
            "identity": {
                "methods": ["application_credential"],
                "application_credential": {"id": cred["ID"], "secret": cred["Secret"]},
            }
        }
    }
    token = httpx.post(f"{cloud.auth_url}/auth/tokens", json=auth).headers["X-Subject-Token"]
    image = cloud.endpoint("image")
    headers = {"X-Auth-Token": token}
    assert httpx.get(f"{image}/v2/images", headers=headers).status_code == 200
    assert httpx.get(f"{image}/v2/schemas/image", headers=headers).status_code == 401
    body = {"name": _name("img"), "disk_format": "raw", "container_format": "bare"}
    assert httpx.post(f"{image}/v2/images", headers=headers, json=body).status_code == 401
    assert httpx.get(f"{cloud.auth_url}/projects", headers=headers).status_code == 401
    # A service calling on the user's behalf sends its own token too (X-Service-Token).
    service = httpx.post(
        f"{cloud.auth_url}/auth/tokens",
        json={
            "auth": {
                "identity": {
                    "methods": ["password"],
                    "password": {
                        "user": {
                            "name": "glance",
                            "password": cloud.password("image"),
                            "domain": {"id": "default"},
                        }
                    },
                },
                "scope": {"project": {"name": "service", "domain": {"id": "default"}}},
            }
        },
    )
    assert service.status_code == 201, service.text
    chained = {**headers, "X-Service-Token": service.headers["X-Subject-Token"]}
    created = httpx.post(f"{image}/v2/images", headers=chained, json=body)
    assert created.status_code == 201, created.text
    # Deleting the credential revokes its tokens in the image service too.
    cloud.osc("application", "credential", "delete", cred["ID"])
    assert httpx.get(f"{image}/v2/images", headers=headers).status_code == 401


def test_credential_key_cli(cloud: CloudProcess) -> None:
    blob = json.dumps({"access": _name("ak"), "secret": "kept-secret"})
    created = cloud.osc(
        "credential", "create", "admin", blob, "--type", "ec2", "--project", "admin"
    )

    def manage(command: str) -> subprocess.CompletedProcess[str]:
        argv = ["identity", command, "--config-file", str(cloud.conf_file)]
        return cloud_fork.run(argv, cloud.env, timeout=60)

    assert json.loads(manage("credential-setup").stdout)["created"] is False
    first = manage("credential-rotate")
    assert first.returncode == 0, first.stderr
    # The running cloud still reads it (the old primary key is now a secondary one).
    assert (
        json.loads(cloud.osc("credential", "show", created["id"])["blob"])["secret"]
        == "kept-secret"
    )
    refused = manage("credential-rotate")
    assert refused.returncode == 1 and "credential-migrate" in refused.stderr
    migrated = manage("credential-migrate")
    assert json.loads(migrated.stdout)["migrated"] >= 1
    assert manage("credential-rotate").returncode == 0
    assert (
        json.loads(cloud.osc("credential", "show", created["id"])["blob"])["secret"]
        == "kept-secret"
    )
