"""Sessions as Skyline's: a login with Keystone credentials yields a project-scoped token
(the user's default project when it may use it, else its first enabled one) held in a
signed, expiring cookie; the profile tells the console who it is and where every
service lives; switching project re-scopes the token; logging out revokes it."""

from __future__ import annotations

import time
import uuid
from typing import Any

from tinystack.common.auth.tokens import TokenPayload
from tinystack.common.clients.session import ClientError
from tinystack.common.exceptions import NotFound
from tinystack.dashboard.exception import LoginFailed, ServiceFailed, SessionInvalid
from tinystack.dashboard.services.deps import Deps
from tinystack.dashboard.services.records import Profile, Session

VERSION = "tinystack"
NO_PROJECT = "You are not authorized for any projects or domains."
#: Neutron extension alias -> the endpoint name the console looks for (Skyline's
#: ``extension_mapping``)
EXTENSION_NAMES = {
    "floating-ip-port-forwarding": "neutron_port_forwarding",
    "fwaas_v2": "neutron_firewall",
    "qos": "neutron_qos",
    "vpnaas": "neutron_vpn",
}


def _issue(deps: Deps, auth: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    try:
        return deps.session.user_token(auth)
    except ClientError as exc:
        raise LoginFailed(exc.message if exc.status else "identity is not reachable") from exc


def _projects(deps: Deps, token: str) -> list[dict[str, Any]]:
    try:
        response = deps.session.request("identity", "GET", "/auth/projects", token=token)
    except ClientError as exc:
        if exc.status == 401:  # revoked since it was checked: a logout of this session
            raise SessionInvalid(exc.message) from exc
        raise ServiceFailed(exc.status, f"identity: {exc.message}") from exc
    found: list[dict[str, Any]] = response.json().get("projects", [])
    return found


def _default_project(deps: Deps, token: str, user_id: str) -> str | None:
    try:
        response = deps.session.request("identity", "GET", f"/users/{user_id}", token=token)
    except ClientError:
        return None
    value = response.json().get("user", {}).get("default_project_id")
    return str(value) if value else None


def _scoped(deps: Deps, token: str, project_id: str) -> str:
    auth = {
        "identity": {"methods": ["token"], "token": {"id": token}},
        "scope": {"project": {"id": project_id}},
    }
    return _issue(deps, auth)[0]


def login(
    deps: Deps, username: str, password: str, domain: str | None, region: str | None = None
) -> Profile:
    """Authenticate with a password in a region the cloud has (the login page offers the
    contrib regions; upstream finds no identity endpoint for any other: 401), scope to
    the user's project; the new session."""
    if region and region != deps.opts.region:
        raise LoginFailed(f"Region {region} has no identity endpoint.")
    user = {"name": username, "domain": {"name": domain or deps.opts.default_domain}}
    auth = {
        "identity": {"methods": ["password"], "password": {"user": {**user, "password": password}}}
    }
    unscoped, body = _issue(deps, auth)
    enabled = [p for p in _projects(deps, unscoped) if p.get("enabled", True)]
    if not enabled:
        raise LoginFailed(NO_PROJECT)
    default = _default_project(deps, unscoped, str(body["user"]["id"]))
    ids = [str(p["id"]) for p in enabled]
    token = _scoped(deps, unscoped, default if default in ids else ids[0])
    return profile(deps, new_session(deps, token))


def new_session(deps: Deps, token: str) -> Session:
    expires = int(time.time()) + deps.opts.session_seconds
    return Session(token, deps.opts.region, expires, uuid.uuid4().hex)


def check(deps: Deps, cookie: str | None) -> tuple[Session, TokenPayload]:
    """The session of a cookie and its token, validated (signature, expiry, the token
    decrypting, unexpired and not revoked): SessionInvalid otherwise."""
    if not cookie:
        raise SessionInvalid("Token not found.")
    session = deps.signer.loads(cookie)
    try:
        payload = deps.codec.validate_for_request(session.token)
    except NotFound as exc:
        raise SessionInvalid("The token has expired.") from exc
    if deps.revocations.is_revoked(payload):
        raise SessionInvalid("The token has revoked.")
    return session, payload


def renewed(deps: Deps, session: Session) -> Session | None:
    """The session with a new expiry when little of it is left (None: keep it)."""
    if session.expires - time.time() >= deps.opts.session_renew_seconds:
        return None
    expires = int(time.time()) + deps.opts.session_seconds
    return Session(session.token, session.region, expires, session.uuid)


def switch_project(deps: Deps, session: Session, project_id: str) -> Profile:
    ids = {str(p["id"]) for p in _projects(deps, session.token) if p.get("enabled", True)}
    if project_id not in ids:
        raise SessionInvalid("Project not accessible")
    return profile(deps, new_session(deps, _scoped(deps, session.token, project_id)))


def logout(deps: Deps, session: Session) -> None:
    """Revoke the session's token (it may already be invalid: nothing to do then)."""
    try:
        deps.session.revoke_user_token(session.token)
    except ClientError:
        pass


def _token_data(deps: Deps, token: str) -> dict[str, Any]:
    cached = deps.token_data.get(token)
    if cached is not None:
        return dict(cached)
    try:
        body = deps.session.user_token_data(token)
    except ClientError as exc:
        raise SessionInvalid(exc.message) from exc
    deps.token_data.put(token, body)
    return body


def endpoints(deps: Deps, region: str, token: str) -> dict[str, str]:
    """Skyline's ``endpoints`` map: service name -> the pass-through path to it."""
    found = {name: f"/api/openstack/{region.lower()}/{name}" for name in deps.services()}
    if "neutron" in found:
        try:
            response = deps.session.request("network", "GET", "/v2.0/extensions", token=token)
            aliases = {e.get("alias") for e in response.json().get("extensions", [])}
        except ClientError:
            aliases = set()
        for alias, name in EXTENSION_NAMES.items():
            if alias in aliases:
                found[name] = found["neutron"]
    return found


def profile(deps: Deps, session: Session) -> Profile:
    data = _token_data(deps, session.token)
    projects = _projects(deps, session.token)
    user = data["user"]
    document = {
        "keystone_token": session.token,
        "region": session.region,
        "exp": session.expires,
        "uuid": session.uuid,
        "project": data.get("project"),
        "user": {"id": user["id"], "name": user["name"], "domain": user["domain"]},
        "roles": [{"id": r["id"], "name": r["name"]} for r in data.get("roles", [])],
        "keystone_token_exp": data.get("expires_at"),
        "base_domains": [],
        "endpoints": endpoints(deps, session.region, session.token),
        "projects": {
            p["id"]: {
                "name": p["name"],
                "enabled": p.get("enabled", True),
                "domain_id": p.get("domain_id"),
                "domain_name": None,
                "description": p.get("description", ""),
            }
            for p in projects
        },
        "default_project_id": _default_project(deps, session.token, str(user["id"])),
        "version": VERSION,
        "regions": [session.region],
    }
    return Profile(session, document)
