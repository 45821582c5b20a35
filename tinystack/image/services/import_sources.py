"""Where imported data comes from: a web server (web-download, import tasks) or the image
service of another region (glance-download).

Web downloads follow redirects one hop at a time, each hop checked against the
import filter, so a permitted URL cannot redirect the service anywhere else.
glance-download finds the other region's image endpoint in the identity catalog of
the caller's token (``GET /v3/auth/catalog``) and reads the remote image and its
data with that token, as upstream does with the request context.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

import httpx

from tinystack.image.conf import Options
from tinystack.image.exception import InvalidImageData
from tinystack.image.services import import_filter

MAX_REDIRECTS = 5
TIMEOUT = httpx.Timeout(60.0, connect=10.0)
CHUNK = 1024 * 1024


class SourceError(InvalidImageData):
    """The source could not be read (its message ends up in the task)."""


@contextlib.contextmanager
def web_stream(opts: Options, uri: str) -> Iterator[Iterator[bytes]]:
    """The body of ``uri``, chunk by chunk, after filtered redirects."""
    with httpx.Client(timeout=TIMEOUT, follow_redirects=False) as client:
        url = uri
        for _ in range(MAX_REDIRECTS + 1):
            if not import_filter.allowed(opts, url):
                raise SourceError(f"URI for web-download does not pass filtering: {url}")
            try:
                with client.stream("GET", url) as response:
                    opts.outbound.check_peer(response)
                    if response.is_redirect and "location" in response.headers:
                        url = urljoin(url, response.headers["location"])
                        continue
                    if response.status_code >= 400:
                        raise SourceError(f"{url} answered {response.status_code}")
                    yield response.iter_bytes(CHUNK)
                    return
            except httpx.HTTPError as exc:
                raise SourceError(f"Cannot download {url}: {exc}") from None
        raise SourceError(f"Too many redirects from {uri}")


@dataclass(frozen=True, slots=True)
class RemoteImage:
    endpoint: str
    token: str
    image: dict[str, Any]


def _image_endpoint(
    client: httpx.Client, auth_url: str, token: str, region: str, iface: str
) -> str:
    try:
        response = client.get(
            f"{auth_url.rstrip('/')}/auth/catalog", headers={"X-Auth-Token": token}
        )
    except httpx.HTTPError as exc:
        raise SourceError(f"Cannot reach identity: {exc}") from None
    if response.status_code != 200:
        raise SourceError(f"Identity answered {response.status_code} for the catalog")
    for service in response.json().get("catalog", []):
        if service.get("type") != "image":
            continue
        for endpoint in service.get("endpoints", []):
            in_region = region in (endpoint.get("region"), endpoint.get("region_id"))
            if in_region and endpoint.get("interface") == iface:
                return str(endpoint["url"]).rstrip("/")
    raise SourceError(f"No image service for region {region!r} and interface {iface!r}")


def remote_image(auth_url: str, token: str | None, remote: dict[str, str]) -> RemoteImage:
    """The remote image's record (it must be active), and where to read its data."""
    if not token or not auth_url:
        raise SourceError("glance-download needs the caller's token and the identity service")
    with httpx.Client(timeout=TIMEOUT) as client:
        endpoint = _image_endpoint(client, auth_url, token, remote["region"], remote["interface"])
        url = f"{endpoint}/v2/images/{remote['image_id']}"
        try:
            response = client.get(url, headers={"X-Auth-Token": token})
        except httpx.HTTPError as exc:
            raise SourceError(f"Cannot reach the remote image service: {exc}") from None
    if response.status_code != 200:
        raise SourceError(f"The remote image service answered {response.status_code} for {url}")
    image: dict[str, Any] = response.json()
    if image.get("status") != "active":
        raise SourceError(f"The remote image is {image.get('status')}, not active")
    return RemoteImage(endpoint, token, image)


@contextlib.contextmanager
def remote_data(remote: RemoteImage) -> Iterator[Iterator[bytes]]:
    url = f"{remote.endpoint}/v2/images/{remote.image['id']}/file"
    with httpx.Client(timeout=TIMEOUT) as client:
        try:
            with client.stream("GET", url, headers={"X-Auth-Token": remote.token}) as response:
                if response.status_code != 200:
                    raise SourceError(f"The remote image service answered {response.status_code}")
                yield response.iter_bytes(CHUNK)
        except httpx.HTTPError as exc:
            raise SourceError(f"Cannot download the remote image: {exc}") from None


def copied_properties(opts: Options, image: Mapping[str, object]) -> dict[str, str]:
    """The remote image's properties glance-download copies (``glance_download_properties``)."""
    wanted = opts.glance_download_properties
    return {
        key: str(value)
        for key, value in image.items()
        if isinstance(value, str | int | float) and any(key.startswith(w) for w in wanted)
    }
