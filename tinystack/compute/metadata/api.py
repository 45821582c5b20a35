"""The metadata API app: what upstream's nova-api-metadata serves on port 8775.

Guests never reach it directly: the network service's metadata proxy identifies the
instance behind a request to 169.254.169.254 and forwards it here with ``X-Instance-ID``,
``X-Tenant-ID``, ``X-Forwarded-For`` and ``X-Instance-ID-Signature``, the hex HMAC-SHA256
of the instance id keyed with the shared secret. A request without a matching signature
gets 403 (with an empty secret the key is empty: the signature is still required and
still checked, it just protects nothing an attacker on the API network could not
compute), one for another project's instance 403, one for an unknown or deleted
instance 404, and any path outside the trees 404.

``/openstack[/<version>[/<file>]]`` is the OpenStack layout, everything else the EC2
one: ``/`` (versions), ``/<version>/`` (meta-data/, user-data, dynamic/) and the
meta-data tree below it (directories listed with a trailing ``/``).

``/openstack/<version>/password`` (from 2013-04-04) is the one writable file: a guest
POSTs its password there once, encrypted with its own key pair (as cloudbase-init
does), for ``GET /servers/{id}/os-server-password`` to hand out. A second POST while
one is set gets 409 and a body over 256 bytes 400; the file is never cached.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import logging
import posixpath
from dataclasses import dataclass
from typing import Any

from anyio import from_thread
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tinystack.common.api.body_limit import BodyLimitMiddleware
from tinystack.common.db import Database
from tinystack.common.timeutils import TTLCache
from tinystack.compute import exception
from tinystack.compute.metadata import content
from tinystack.compute.objects import VIF, InstanceMeta
from tinystack.compute.services import instances

LOG = logging.getLogger(__name__)
TEXT = "text/plain"
JSON = "application/json"
BAD_SIGNATURE = "Invalid proxy request signature."
PASSWORD = "password"
PASSWORD_SINCE = "2013-04-04"
#: upstream's limit on a posted password
MAX_PASSWORD = 256


def sign(secret: str, instance_id: str) -> str:
    """The ``X-Instance-ID-Signature`` the metadata proxy sends for ``instance_id``."""
    return hmac.new(secret.encode(), instance_id.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class InstanceData:
    """What the metadata of one instance is built from (its row, read once)."""

    instance: InstanceMeta
    vifs: tuple[VIF, ...]


def load(db: Database, uuid: str, name_template: str = "instance-%08x") -> InstanceData | None:
    """The instance's metadata sources, or None when it does not exist (or was deleted)."""
    try:
        row = instances.get(db, uuid)
    except exception.InstanceNotFound:
        return None
    meta = dataclasses.replace(
        instances.meta(row), name=instances.instance_name(row, name_template)
    )
    return InstanceData(meta, tuple(instances.vifs(row)))


def _text(body: str | bytes, status: int = 200) -> Response:
    return Response(body, status_code=status, media_type=TEXT)


def _not_found() -> Response:
    return _text("Not Found", 404)


def _ec2_format(node: Any) -> Response:
    """A node of the EC2 tree as upstream renders it: dictionaries as sorted listings
    (sub-dictionaries with a trailing ``/`` or their ``_name``), lists one item a line."""
    if isinstance(node, dict):
        lines = []
        for key in sorted(node):
            if key == "_name":
                continue
            value = node[key]
            if isinstance(value, dict):
                lines.append(str(value.get("_name", f"{key}/")))
            else:
                lines.append(key)
        return _text("\n".join(lines))
    if isinstance(node, list):
        return _text("\n".join(str(v) for v in node))
    if isinstance(node, bytes):
        return _text(node)
    return _text(str(node))


