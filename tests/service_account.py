"""The object store account of a service (``AUTH_<service project>``), as its service
user sees it: what the image service's swift store and swift volume backups hold."""

from __future__ import annotations

import httpx

from tests.cloudproc import CloudProcess
from tinystack.deploy import registry


class ServiceAccount:
    """Listings and reads in the account of ``service`` (a registry name: image, volume)."""

    def __init__(self, cloud: CloudProcess, service: str) -> None:
        user = registry.load(service).catalog_name
        body = {
            "auth": {
                "identity": {
                    "methods": ["password"],
                    "password": {
                        "user": {
                            "name": user,
                            "domain": {"name": "Default"},
                            "password": cloud.password(service),
                        }
                    },
                },
                "scope": {"project": {"name": "service", "domain": {"name": "Default"}}},
            }
        }
        resp = httpx.post(f"{cloud.endpoint('identity')}/auth/tokens", json=body, timeout=30)
        assert resp.status_code == 201, resp.text
        project = resp.json()["token"]["project"]["id"]
        self.url = cloud.endpoint("object-store").replace("%(project_id)s", project)
        self.http = httpx.Client(
            headers={"X-Auth-Token": resp.headers["x-subject-token"]}, timeout=60
        )

    def objects(self, container: str, prefix: str = "") -> dict[str, int]:
        """Name -> size of the objects under ``prefix`` (none when no container)."""
        resp = self.http.get(f"{self.url}/{container}", params={"format": "json", "prefix": prefix})
        if resp.status_code == 404:
            return {}
        assert resp.status_code in (200, 204), resp.text
        return {o["name"]: o["bytes"] for o in resp.json()} if resp.content else {}

    def put(self, container: str, name: str, data: bytes) -> None:
        resp = self.http.put(f"{self.url}/{container}/{name}", content=data)
        assert resp.status_code == 201, resp.text
