"""What the tests of a real cloud (``tests/cloudproc.py``) share: an HTTP client that
speaks one service's microversion and asserts statuses, and the module-scoped factory
of clouds behind each area's ``make_env`` fixture.

An area subclasses :class:`Api` naming its microversion header's service type, and
builds its fixture with :func:`cloud_factory`::

    class Api(cloudapi.Api):
        service_type = "volume"

    @pytest.fixture(scope="module")
    def make_env(tmp_path_factory):
        yield from cloud_factory(tmp_path_factory, Env, SERVICES, volume_conf())
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Self, TypeVar

import httpx
import pytest

from tests.cloudproc import CloudProcess

E = TypeVar("E")


class Api:
    """HTTP to one service with a token and (``service_type`` set) a microversion."""

    #: the service type of ``OpenStack-API-Version`` ("" sends no version)
    service_type = ""

    def __init__(self, base: str, token: str, version: str | None = "latest") -> None:
        headers = {"X-Auth-Token": token}
        if version and self.service_type:
            headers["OpenStack-API-Version"] = f"{self.service_type} {version}"
        self.base = base
        self.http = httpx.Client(base_url=base, headers=headers, timeout=60)
        self.token = token

    def at(self, version: str | None) -> Self:
        """The same client at another microversion (None: no header)."""
        return type(self)(self.base, self.token, version)

    def request(self, method: str, path: str, status: int | None = None, **kw: Any) -> Any:
        response = self.http.request(method, path, **kw)
        if status is not None:
            assert response.status_code == status, (
                f"{method} {path}: {response.status_code} {response.text[:500]}"
            )
        return response

    def get(self, path: str, status: int | None = 200, **kw: Any) -> Any:
        return self.request("GET", path, status, **kw)

    def post(self, path: str, json: Any = None, status: int | None = None, **kw: Any) -> Any:
        return self.request("POST", path, status, json=json, **kw)

    def put(self, path: str, json: Any = None, status: int | None = None, **kw: Any) -> Any:
        return self.request("PUT", path, status, json=json, **kw)

    def delete(self, path: str, status: int | None = None, **kw: Any) -> Any:
        return self.request("DELETE", path, status, **kw)


def cloud_factory(
    tmp_path_factory: pytest.TempPathFactory,
    make_env: Callable[[CloudProcess], E],
    default_services: list[str],
    default_conf: str = "",
) -> Iterator[Callable[..., E]]:
    """A module fixture's body: yields ``make(extra_conf="", services=None)``, which
    starts a cloud (``default_services`` and ``default_conf`` unless given) and wraps it
    with ``make_env``; every cloud it started is stopped afterwards."""
    clouds: list[CloudProcess] = []

    def make(extra_conf: str = "", services: list[str] | None = None) -> E:
        state = Path(tmp_path_factory.mktemp("cloud"))
        cloud = CloudProcess(state, services or default_services, extra_conf or default_conf)
        cloud.start(timeout=120)
        clouds.append(cloud)
        return make_env(cloud)

    try:
        yield make
    finally:
        for cloud in clouds:
            cloud.stop()