class MetadataHandler:
    """Verifies the proxy's headers, loads the instance and serves one path of its trees."""

    def __init__(
        self,
        db: Database,
        secret: str,
        *,
        name_template: str = "instance-%08x",
        cache_seconds: float = 15.0,
    ) -> None:
        self.db = db
        self.secret = secret
        self.name_template = name_template
        self.cache: TTLCache[InstanceData] = TTLCache(cache_seconds)

    def instance(self, uuid: str) -> InstanceData | None:
        found: InstanceData | None = self.cache.get(uuid)
        if found is None:
            found = load(self.db, uuid, self.name_template)
            if found is not None:
                self.cache.put(uuid, found)
        return found

    def __call__(self, request: Request) -> Response:
        headers = request.headers
        instance_id = headers.get("x-instance-id", "")
        signature = headers.get("x-instance-id-signature", "")
        remote = headers.get("x-forwarded-for", "")
        if not instance_id:
            LOG.warning("metadata request from %s without X-Instance-ID", remote or "?")
            return _text(BAD_SIGNATURE, 403)
        if not hmac.compare_digest(sign(self.secret, instance_id), signature):
            LOG.warning(
                "X-Instance-ID-Signature does not match for instance %s (request from %s)",
                instance_id,
                remote or "?",
            )
            return _text(BAD_SIGNATURE, 403)
        data = self.instance(instance_id)
        if data is None:
            return _not_found()
        tenant = headers.get("x-tenant-id")
        if tenant and tenant != data.instance.project_id:
            LOG.warning(
                "X-Tenant-ID %s does not own instance %s (request from %s)",
                tenant,
                instance_id,
                remote or "?",
            )
            return _text(BAD_SIGNATURE, 403)
        path = posixpath.normpath("/" + str(request.path_params.get("path", "")))
        tokens = [t for t in path.split("/") if t]
        is_password = (
            len(tokens) == 3
            and tokens[0] == "openstack"
            and tokens[2] == PASSWORD
            and tokens[1] in content.OPENSTACK_VERSIONS
            and content.since(tokens[1], PASSWORD_SINCE)
        )
        if is_password:
            return self.password(instance_id, request)
        if request.method != "GET":
            return _text("Method Not Allowed", 405)
        if tokens and tokens[0] == "openstack":
            return self.openstack(data, tokens[1:])
        return self.ec2(data, tokens)

    def password(self, instance_id: str, request: Request) -> Response:
        try:
            if request.method == "GET":
                return _text(instances.password(self.db, instance_id))
            body = request.state.body
            if len(body) > MAX_PASSWORD:
                return _text("Request is too large.", 400)
            if not instances.set_password_once(self.db, instance_id, body.decode(errors="replace")):
                return _text("A password is already set.", 409)
        except exception.InstanceNotFound:
            return _not_found()
        return _text("")

    @staticmethod
    def openstack(data: InstanceData, tokens: list[str]) -> Response:
        if not tokens:
            return _text("\n".join(content.OPENSTACK_VERSIONS))
        version, rest = tokens[0], tokens[1:]
        if version not in content.OPENSTACK_VERSIONS or len(rest) > 1:
            return _not_found()
        if not rest:
            has_user_data = content.user_data_bytes(data.instance.user_data) is not None
            files = content.openstack_files(version, has_user_data)
            if content.since(version, PASSWORD_SINCE):  # upstream lists it after user_data
                files.insert(files.index(content.USER_DATA) + 1 if has_user_data else 1, PASSWORD)
            return _text("\n".join(files))
        body = content.openstack_file(rest[0], version, data.instance, list(data.vifs))
        if body is None:
            return _not_found()
        return Response(body, media_type=JSON if rest[0].endswith(".json") else TEXT)

    @staticmethod
    def ec2(data: InstanceData, tokens: list[str]) -> Response:
        if not tokens:
            return _text("\n".join(content.EC2_VERSIONS))
        version, rest = tokens[0], tokens[1:]
        if version not in content.EC2_VERSIONS:
            return _not_found()
        node: Any = content.ec2_tree(data.instance, list(data.vifs), version)
        for token in rest:
            if not isinstance(node, dict) or token == "_name" or token not in node:
                return _not_found()
            node = node[token]
        return _ec2_format(node)


def create_app(
    db: Database,
    secret: str,
    *,
    name_template: str = "instance-%08x",
    cache_seconds: float = 15.0,
) -> Starlette:
    """The metadata API over compute's database; ``secret`` keys the proxy's signatures."""
    handler = MetadataHandler(db, secret, name_template=name_template, cache_seconds=cache_seconds)

    def serve(request: Request) -> Response:
        # a sync endpoint (run in the thread pool); a posted password's body is read
        # through the event loop that serves the request
        request.state.body = from_thread.run(request.body) if request.method == "POST" else b""
        return handler(request)

    def refuse(request: Request, status: int, message: str) -> Response:
        return _text(message, status)

    # a guest's body beyond the common limit (114688) is refused before it is read; the
    # password's own 256-byte limit (400) stays the handler's, after the signature check
    return Starlette(
        routes=[Route("/{path:path}", serve, methods=["GET", "POST"])],
        middleware=[Middleware(BodyLimitMiddleware, refuse=refuse)],
    )
