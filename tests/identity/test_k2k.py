"""Keystone-to-Keystone federation between two identity clouds on loopback: cloud A is
the SAML 2.0 identity provider, cloud B the service provider; keystoneauth's
``Keystone2Keystone`` plugin gets a token in B for a user of A."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3
from lxml import etree

from tests.identity.conftest import ADMIN_PASSWORD, Cloud, assert_error, build_cloud
from tinystack.common.timeutils import utcnow
from tinystack.identity.services import saml2

FED = "/v3/OS-FEDERATION"
ENTITY_A = "https://cloud-a.example.test/idp"
SP_ID = "cloud-b"
IDP_ID = "cloud-a"


class _Served:
    """An in-process cloud's app under uvicorn on a loopback port, in a thread."""

    def __init__(self, cloud: Cloud, sock: socket.socket) -> None:
        self.cloud = cloud
        self.sock = sock
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        config = uvicorn.Config(
            cloud.client.app, log_level="warning", access_log=False, lifespan="off"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=lambda: asyncio.run(self.server.serve(sockets=[sock])), daemon=True
        )

    def start(self) -> _Served:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            assert time.monotonic() < deadline, "the test cloud did not start"
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()
        self.cloud.client.close()
        if self.cloud.runtime.db is not None:
            self.cloud.runtime.db.dispose()


@dataclass
class Pair:
    a: _Served
    b: _Served
    #: the domain of cloud A's users in cloud B (the identity provider's)
    idp_domain_id: str = ""

    @property
    def auth_url(self) -> str:
        return f"{self.b.url}{FED}/identity_providers/{IDP_ID}/protocols/saml2/auth"

    @property
    def sp_url(self) -> str:
        return f"{self.b.url}/Shibboleth.sso/SAML2/ECP"


def _socket() -> socket.socket:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    return sock


def _trust_cloud_a(sp: Cloud) -> str:
    """Cloud A as an identity provider of ``sp`` (mapping, remote id, saml2 protocol);
    the identity provider's domain id."""
    rules = [
        {
            "local": [
                {
                    "user": {"name": "{0}"},
                    "projects": [{"name": "k2k-project", "roles": [{"name": "member"}]}],
                }
            ],
            "remote": [{"type": "openstack_user"}, {"type": "openstack_user_domain"}],
        }
    ]
    mapping = {"rules": rules, "schema_version": "2.0"}
    sp.ok("PUT", f"{FED}/mappings/k2k", json={"mapping": mapping}, status=201)
    idp = sp.ok(
        "PUT",
        f"{FED}/identity_providers/{IDP_ID}",
        json={"identity_provider": {"remote_ids": [ENTITY_A], "enabled": True}},
        status=201,
    )["identity_provider"]
    sp.ok(
        "PUT",
        f"{FED}/identity_providers/{IDP_ID}/protocols/saml2",
        json={"protocol": {"mapping_id": "k2k"}},
        status=201,
    )
    return str(idp["domain_id"])


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    sock_a, sock_b = _socket(), _socket()
    a = build_cloud(tmp_path_factory.mktemp("k2k-a"), overrides={"saml.idp_entity_id": ENTITY_A})
    cert_a = Path(a.runtime.conf.state_dir) / "saml" / "cert.pem"
    b = build_cloud(
        tmp_path_factory.mktemp("k2k-b"),
        overrides={"federation.saml2_idp_certificate": [f"{ENTITY_A}={cert_a}"]},
    )
    served = Pair(_Served(a, sock_a), _Served(b, sock_b))
    try:
        served.a.start()
        served.b.start()
        a.ok(
            "PUT",
            f"{FED}/service_providers/{SP_ID}",
            json={
                "service_provider": {
                    "auth_url": served.auth_url,
                    "sp_url": served.sp_url,
                    "enabled": True,
                }
            },
            status=201,
        )
        served.idp_domain_id = _trust_cloud_a(b)
        yield served
    finally:
        served.b.stop()
        served.a.stop()


def _saml_body(token: str, sp_id: str = SP_ID) -> dict[str, Any]:
    return {
        "auth": {
            "identity": {"methods": ["token"], "token": {"id": token}},
            "scope": {"service_provider": {"id": sp_id}},
        }
    }


def _ecp(pair: Pair) -> bytes:
    response = pair.a.cloud.post(
        "/v3/auth/OS-FEDERATION/saml2/ecp", json=_saml_body(pair.a.cloud.admin)
    )
    assert response.status_code == 200, response.text
    return response.content


def _present(pair: Pair, document: bytes) -> Any:
    return pair.b.cloud.client.post(
        "/Shibboleth.sso/SAML2/ECP",
        content=document,
        headers={"Content-Type": "application/vnd.paos+xml", "Host": pair.b.url[7:]},
    )


