"""Image service (Glance v2) client: show, list, create, upload, add a location, delete."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from tinystack.common.clients.session import ClientNotFound, Session

PATCH_TYPE = "application/openstack-images-v2.1-json-patch"


class ImageClient:
    def __init__(self, session: Session) -> None:
        self.session = session

    def available(self) -> bool:
        return self.session.has_service("image")

    def get(self, image_id: str, *, token: str | None = None) -> dict[str, Any] | None:
        """The image as ``token``'s owner sees it (the service's view without a token)."""
        try:
            response = self.session.request("image", "GET", f"/v2/images/{image_id}", token=token)
        except ClientNotFound:
            return None
        result: dict[str, Any] = response.json()
        return result

    def list_images(
        self,
        params: dict[str, str],
        *,
        token: str | None = None,
        limit: int = 1000,
        follow: bool = True,
    ) -> list[dict[str, Any]]:
        """The images matching ``params`` (glance filters): every page, or the first."""
        found: list[dict[str, Any]] = []
        query: dict[str, str] = {**params, "limit": str(limit)}
        while True:
            response = self.session.request("image", "GET", "/v2/images", params=query, token=token)
            page = response.json()
            images = page.get("images", [])
            found.extend(images)
            if not follow or not page.get("next") or not images:
                return found
            query = {**query, "marker": images[-1]["id"]}

    def create(self, body: dict[str, Any], *, token: str | None = None) -> dict[str, Any]:
        response = self.session.request(
            "image", "POST", "/v2/images", json_body=body, token=token, ok=(201,)
        )
        result: dict[str, Any] = response.json()
        return result

    def upload(
        self, image_id: str, data: bytes | Iterable[bytes], *, token: str | None = None
    ) -> None:
        self.session.request(
            "image",
            "PUT",
            f"/v2/images/{image_id}/file",
            content=data,
            headers={"Content-Type": "application/octet-stream"},
            token=token,
            ok=(204,),
        )

    def add_location(self, image_id: str, url: str, *, token: str | None = None) -> None:
        """Give a queued image the data at ``url`` (Glance's location API, 2.17: a
        service's location in one of the image stores)."""
        self.session.request(
            "image",
            "POST",
            f"/v2/images/{image_id}/locations",
            json_body={"url": url},
            token=token,
            ok=(202,),
        )

    def update(
        self, image_id: str, changes: list[dict[str, Any]], *, token: str | None = None
    ) -> dict[str, Any]:
        response = self.session.request(
            "image",
            "PATCH",
            f"/v2/images/{image_id}",
            content=json.dumps(changes).encode(),
            headers={"Content-Type": PATCH_TYPE},
            token=token,
        )
        result: dict[str, Any] = response.json()
        return result

    def delete(self, image_id: str, *, token: str | None = None) -> bool:
        try:
            self.session.request("image", "DELETE", f"/v2/images/{image_id}", token=token)
        except ClientNotFound:
            return False
        return True
