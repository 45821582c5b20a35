"""Federation: identity providers, protocols, mappings, service providers, the mapping
language, and OpenID Connect authentication against a test provider on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.identity.conftest import Cloud, assert_error, unique
from tests.identity.oidc_idp import OidcProvider
from tinystack.common.exceptions import ValidationError
from tinystack.identity.services import mapping_rules

FED = "/v3/OS-FEDERATION"


@pytest.fixture(scope="module")
def idp_server() -> Iterator[OidcProvider]:
    provider = OidcProvider().start()
    try:
        yield provider
    finally:
        provider.stop()


def _mapping(cloud: Cloud, rules: list[dict[str, Any]], version: str | None = None) -> str:
    mapping_id = unique("map")
    body: dict[str, Any] = {"rules": rules}
    if version:
        body["schema_version"] = version
    cloud.ok("PUT", f"{FED}/mappings/{mapping_id}", json={"mapping": body}, status=201)
    return mapping_id


def _idp(cloud: Cloud, remote_ids: list[str], mapping_id: str, **fields: Any) -> dict[str, Any]:
    idp_id = unique("idp")
    body = {"identity_provider": {"remote_ids": remote_ids, "enabled": True, **fields}}
    idp: dict[str, Any] = cloud.ok(
        "PUT", f"{FED}/identity_providers/{idp_id}", json=body, status=201
    )["identity_provider"]
    cloud.ok(
        "PUT",
        f"{FED}/identity_providers/{idp_id}/protocols/openid",
        json={"protocol": {"mapping_id": mapping_id}},
        status=201,
    )
    return idp


def _auth(cloud: Cloud, idp_id: str, token: str | None, method: str = "POST") -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return cloud.client.request(
        method, f"{FED}/identity_providers/{idp_id}/protocols/openid/auth", headers=headers
    )


def test_crud(cloud: Cloud) -> None:
    mapping_id = _mapping(
        cloud, [{"local": [{"user": {"name": "{0}"}}], "remote": [{"type": "sub"}]}]
    )
    assert cloud.ok("GET", f"{FED}/mappings/{mapping_id}")["mapping"]["schema_version"] == "1.0"
    assert mapping_id in {m["id"] for m in cloud.ok("GET", f"{FED}/mappings")["mappings"]}
    idp_id = unique("idp")
    created = cloud.ok(
        "PUT",
        f"{FED}/identity_providers/{idp_id}",
        json={"identity_provider": {"remote_ids": ["https://a.example"], "description": "d"}},
        status=201,
    )
    idp = created["identity_provider"]
    assert idp["enabled"] is False and idp["remote_ids"] == ["https://a.example"]
    assert idp["links"]["protocols"].endswith(f"/identity_providers/{idp_id}/protocols")
    # The auto-created domain exists.
    assert cloud.ok("GET", f"/v3/domains/{idp['domain_id']}")["domain"]["enabled"] is True
    assert_error(cloud.put(f"{FED}/identity_providers/{idp_id}", json={}), 409)
    assert_error(
        cloud.put(
            f"{FED}/identity_providers/{unique('idp')}",
            json={"identity_provider": {"remote_ids": ["https://a.example"]}},
        ),
        409,
    )
    assert_error(
        cloud.put(
            f"{FED}/identity_providers/{unique('idp')}",
            json={"identity_provider": {"domain_id": "nope"}},
        ),
        400,
    )
    updated = cloud.ok(
        "PATCH",
        f"{FED}/identity_providers/{idp_id}",
        json={"identity_provider": {"enabled": True, "remote_ids": ["b", "c"]}},
    )
    assert updated["identity_provider"]["remote_ids"] == ["b", "c"]
    assert_error(
        cloud.patch(
            f"{FED}/identity_providers/{idp_id}", json={"identity_provider": {"domain_id": "x"}}
        ),
        400,
    )
    listed = cloud.ok("GET", f"{FED}/identity_providers?enabled=true")["identity_providers"]
    assert idp_id in {i["id"] for i in listed}
    # Protocols name an existing mapping.
    base = f"{FED}/identity_providers/{idp_id}/protocols"
    assert_error(cloud.put(f"{base}/openid", json={"protocol": {"mapping_id": "nope"}}), 400)
    proto = cloud.ok(
        "PUT", f"{base}/openid", json={"protocol": {"mapping_id": mapping_id}}, status=201
    )["protocol"]
    assert proto["mapping_id"] == mapping_id and proto["links"]["identity_provider"].endswith(
        idp_id
    )
    assert_error(cloud.put(f"{base}/openid", json={"protocol": {"mapping_id": mapping_id}}), 409)
    assert [p["id"] for p in cloud.ok("GET", base)["protocols"]] == ["openid"]
    cloud.ok("PATCH", f"{base}/openid", json={"protocol": {"remote_id_attribute": "iss"}})
    cloud.ok("DELETE", f"{base}/openid", status=204)
    assert_error(cloud.get(f"{base}/openid"), 404)
    cloud.ok("DELETE", f"{FED}/identity_providers/{idp_id}", status=204)
    assert_error(cloud.get(f"{FED}/identity_providers/{idp_id}"), 404)
    # Mappings are validated.
    bad: list[Any]
    for bad in (
        [],
        [{"local": []}],
        [{"local": [{"nope": 1}], "remote": [{"type": "a"}]}],
        [{"local": [], "remote": [{"type": "a", "any_one_of": "x"}]}],
    ):
        assert_error(
            cloud.put(f"{FED}/mappings/{unique('m')}", json={"mapping": {"rules": bad}}), 400
        )
    cloud.ok(
        "PATCH",
        f"{FED}/mappings/{mapping_id}",
        json={
            "mapping": {
                "rules": [{"local": [{"user": {"name": "x"}}], "remote": [{"type": "email"}]}]
            }
        },
    )
    cloud.ok("DELETE", f"{FED}/mappings/{mapping_id}", status=204)
    # Service providers.
    sp_id = unique("sp")
    sp = cloud.ok(
        "PUT",
        f"{FED}/service_providers/{sp_id}",
        json={
            "service_provider": {
                "auth_url": "https://sp.example/v3/OS-FEDERATION/identity_providers/me/protocols/saml2/auth",
                "sp_url": "https://sp.example/Shibboleth.sso/SAML2/ECP",
            }
        },
        status=201,
    )["service_provider"]
    assert sp["enabled"] is False and sp["relay_state_prefix"] == "ss:mem:"
    assert_error(
        cloud.put(
            f"{FED}/service_providers/{unique('sp')}", json={"service_provider": {"auth_url": "x"}}
        ),
        400,
    )
    cloud.ok(
        "PATCH", f"{FED}/service_providers/{sp_id}", json={"service_provider": {"enabled": True}}
    )
    assert cloud.ok("GET", f"{FED}/service_providers?enabled=true")["service_providers"]
    cloud.ok("DELETE", f"{FED}/service_providers/{sp_id}", status=204)
    # Members cannot manage federation.
    _p, _u, token = cloud.member()
    assert_error(cloud.get(f"{FED}/identity_providers", token=token), 403)


def test_mapping_language() -> None:
    rules: list[dict[str, Any]] = [
        {
            "local": [
                {"user": {"name": "{0}", "email": "{1}"}},
                {"groups": "{2}", "domain": {"id": "default"}},
            ],
            "remote": [
                {"type": "sub"},
                {"type": "email"},
                {"type": "groups", "whitelist": ["devs", "ops"]},
                {"type": "org", "any_one_of": ["acme"]},
            ],
        },
        {
            "local": [{"group": {"id": "admins-id"}}],
            "remote": [
                {"type": "groups", "any_one_of": ["^adm.*$"], "regex": True},
                {"type": "org", "not_any_of": ["evil"]},
            ],
        },
        {"local": [{"group_ids": "{0}"}], "remote": [{"type": "group_ids", "blacklist": ["bad"]}]},
    ]
    mapping_rules.validate(rules, None)
    mapped = mapping_rules.evaluate(
        rules,
        {
            "sub": "alice",
            "email": "a@x",
            "groups": "devs;admins;other",
            "org": "acme",
            "group_ids": ["g1", "bad", "g2"],
        },
    )
    assert mapped.user == {"name": "alice", "email": "a@x"}
    assert mapped.user_type == "ephemeral"
    assert mapped.group_names == [{"name": "devs", "domain": {"id": "default"}}]
    assert mapped.group_ids == ["admins-id", "g1", "g2"]
    # The first rule needs org acme; the second rejects org evil.
    other = mapping_rules.evaluate(
        rules, {"sub": "x", "email": "e", "groups": "admins", "org": "evil", "group_ids": "g3"}
    )
    assert other.user == {} and other.group_ids == ["g3"]
    with pytest.raises(ValidationError, match="Could not map"):
        mapping_rules.evaluate(rules, {"sub": "x"})
    with pytest.raises(ValidationError):
        mapping_rules.validate(
            [{"local": [{"user": {"type": "weird"}}], "remote": [{"type": "a"}]}], None
        )
    with pytest.raises(ValidationError, match="remote match"):
        mapping_rules.evaluate(
            [{"local": [{"user": {"name": "{3}"}}], "remote": [{"type": "sub"}]}], {"sub": "a"}
        )


def test_oidc_authentication(cloud: Cloud, idp_server: OidcProvider) -> None:
    group = cloud.group(unique("fedgrp"))
    mapping_id = _mapping(
        cloud,
        [
            {
                "local": [
                    {"user": {"name": "{0}", "email": "{1}"}},
                    {"group": {"name": group["name"], "domain": {"id": "default"}}},
                ],
                "remote": [
                    {"type": "preferred_username"},
                    {"type": "email"},
                    {"type": "OIDC-groups", "any_one_of": ["cloud-users"]},
                ],
            },
        ],
    )
    idp = _idp(cloud, [idp_server.issuer], mapping_id)
    project = cloud.project()
    cloud.grant("member", group=group["id"], project=project["id"])
    claims: dict[str, Any] = {
        "preferred_username": "alice",
        "email": "alice@example.org",
        "groups": ["cloud-users", "x"],
    }
    response = _auth(cloud, idp["id"], idp_server.token(**claims))
    assert response.status_code == 201, response.text
    token = response.headers["X-Subject-Token"]
    body = response.json()["token"]
    assert body["methods"] == ["openid"] and "roles" not in body
    assert body["user"]["name"] == "alice"
    assert body["user"]["domain"]["id"] == idp["domain_id"]
    assert body["user"]["OS-FEDERATION"] == {
        "identity_provider": {"id": idp["id"]},
        "protocol": {"id": "openid"},
        "groups": [{"id": group["id"]}],
    }
    # The same subject comes back as the same shadow user.
    again = _auth(cloud, idp["id"], idp_server.token(**claims), method="GET")
    assert again.json()["token"]["user"]["id"] == body["user"]["id"]
    shadow = cloud.ok("GET", f"/v3/users/{body['user']['id']}")["user"]
    assert shadow["email"] == "alice@example.org"
    # The unscoped token lists the projects its groups give, and rescopes to one.
    listed = cloud.ok("GET", f"{FED}/projects", token=token)["projects"]
    assert [p["id"] for p in listed] == [project["id"]]
    assert [p["id"] for p in cloud.ok("GET", "/v3/auth/projects", token=token)["projects"]] == [
        project["id"]
    ]
    rescope = {
        "auth": {
            "identity": {"methods": ["token"], "token": {"id": token}},
            "scope": {"project": {"id": project["id"]}},
        }
    }
    scoped_id, scoped = cloud.issue(rescope)
    assert {r["name"] for r in scoped["roles"]} == {"member", "reader"}
    assert scoped["user"]["OS-FEDERATION"]["groups"] == [{"id": group["id"]}]
    assert cloud.alive(scoped_id)
    # What is refused: no token, another key, an expired token, another issuer, a claim
    # the mapping rejects, a disabled provider.
    assert_error(_auth(cloud, idp["id"], None), 401)
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert_error(_auth(cloud, idp["id"], idp_server.token(key=stranger, **claims)), 401)
    assert_error(_auth(cloud, idp["id"], idp_server.token(lifetime=-120, **claims)), 401)
    assert_error(
        _auth(cloud, idp["id"], idp_server.token(issuer="http://127.0.0.1:1/x", **claims)), 401
    )
    refused = _auth(cloud, idp["id"], idp_server.token(**{**claims, "groups": ["x"]}))
    assert refused.status_code in (400, 401), refused.text
    assert_error(_auth(cloud, "nope", idp_server.token(**claims)), 404)
    cloud.ok(
        "PATCH",
        f"{FED}/identity_providers/{idp['id']}",
        json={"identity_provider": {"enabled": False}},
    )
    assert_error(_auth(cloud, idp["id"], idp_server.token(**claims)), 403)
    # Disabling the provider revoked its users' tokens; deleting it removes them.
    assert not cloud.alive(scoped_id)
    cloud.ok("DELETE", f"{FED}/identity_providers/{idp['id']}", status=204)
    assert_error(cloud.get(f"/v3/users/{body['user']['id']}"), 404)


def test_projects_are_provisioned(cloud: Cloud, idp_server: OidcProvider) -> None:
    name = unique("fedproj")
    mapping_id = _mapping(
        cloud,
        [
            {
                "local": [
                    {
                        "user": {"name": "{0}"},
                        "projects": [{"name": name, "roles": [{"name": "member"}]}],
                    }
                ],
                "remote": [{"type": "sub"}],
            },
        ],
        version="2.0",
    )
    idp = _idp(cloud, [idp_server.issuer + "-p"], mapping_id)
    token = idp_server.token(sub="bob", issuer=idp_server.issuer + "-p")
    # The provider's issuer differs from the server's: its keys are not found there.
    assert _auth(cloud, idp["id"], token).status_code == 401
    cloud.ok(
        "PATCH",
        f"{FED}/identity_providers/{idp['id']}",
        json={"identity_provider": {"remote_ids": [idp_server.issuer]}},
    )
    response = _auth(cloud, idp["id"], idp_server.token(sub="bob"))
    assert response.status_code == 201, response.text
    unscoped = response.headers["X-Subject-Token"]
    projects = cloud.ok("GET", "/v3/auth/projects", token=unscoped)["projects"]
    assert [p["name"] for p in projects] == [name]
    assert projects[0]["domain_id"] == idp["domain_id"]


def test_local_user_mapping(cloud: Cloud) -> None:
    user = cloud.user()
    mapping_id = _mapping(
        cloud,
        [
            {
                "local": [{"user": {"name": "{0}", "domain": {"id": "default"}, "type": "local"}}],
                "remote": [{"type": "preferred_username"}],
            },
        ],
    )
    provider = OidcProvider(kid="other").start()
    try:
        idp = _idp(cloud, [provider.issuer], mapping_id)
        # A mapping to a local user gives that user's own token, without OS-FEDERATION.
        response = _auth(cloud, idp["id"], provider.token(preferred_username=user["name"]))
        assert response.status_code == 201, response.text
        body = response.json()["token"]
        assert body["user"]["id"] == user["id"] and "OS-FEDERATION" not in body["user"]
        assert body["methods"] == ["openid"]
        missing = _auth(cloud, idp["id"], provider.token(preferred_username="nobody-here"))
        assert_error(missing, 401)
    finally:
        provider.stop()
