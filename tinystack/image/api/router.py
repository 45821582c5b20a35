"""The image API's route table, in URL order."""

from __future__ import annotations

from fastapi import FastAPI

from tinystack.image.api import (
    image_data,
    image_members,
    image_tags,
    images,
    info,
    schemas,
    versions,
)


def include_routers(app: FastAPI) -> None:
    for module in (versions, images, image_data, image_tags, image_members, schemas, info):
        app.include_router(module.router)