def test_keystone2keystone_with_keystoneauth(pair: Pair) -> None:
    local = v3.Password(
        auth_url=pair.a.url + "/v3",
        username="admin",
        password=ADMIN_PASSWORD,
        user_domain_id="default",
        project_name="admin",
        project_domain_id="default",
    )
    remote = v3.Keystone2Keystone(local, SP_ID)
    sess = ks_session.Session(auth=remote)
    token = sess.get_token()
    assert token
    body = pair.b.cloud.ok("GET", "/v3/auth/tokens", headers={"X-Subject-Token": token})
    user = body["token"]["user"]
    assert user["name"] == "admin"
    assert user["OS-FEDERATION"]["identity_provider"]["id"] == IDP_ID
    assert user["OS-FEDERATION"]["protocol"]["id"] == "saml2"
    assert body["token"]["methods"] == ["saml2"]
    # The ephemeral user lives in B, apart from A's admin.
    assert user["id"] != pair.a.cloud.ids["admin_user"]
    # A's token is of no use in B.
    foreign = local.get_token(sess)
    assert_error(pair.b.cloud.get("/v3/auth/tokens", headers={"X-Subject-Token": foreign}), 404)


def test_keystone2keystone_project_scoped(pair: Pair) -> None:
    """The plugin rescopes the federated token at B's /v3 to the project B's mapping
    provisioned."""
    local = v3.Password(
        auth_url=pair.a.url + "/v3",
        username="admin",
        password=ADMIN_PASSWORD,
        user_domain_id="default",
        project_name="admin",
        project_domain_id="default",
    )
    remote = v3.Keystone2Keystone(
        local, SP_ID, project_name="k2k-project", project_domain_id=pair.idp_domain_id
    )
    sess = ks_session.Session(auth=remote)
    body = pair.b.cloud.ok("GET", "/v3/auth/tokens", headers={"X-Subject-Token": sess.get_token()})
    assert body["token"]["project"]["name"] == "k2k-project"
    # member, and reader which member implies
    assert sorted(r["name"] for r in body["token"]["roles"]) == ["member", "reader"]
    assert body["token"]["user"]["OS-FEDERATION"]["identity_provider"]["id"] == IDP_ID


def test_assertion_and_metadata(pair: Pair) -> None:
    a = pair.a.cloud
    group = a.group("k2k-auditors")
    a.call("PUT", f"/v3/groups/{group['id']}/users/{a.ids['admin_user']}")
    response = a.post("/v3/auth/OS-FEDERATION/saml2", json=_saml_body(a.admin))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/xml")
    assert response.headers["X-sp-url"] == pair.sp_url
    assert response.headers["X-auth-url"] == pair.auth_url
    root = etree.fromstring(response.content)
    assert root.tag == f"{{{saml2.SAMLP}}}Response"
    assertion = root.find(f"{{{saml2.SAML}}}Assertion")
    assert assertion is not None
    assert assertion.findtext(f"{{{saml2.SAML}}}Issuer") == ENTITY_A
    audience = assertion.findtext(f".//{{{saml2.SAML}}}Audience")
    assert audience == pair.auth_url
    recipient = assertion.find(f".//{{{saml2.SAML}}}SubjectConfirmationData")
    assert recipient is not None and recipient.get("Recipient") == pair.sp_url
    values = {
        attr.get("Name"): [v.text for v in attr]
        for attr in assertion.iter(f"{{{saml2.SAML}}}Attribute")
    }
    assert values["openstack_user"] == ["admin"]
    assert values["openstack_project"] == ["admin"]
    assert values["openstack_user_domain"] == ["Default"]
    assert "admin" in values["openstack_roles"]
    assert values["openstack_groups"] == [
        'JSON:{"name": "k2k-auditors", "domain": {"name": "Default"}}'
    ]
    conditions = assertion.find(f"{{{saml2.SAML}}}Conditions")
    assert conditions is not None
    expires = datetime.fromisoformat(conditions.get("NotOnOrAfter", "").replace("Z", ""))
    # [saml] assertion_expiration_time: an hour
    assert abs((expires - utcnow()).total_seconds() - 3600) < 60
    assert assertion.find(f"{{{saml2.DS}}}Signature") is not None

    envelope = etree.fromstring(_ecp(pair))
    relay = envelope.find(f".//{{{saml2.ECP}}}RelayState")
    assert relay is not None and relay.text
    assert relay.text.startswith("ss:mem:") and len(relay.text) > len("ss:mem:")

    meta = a.get(f"{FED}/saml2/metadata", token=None)
    assert meta.status_code == 200
    descriptor = etree.fromstring(meta.content)
    assert descriptor.get("entityID") == ENTITY_A
    assert descriptor.findtext(f".//{{{saml2.DS}}}X509Certificate")


