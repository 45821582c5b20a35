"""The pass-through: ``/api/openstack/<region>/<service>/<path>`` is sent to the root of
that service's URL (its URL without the version or ``AUTH_<project>`` part, as Skyline's
nginx does), with the session's token; the answer comes back unchanged."""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import urlsplit

import httpx

from tinystack.common.exceptions import NotFound
from tinystack.dashboard.services.deps import Deps
from tinystack.dashboard.services.records import Forwarded

#: request headers passed on (the console's microversions, content negotiation, Swift's)
_KEEP = re.compile(
    r"^(accept|content-type|content-length|openstack-api-version|x-openstack-.*|"
    r"x-object-.*|x-container-.*|x-account-.*|x-delete-.*|x-copy-from|destination|"
    r"if-.*|range|x-image-meta-.*|x-openstack-request-id)$",
    re.IGNORECASE,
)
#: response headers not passed back (hop-by-hop, or recomputed by the server)
_DROP = {"connection", "keep-alive", "transfer-encoding", "content-encoding", "content-length",
         "server", "date"}  # fmt: skip
_VERSIONED = re.compile(r"/v\d+(\.\d+)?$")


def service_root(url: str) -> str:
    """A catalog URL without its version or project part (Skyline's proxy location)."""
    parts = urlsplit(url)
    path = parts.path.rstrip("/")
    if "%(" in path or "$(" in path:
        path = path.rsplit("/", 2)[0]
    elif _VERSIONED.search(path):
        path = path.rsplit("/", 1)[0]
    return f"{parts.scheme}://{parts.netloc}{path}"


def forward(
    deps: Deps,
    region: str,
    service: str,
    request: tuple[str, str, str],
    headers: Mapping[str, str],
    body: bytes,
    token: str,
) -> Forwarded:
    """Send (method, path, query) to the service named Skyline's way; its answer."""
    method, path, query = request
    entry = deps.services().get(service)
    if entry is None or region.lower() != deps.opts.region.lower():
        raise NotFound(f"No service {service!r} in region {region!r}.")
    url = f"{service_root(entry.url)}/{path}"
    send = {k: v for k, v in headers.items() if _KEEP.match(k)}
    send["X-Auth-Token"] = token
    response = deps.http.request(method, url, params=query or None, headers=send, content=body)
    kept = tuple((k, v) for k, v in response.headers.multi_items() if k.lower() not in _DROP)
    return Forwarded(response.status_code, kept, response.content)


def client() -> httpx.Client:
    return httpx.Client(timeout=120, limits=httpx.Limits(max_connections=64))
