"""Credentials: CRUD, encryption at rest and key rotation, EC2 credentials, ec2/s3 tokens."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from keystoneclient.contrib.ec2.utils import Ec2Signer
from sqlalchemy import select

from tests.identity.conftest import Cloud, assert_error
from tinystack.common.exceptions import Conflict
from tinystack.identity import models
from tinystack.identity.services import credentials as credential_service

CREDS = "/v3/credentials"


def _ec2_blob(access: str = "", secret: str = "s3cr3t") -> str:
    return json.dumps(
        {
            "access": access or hashlib.md5(str(datetime.now()).encode()).hexdigest(),
            "secret": secret,
        }
    )


def test_crud_filters_and_encryption_at_rest(cloud: Cloud) -> None:
    project, user, token = cloud.member()
    body = {
        "credential": {
            "user_id": user["id"],
            "type": "cert",
            "blob": "PEM-secret-blob",
            "label": "mine",
        }
    }
    created = cloud.ok("POST", CREDS, token=token, status=201, json=body)["credential"]
    assert created["blob"] == "PEM-secret-blob" and created["label"] == "mine"
    assert created["project_id"] is None and created["links"]["self"].endswith(created["id"])
    # The database holds only ciphertext.
    assert cloud.runtime.db is not None
    with cloud.runtime.db.reader() as session:
        row = session.get(models.Credential, created["id"])
        assert row is not None and "PEM-secret-blob" not in row.encrypted_blob
    path = f"{CREDS}/{created['id']}"
    assert cloud.ok("GET", path, token=token)["credential"]["blob"] == "PEM-secret-blob"
    updated = cloud.ok("PATCH", path, token=token, json={"credential": {"blob": "new"}})
    assert updated["credential"]["blob"] == "new"
    mine = cloud.ok("GET", f"{CREDS}?user_id={user['id']}&type=cert", token=token)["credentials"]
    assert [c["id"] for c in mine] == [created["id"]]
    assert cloud.ok("GET", f"{CREDS}?type=nosuchtype")["credentials"] == []
    # Another member sees none of it; the admin sees everything.
    _, _, other = cloud.member()
    assert created["id"] not in {
        c["id"] for c in cloud.ok("GET", CREDS, token=other)["credentials"]
    }
    assert_error(cloud.get(path, token=other), 403)
    assert created["id"] in {c["id"] for c in cloud.ok("GET", CREDS)["credentials"]}
    # The owner cannot hand it over to someone else.
    demo = cloud.ids["demo_user"]
    assert_error(cloud.patch(path, token=token, json={"credential": {"user_id": demo}}), 403)
    assert cloud.delete(path, token=token).status_code == 204
    assert_error(cloud.get(path), 404)


def test_bad_input(cloud: Cloud) -> None:
    project, user, token = cloud.member()
    cred = {"user_id": user["id"], "type": "ec2"}
    for bad in (
        {},
        {"user_id": user["id"], "type": "cert"},
        {**cred, "blob": _ec2_blob()},  # ec2 needs a project
        {**cred, "project_id": project["id"], "blob": "not json"},
        {**cred, "project_id": project["id"], "blob": json.dumps({"secret": "x"})},
        {**cred, "project_id": project["id"], "blob": 5},
    ):
        assert_error(cloud.post(CREDS, token=token, json={"credential": bad}), 400)
    assert_error(
        cloud.post(
            CREDS,
            token=token,
            json={
                "credential": {
                    **cred,
                    "user_id": cloud.ids["demo_user"],
                    "type": "cert",
                    "blob": "x",
                }
            },
        ),
        403,
    )
    created = cloud.ok(
        "POST",
        CREDS,
        token=token,
        status=201,
        json={"credential": {"user_id": user["id"], "type": "cert", "blob": "x"}},
    )["credential"]
    path = f"{CREDS}/{created['id']}"
    assert_error(cloud.patch(path, token=token, json={"credential": {}}), 400)
    assert_error(cloud.patch(path, token=token, json={"credential": {"id": "other"}}), 400)
    assert_error(cloud.patch(path, token=token, json={"credential": {"type": "ec2"}}), 400)
    assert_error(cloud.get(f"{CREDS}/nosuch"), 404)


def test_ec2_credential_id_is_the_access_key_hash(cloud: Cloud) -> None:
    project, user, token = cloud.member()
    blob = _ec2_blob(access="AKIDEXAMPLE1")
    body = {
        "credential": {
            "user_id": user["id"],
            "type": "ec2",
            "project_id": project["id"],
            "blob": blob,
        }
    }
    created = cloud.ok("POST", CREDS, token=token, status=201, json=body)["credential"]
    assert created["id"] == hashlib.sha256(b"AKIDEXAMPLE1").hexdigest()
    assert_error(cloud.post(CREDS, token=token, json=body), 409)
    # The access key (and delegation) of an ec2 blob cannot change.
    changed = json.dumps({"access": "AKIDEXAMPLE1", "secret": "x", "trust_id": "t"})
    path = f"{CREDS}/{created['id']}"
    assert_error(cloud.patch(path, token=token, json={"credential": {"blob": changed}}), 400)


def test_os_ec2_credentials(cloud: Cloud) -> None:
    project, user, token = cloud.member()
    base = f"/v3/users/{user['id']}/credentials/OS-EC2"
    created = cloud.ok("POST", base, token=token, status=201, json={"tenant_id": project["id"]})[
        "credential"
    ]
    assert created["tenant_id"] == project["id"] and created["user_id"] == user["id"]
    assert created["access"] and created["secret"] and created["trust_id"] is None
    assert created["links"]["self"].endswith(f"/OS-EC2/{created['access']}")
    listed = cloud.ok("GET", base, token=token)["credentials"]
    assert [c["access"] for c in listed] == [created["access"]]
    shown = cloud.ok("GET", f"{base}/{created['access']}", token=token)["credential"]
    assert shown["secret"] == created["secret"]
    # The same row is an ec2 credential of /v3/credentials.
    same = cloud.ok(
        "GET", f"{CREDS}/{hashlib.sha256(created['access'].encode()).hexdigest()}", token=token
    )
    assert json.loads(same["credential"]["blob"])["access"] == created["access"]
    assert_error(cloud.post(base, token=token, json={"tenant_id": "nosuch"}), 404)
    assert_error(cloud.post(base, token=token, json={}), 404)
    _, _, other = cloud.member()
    assert_error(cloud.get(base, token=other), 403)
    assert_error(cloud.get(f"{base}/{created['access']}", token=other), 403)
    assert_error(cloud.get(f"{base}/nosuch", token=token), 404)
    assert cloud.delete(f"{base}/{created['access']}", token=token).status_code == 204
    assert cloud.ok("GET", base, token=token)["credentials"] == []


def _ec2(cloud: Cloud) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    project, user, token = cloud.member()
    base = f"/v3/users/{user['id']}/credentials/OS-EC2"
    cred = cloud.ok("POST", base, token=token, status=201, json={"tenant_id": project["id"]})
    return project, user, cred["credential"]


def _v2_request(cred: dict[str, Any], **params: str) -> dict[str, Any]:
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    request = {
        "access": cred["access"],
        "host": "objects.example:8080",
        "verb": "GET",
        "path": "/",
        "params": {
            "AWSAccessKeyId": cred["access"],
            "Action": "ListBuckets",
            "SignatureVersion": "2",
            "SignatureMethod": "HmacSHA256",
            "Timestamp": stamp,
            **params,
        },
        "headers": {},
    }
    request["signature"] = Ec2Signer(cred["secret"]).generate(json.loads(json.dumps(request)))
    return request


def test_ec2tokens_signature_v2_and_v4(cloud: Cloud) -> None:
    project, user, cred = _ec2(cloud)
    response = cloud.post("/v3/ec2tokens", json={"credentials": _v2_request(cred)})
    assert response.status_code == 200, response.text
    token = response.json()["token"]
    assert token["methods"] == ["ec2credential"] and token["user"]["id"] == user["id"]
    assert token["project"]["id"] == project["id"]
    assert {r["name"] for r in token["roles"]} >= {"member", "reader"}
    assert cloud.alive(response.headers["X-Subject-Token"])
    # Signature version 4, in the Authorization header as S3 clients send it.
    date = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    headers = {
        "Host": "objects.example",
        "X-Amz-Date": date,
        "X-Amz-Content-Sha256": "UNSIGNED-PAYLOAD",
    }
    v4: dict[str, Any] = {
        "access": cred["access"],
        "host": "objects.example",
        "verb": "GET",
        "path": "/bucket",
        "params": {},
        "body_hash": "UNSIGNED-PAYLOAD",
        "headers": {
            **headers,
            "Authorization": (
                f"AWS4-HMAC-SHA256 Credential={cred['access']}/{date[:8]}/RegionOne/s3/"
                "aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=x"
            ),
        },
    }
    v4["signature"] = Ec2Signer(cred["secret"]).generate(json.loads(json.dumps(v4)))
    response = cloud.post("/v3/ec2tokens", json={"credentials": v4})
    assert response.status_code == 200, response.text


def test_ec2tokens_refusals(cloud: Cloud) -> None:
    project, user, cred = _ec2(cloud)
    good = _v2_request(cred)
    assert_error(
        cloud.post("/v3/ec2tokens", json={"credentials": {**good, "signature": "bad"}}), 401
    )
    assert_error(
        cloud.post("/v3/ec2tokens", json={"credentials": {**good, "access": "nosuch"}}), 404
    )
    assert_error(cloud.post("/v3/ec2tokens", json={"credentials": {"signature": "x"}}), 401)
    assert_error(cloud.post("/v3/ec2tokens", json={}), 400)
    old = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert_error(
        cloud.post("/v3/ec2tokens", json={"credentials": _v2_request(cred, Timestamp=old)}), 401
    )
    # Only services and admins turn signatures into tokens.
    _, _, member = cloud.member()
    assert_error(cloud.post("/v3/ec2tokens", token=member, json={"credentials": good}), 403)
    # A disabled user's credential no longer authenticates.
    cloud.ok("PATCH", f"/v3/users/{user['id']}", json={"user": {"enabled": False}})
    assert_error(cloud.post("/v3/ec2tokens", json={"credentials": _v2_request(cred)}), 401)


def test_s3tokens(cloud: Cloud) -> None:
    project, user, cred = _ec2(cloud)
    string_to_sign = b"GET\n\n\nTue, 27 Mar 2007 19:36:42 +0000\n/bucket/key"
    signature = (
        base64.encodebytes(hmac.new(cred["secret"].encode(), string_to_sign, hashlib.sha1).digest())
        .decode()
        .strip()
    )
    body = {
        "credentials": {
            "access": cred["access"],
            "signature": signature,
            "token": base64.urlsafe_b64encode(string_to_sign).decode(),
        }
    }
    response = cloud.post("/v3/s3tokens", json=body)
    assert response.status_code == 200, response.text
    assert response.json()["token"]["project"]["id"] == project["id"]
    body["credentials"]["signature"] = "wrong"
    assert_error(cloud.post("/v3/s3tokens", json=body), 401)


def test_key_rotation_needs_migration(fresh_cloud: Cloud) -> None:
    cloud = fresh_cloud
    project, user, token = cloud.member()
    body = {"credential": {"user_id": user["id"], "type": "cert", "blob": "before-rotation"}}
    created = cloud.ok("POST", CREDS, token=token, status=201, json=body)["credential"]
    deps = cloud.runtime.extra["identity"]
    db, keys = deps.db, deps.credential_keys
    credential_service.rotate(db, keys)
    # Still readable (the old primary is a secondary now); rotating again is refused
    # until the credentials are re-encrypted, so no key they need is dropped.
    keys.RELOAD_INTERVAL = 0
    path = f"{CREDS}/{created['id']}"
    assert cloud.ok("GET", path, token=token)["credential"]["blob"] == "before-rotation"
    with pytest.raises(Conflict):
        credential_service.rotate(db, keys)
    assert credential_service.migrate(db, keys) == 1
    with db.reader() as session:
        hashes = set(session.scalars(select(models.Credential.key_hash)))
    assert hashes == {credential_service.key_hash(keys)}
    for _ in range(3):
        credential_service.rotate(db, keys)
        credential_service.migrate(db, keys)
    assert cloud.ok("GET", path, token=token)["credential"]["blob"] == "before-rotation"
    # The credential keys are not the token keys.
    token_keys = cloud.runtime.token_codec.keys.path
    assert keys.path != token_keys
