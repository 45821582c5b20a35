"""A keystone-style session: service token, endpoint lookup, one pooled HTTP client.

This is the one implementation of Keystone password authentication and the cached
service token: every service-to-service call and every poller goes through a
:class:`Session` (never a hand-written ``POST /v3/auth/tokens``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import httpx

from tinystack.common.cloud import CatalogEntry, ServiceCredentials
from tinystack.common.timeutils import parse_isotime

LOG = logging.getLogger(__name__)

#: re-issue the service token this many seconds before it expires
EXPIRY_MARGIN = 120.0
#: the placeholders of catalog URLs Keystone fills in with the token's project
PROJECT_PLACEHOLDERS = ("%(project_id)s", "%(tenant_id)s", "$(project_id)s", "$(tenant_id)s")


class ClientError(Exception):
    """Another service answered with an error (or could not be reached: status 0)."""

    def __init__(self, service: str, status: int, message: str, body: Any = None) -> None:
        self.service = service
        self.status = status
        self.message = message
        self.body = body
        super().__init__(f"{service} answered {status}: {message}")


class ClientNotFound(ClientError):
    pass


class ClientConflict(ClientError):
    pass


class EndpointNotFound(ClientError):
    def __init__(self, service_type: str) -> None:
        super().__init__(service_type, 0, f"no {service_type} endpoint in the catalog")


def _error_message(response: httpx.Response) -> tuple[str, Any]:
    """The human message of an OpenStack error body, whatever the service's style."""
    try:
        body = response.json()
    except (ValueError, json.JSONDecodeError):
        return response.text.strip()[:500] or response.reason_phrase, None
    if isinstance(body, dict):
        if isinstance(body.get("errors"), list) and body["errors"]:
            first = body["errors"][0]
            return str(first.get("detail") or first.get("title")), body
        for value in body.values():
            if isinstance(value, dict) and "message" in value:
                return str(value["message"]), body
        if isinstance(body.get("description"), str):  # Gnocchi's errors
            return str(body["description"]), body
    return response.text[:500], body


def _parse_expiry(raw: str | None) -> float:
    if not raw:
        return time.time() + 3600
    try:
        return parse_isotime(raw).timestamp()
    except ValueError:
        return time.time() + 3600