def test_bad_input_at_the_identity_provider(pair: Pair) -> None:
    a = pair.a.cloud
    path = "/v3/auth/OS-FEDERATION/saml2"
    assert_error(a.post(path, json=_saml_body(a.admin, "no-such-sp")), 404)
    assert_error(a.post(path, json=_saml_body("not-a-token")), 404)
    assert_error(a.post(path, json={"auth": {"identity": {"methods": ["token"]}}}), 400)
    unscoped, _ = a.issue(
        {
            "auth": {
                "identity": {
                    "methods": ["password"],
                    "password": {
                        "user": {
                            "name": "admin",
                            "domain": {"id": "default"},
                            "password": ADMIN_PASSWORD,
                        }
                    },
                }
            }
        }
    )
    assert_error(a.post(path, json=_saml_body(unscoped)), 403)
    a.ok("PATCH", f"{FED}/service_providers/{SP_ID}", json={"service_provider": {"enabled": False}})
    try:
        assert_error(a.post(path, json=_saml_body(a.admin)), 403)
    finally:
        a.ok(
            "PATCH",
            f"{FED}/service_providers/{SP_ID}",
            json={"service_provider": {"enabled": True}},
        )


def test_bad_assertions_at_the_service_provider(
    pair: Pair, monkeypatch: pytest.MonkeyPatch
) -> None:
    document = _ecp(pair)
    ok = _present(pair, document)
    assert ok.status_code == 201, ok.text
    assert ok.headers["X-Subject-Token"]
    # The same assertion again: the replay cache refuses it.
    replayed = _present(pair, document)
    assert_error(replayed, 401)
    assert "has been used already" in replayed.json()["error"]["message"]
    # A changed attribute breaks the signature.
    tampered = document.replace(b">admin</saml:AttributeValue>", b">evil</saml:AttributeValue>")
    assert tampered != document
    assert_error(_present(pair, tampered), 401)
    # An assertion past its NotOnOrAfter (the IdP token's expiry).
    later = utcnow() + timedelta(days=2)
    monkeypatch.setattr(saml2, "utcnow", lambda: later)
    assert_error(_present(pair, document), 401)
    monkeypatch.undo()
    # Not XML, no assertion, an untrusted issuer.
    assert_error(_present(pair, b"<not-xml"), 400)
    assert_error(_present(pair, b"<x/>"), 401)
    foreign = document.replace(ENTITY_A.encode(), b"https://elsewhere.example.test/idp")
    assert_error(_present(pair, foreign), 401)
    # Presented on the protocol's auth URL directly, with the same checks.
    document = _ecp(pair)
    direct = pair.b.cloud.client.post(
        f"{FED}/identity_providers/{IDP_ID}/protocols/saml2/auth",
        content=document,
        headers={"Content-Type": "application/vnd.paos+xml", "Host": pair.b.url[7:]},
    )
    assert direct.status_code == 201, direct.text
    wrong_audience = pair.b.cloud.client.post(
        f"{FED}/identity_providers/{IDP_ID}/protocols/saml2/auth",
        content=document,
        headers={"Content-Type": "application/vnd.paos+xml"},
    )
    assert_error(wrong_audience, 401)


def test_trust_from_the_idp_metadata_url(
    pair: Pair, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A service provider configured with A's metadata URL only (no certificate file)
    learns A's entity id and signing certificate from it."""
    metadata_url = f"{pair.a.url}{FED}/saml2/metadata"
    c = build_cloud(
        tmp_path_factory.mktemp("k2k-c"),
        overrides={"federation.saml2_idp_metadata_url": [metadata_url]},
    )
    host = "cloud-c.example.test"
    a = pair.a.cloud
    try:
        _trust_cloud_a(c)
        a.ok(
            "PUT",
            f"{FED}/service_providers/cloud-c",
            json={
                "service_provider": {
                    "auth_url": f"http://{host}{FED}/identity_providers/{IDP_ID}"
                    "/protocols/saml2/auth",
                    "sp_url": f"http://{host}/Shibboleth.sso/SAML2/ECP",
                    "enabled": True,
                }
            },
            status=201,
        )
        ecp = a.post("/v3/auth/OS-FEDERATION/saml2/ecp", json=_saml_body(a.admin, "cloud-c"))
        assert ecp.status_code == 200, ecp.text

        def present(document: bytes) -> Any:
            return c.client.post(
                "/Shibboleth.sso/SAML2/ECP",
                content=document,
                headers={"Content-Type": "application/vnd.paos+xml", "Host": host},
            )

        accepted = present(ecp.content)
        assert accepted.status_code == 201, accepted.text
        token = accepted.headers["X-Subject-Token"]
        body = c.ok("GET", "/v3/auth/tokens", headers={"X-Subject-Token": token})
        assert body["token"]["user"]["OS-FEDERATION"]["identity_provider"]["id"] == IDP_ID
        assert_error(present(ecp.content), 401)  # replayed
        # an issuer the metadata does not describe stays untrusted
        fresh = a.post("/v3/auth/OS-FEDERATION/saml2/ecp", json=_saml_body(a.admin, "cloud-c"))
        foreign = fresh.content.replace(ENTITY_A.encode(), b"https://elsewhere.example.test/idp")
        refused = present(foreign)
        assert_error(refused, 401)
        assert "elsewhere.example.test" in refused.json()["error"]["message"]
    finally:
        a.call("DELETE", f"{FED}/service_providers/cloud-c")
        c.client.close()
        if c.runtime.db is not None:
            c.runtime.db.dispose()
