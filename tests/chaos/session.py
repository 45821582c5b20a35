"""An admin session on a running cloud for the chaos tests, the invariant checker and
the soak benchmark: a token, the catalog's public URLs and one HTTP client per service.

Only the cloud's URL and the admin password are needed, so it works as well on a
``tinystack up``, on services in separate processes and (the soak) on any OpenStack.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import httpx

#: the microversion headers the workload speaks
VERSIONS = {
    "compute": "compute 2.79",
    "placement": "placement 1.39",
    "block-storage": "volume 3.67",
}


@dataclass
class Session:
    auth_url: str
    password: str
    user: str = "admin"
    project: str = "admin"
    token: str = ""
    project_id: str = ""
    urls: dict[str, str] = field(default_factory=dict)
    _clients: dict[str, httpx.Client] = field(default_factory=dict)

    def login(self, timeout: float = 60) -> Session:
        """Ask identity for a project-scoped token (retried while the cloud starts)."""
        body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": self.user, "domain": {"id": "default"}, "password": self.password}}},
            "scope": {"project": {"name": self.project, "domain": {"id": "default"}}}}}  # fmt: skip
        deadline = time.monotonic() + timeout
        while True:
            try:
                resp = httpx.post(f"{self.auth_url}/auth/tokens", json=body, timeout=30)
                if resp.status_code == 201:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"no token from {self.auth_url}")
            time.sleep(0.2)
        self.token = resp.headers["x-subject-token"]
        token = resp.json()["token"]
        self.project_id = token["project"]["id"]
        for entry in token["catalog"]:
            for endpoint in entry["endpoints"]:
                if endpoint["interface"] == "public":
                    self.urls[entry["type"]] = endpoint["url"].rstrip("/")
        for client in self._clients.values():
            client.close()
        self._clients.clear()
        return self

    def client(self, service_type: str) -> httpx.Client:
        if service_type not in self._clients:
            headers = {"X-Auth-Token": self.token}
            if service_type in VERSIONS:
                headers["OpenStack-API-Version"] = VERSIONS[service_type]
            self._clients[service_type] = httpx.Client(
                base_url=self.urls[service_type], headers=headers, timeout=60
            )
        return self._clients[service_type]

    def get(self, service_type: str, path: str, **kw: Any) -> Any:
        """GET that must answer 200; the JSON body."""
        resp = self.client(service_type).get(path, **kw)
        assert resp.status_code == 200, f"GET {service_type} {path}: {resp.status_code} {resp.text}"
        return resp.json()

    def has(self, service_type: str) -> bool:
        return service_type in self.urls

    def close(self) -> None:
        for client in self._clients.values():
            client.close()
        self._clients.clear()
