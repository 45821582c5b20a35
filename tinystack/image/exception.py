"""The image service's exceptions, with the status and message Glance answers."""

from __future__ import annotations

from collections.abc import Iterable

from tinystack.common.exceptions import BadRequest, Conflict, NotFound, UnsupportedMediaType


class ImageNotFound(NotFound):
    """No such image, or one the caller may not see (never tell which)."""

    def __init__(self, image_id: str) -> None:
        super().__init__(f"No image found with ID {image_id}")


class InvalidImageStatusTransition(Conflict):
    def __init__(self, current: str, new: str) -> None:
        super().__init__(f"Image status transition from {current} to {new} is not allowed")


class InvalidImageData(BadRequest):
    """The uploaded data does not match the image's disk format, or is unsafe."""


class PatchMediaTypeError(UnsupportedMediaType):
    """An image PATCH whose Content-Type is not a JSON-patch media type (with Accept-Patch)."""

    def __init__(self, media_types: Iterable[str]) -> None:
        allowed = ", ".join(sorted(media_types))
        super().__init__(f"Image PATCH expects Content-Type one of: {allowed}")
        self.headers = {"Accept-Patch": allowed}