class Session:
    """Authenticated HTTP to the other services of the cloud; safe to share between threads."""

    def __init__(
        self,
        auth_url: str,
        credentials: ServiceCredentials | None,
        catalog: Iterable[CatalogEntry] = (),
        *,
        timeout: float = 60.0,
        max_connections: int = 64,
    ) -> None:
        self.auth_url = auth_url.rstrip("/")
        self.credentials = credentials
        self._catalog = {entry.service_type: entry.url.rstrip("/") for entry in catalog}
        self._http = httpx.Client(
            timeout=timeout,
            limits=httpx.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            ),
        )
        self._lock = threading.Lock()
        self._token: str | None = None
        self._project_id = ""
        self._user_id = ""
        self._expires = 0.0
        self._token_catalog: dict[str, str] = {}

    # -- endpoints -----------------------------------------------------------------------------
    def has_service(self, service_type: str) -> bool:
        return service_type in self._catalog or service_type in self._token_catalog

    def endpoint(self, service_type: str) -> str:
        """The public URL of ``service_type``: from the catalog given, else from the catalog
        of the service token; identity is always reachable at ``auth_url``. A URL with a
        project placeholder (the object store's ``/v1/AUTH_%(project_id)s``) is filled in
        with the service token's project, as Keystone fills in a token's catalog."""
        url = self._catalog.get(service_type) or self._token_catalog.get(service_type)
        if url is None and service_type == "identity" and self.auth_url:
            return self.auth_url
        if url is None and self.credentials is not None and not self._catalog:
            self.token()  # the token's catalog may know it
            url = self._token_catalog.get(service_type)
        if url is None:
            raise EndpointNotFound(service_type)
        if any(p in url for p in PROJECT_PLACEHOLDERS):
            project_id = self.project_id()
            for placeholder in PROJECT_PLACEHOLDERS:
                url = url.replace(placeholder, project_id)
        return url

    def project_id(self) -> str:
        """The project the service token is scoped to (the service project)."""
        self.token()
        return self._project_id

    def user_id(self) -> str:
        """The service user's id (what a trust names as its trustee)."""
        self.token()
        return self._user_id

    # -- the service token ---------------------------------------------------------------------
    def token(self, *, refresh: bool = False) -> str:
        with self._lock:
            if not refresh and self._token and time.time() < self._expires - EXPIRY_MARGIN:
                return self._token
            self._token, self._expires = self._authenticate()
            return self._token

    def _password_auth(self, scope: Mapping[str, Any] | None) -> dict[str, Any]:
        if self.credentials is None or not self.auth_url:
            raise ClientError("identity", 0, "this service has no credentials to authenticate")
        c = self.credentials
        default = {"project": {"name": c.project_name, "domain": {"name": c.domain_name}}}
        return {
            "auth": {
                "identity": {
                    "methods": ["password"],
                    "password": {
                        "user": {
                            "name": c.username,
                            "domain": {"name": c.domain_name},
                            "password": c.password,
                        }
                    },
                },
                "scope": dict(scope) if scope is not None else default,
            }
        }

    def _authenticate(self) -> tuple[str, float]:
        body = self._password_auth(None)
        try:
            response = self._http.post(f"{self.auth_url}/auth/tokens", json=body)
        except httpx.HTTPError as exc:
            raise ClientError("identity", 0, f"cannot reach identity: {exc}") from exc
        if response.status_code != 201:
            message, payload = _error_message(response)
            raise ClientError("identity", response.status_code, message, payload)
        token_body = response.json().get("token", {})
        self._remember_catalog(token_body.get("catalog") or [])
        self._project_id = str((token_body.get("project") or {}).get("id") or "")
        self._user_id = str((token_body.get("user") or {}).get("id") or "")
        return response.headers["x-subject-token"], _parse_expiry(token_body.get("expires_at"))

    def trust_token(self, trust_id: str) -> tuple[str, str]:
        """A token scoped to ``trust_id``, the service user being its trustee (Aodh's
        ``trust+http`` actions), and the trust's trustor: the token acts as the trustor
        (with impersonation) with the trust's roles on the trust's project."""
        scope = {"OS-TRUST:trust": {"id": trust_id}}
        token, body = self.user_token(self._password_auth(scope)["auth"])
        trust = body.get("OS-TRUST:trust") or {}
        return token, str((trust.get("trustor_user") or {}).get("id") or "")

    # -- a user's own tokens (a dashboard login) ------------------------------------------------
    def user_token(self, auth: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        """Ask identity for a token for a user's own credentials or token (``auth`` is the
        request's ``auth`` object): answers the token and its body's ``token``."""
        try:
            response = self._http.post(f"{self.auth_url}/auth/tokens", json={"auth": auth})
        except httpx.HTTPError as exc:
            raise ClientError("identity", 0, f"cannot reach identity: {exc}") from exc
        if response.status_code != 201:
            message, payload = _error_message(response)
            raise ClientError("identity", response.status_code, message, payload)
        body: dict[str, Any] = response.json().get("token", {})
        return response.headers["x-subject-token"], body

    def user_token_data(self, token: str) -> dict[str, Any]:
        """The body of a user's token, read with that token itself."""
        headers = {"X-Auth-Token": token, "X-Subject-Token": token}
        response = self._send_raw("GET", "/auth/tokens", headers)
        body: dict[str, Any] = response.json().get("token", {})
        return body

    def revoke_user_token(self, token: str) -> None:
        """Revoke a user's token with that token itself (a dashboard logout)."""
        self._send_raw("DELETE", "/auth/tokens", {"X-Auth-Token": token, "X-Subject-Token": token})

    def _send_raw(self, method: str, path: str, headers: Mapping[str, str]) -> httpx.Response:
        try:
            response = self._http.request(method, f"{self.auth_url}{path}", headers=headers)
        except httpx.HTTPError as exc:
            raise ClientError("identity", 0, f"cannot reach identity: {exc}") from exc
        if response.status_code not in (200, 204):
            message, payload = _error_message(response)
            cls = ClientNotFound if response.status_code == 404 else ClientError
            raise cls("identity", response.status_code, message, payload)
        return response

    def _remember_catalog(self, catalog: list[dict[str, Any]]) -> None:
        found = {}
        for service in catalog:
            for ep in service.get("endpoints", []):
                if ep.get("interface") == "public" and service.get("type"):
                    found[service["type"]] = str(ep["url"]).rstrip("/")
        self._token_catalog = found

    # -- requests ------------------------------------------------------------------------------
    def request(
        self,
        service_type: str,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        content: bytes | Iterable[bytes] | None = None,
        params: Mapping[str, Any] | list[tuple[str, Any]] | None = None,
        headers: Mapping[str, str] | None = None,
        token: str | None = None,
        ok: tuple[int, ...] = (200, 201, 202, 204),
    ) -> httpx.Response:
        """Send a request to ``service_type``; raise :class:`ClientError` unless ``ok``.

        ``token`` is a user's token to act as that user, sent with the service token as
        ``X-Service-Token`` (so the user's application credential access rules, which
        name the service the user called, do not refuse this service-to-service call);
        without it the service token is used (and re-issued once on a 401, unless the
        body is an iterable, which cannot be sent twice). An iterable ``content`` goes
        out with chunked transfer encoding.
        """
        return self._send(
            service_type, method, path, json_body=json_body, content=content,
            params=params, headers=headers, token=token, ok=ok, stream=False,
        )  # fmt: skip

    @contextlib.contextmanager
    def stream(
        self,
        service_type: str,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | list[tuple[str, Any]] | None = None,
        headers: Mapping[str, str] | None = None,
        token: str | None = None,
        ok: tuple[int, ...] = (200, 206),
    ) -> Iterator[httpx.Response]:
        """Like :meth:`request`, with the response body not read yet: iterate
        ``response.iter_bytes()`` inside the ``with``; the connection is released at its
        end."""
        response = self._send(
            service_type, method, path, json_body=None, content=None, params=params,
            headers=headers, token=token, ok=ok, stream=True,
        )  # fmt: skip
        try:
            yield response
        finally:
            response.close()

    def _send(
        self,
        service_type: str,
        method: str,
        path: str,
        *,
        json_body: Any,
        content: bytes | Iterable[bytes] | None,
        params: Mapping[str, Any] | list[tuple[str, Any]] | None,
        headers: Mapping[str, str] | None,
        token: str | None,
        ok: tuple[int, ...],
        stream: bool,
    ) -> httpx.Response:
        url = self.endpoint(service_type) + _quote_controls(path)
        send_headers = dict(headers or {})
        replayable = content is None or isinstance(content, bytes)
        use_service_token = token is None
        if token is not None and self.credentials is not None:
            with contextlib.suppress(ClientError):
                send_headers["X-Service-Token"] = self.token()
        for attempt in (1, 2):
            send_headers["X-Auth-Token"] = token if token is not None else self.token()
            try:
                request = self._http.build_request(
                    method, url, json=json_body, content=content, params=params,
                    headers=send_headers,
                )  # fmt: skip
                response = self._http.send(request, stream=stream)
            except httpx.HTTPError as exc:
                raise ClientError(service_type, 0, f"cannot reach {service_type}: {exc}") from exc
            if response.status_code == 401 and use_service_token and replayable and attempt == 1:
                response.close()
                self.token(refresh=True)
                continue
            break
        if response.status_code not in ok:
            if stream:
                try:
                    response.read()
                except httpx.HTTPError as exc:
                    raise ClientError(service_type, response.status_code, str(exc)) from exc
                finally:
                    response.close()
            message, payload = _error_message(response)
            cls = {404: ClientNotFound, 409: ClientConflict}.get(response.status_code, ClientError)
            raise cls(service_type, response.status_code, message, payload)
        return response

    def close(self) -> None:
        self._http.close()


_CONTROLS = re.compile(r"[\x00-\x1f\x7f]")


def _quote_controls(path: str) -> str:
    """``path`` with control characters percent-encoded (an id a caller
    passed on may hold them; httpx refuses to build such a URL, the service it names
    answers 404 for it)."""
    return _CONTROLS.sub(lambda m: f"%{ord(m.group()):02X}", path)
