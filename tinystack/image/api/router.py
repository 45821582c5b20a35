"""The image API's route table: every route, in URL order; handlers live in resource modules.

``body`` declares a write route's request body for the OpenAPI document
(:mod:`tinystack.image.api.schemas`); the handlers read and check it themselves.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from fastapi import FastAPI

from tinystack.image.api import (
    image_data,
    image_members,
    image_tags,
    images,
    info,
    json_schemas,
    versions,
)
from tinystack.image.api.schemas import (
    IMAGE_CREATE,
    IMAGE_DATA,
    IMAGE_IMPORT,
    IMAGE_PATCH,
    MEMBER_CREATE,
    MEMBER_UPDATE,
    RequestBody,
)


class Route(NamedTuple):
    method: str
    path: str
    handler: Callable[..., Any]
    status: int = 200
    body: RequestBody | None = None


IMAGE = "/v2/images/{image_id}"
MEMBER = IMAGE + "/members/{member_id}"

# fmt: off
ROUTES = (
    Route("GET",    "/",                           versions.root),
    Route("GET",    "/versions",                   versions.versions),
    Route("GET",    "/v2",                         versions.v2_root),
    Route("GET",    "/v2/",                        versions.v2_root),
    Route("GET",    "/v2/images",                  images.list_images),
    Route("POST",   "/v2/images",                  images.create_image, 201, IMAGE_CREATE),
    Route("GET",    IMAGE,                         images.show_image),
    Route("PATCH",  IMAGE,                         images.update_image, 200, IMAGE_PATCH),
    Route("DELETE", IMAGE,                         images.delete_image, 204),
    Route("POST",   IMAGE + "/actions/deactivate", images.deactivate_image, 204),
    Route("POST",   IMAGE + "/actions/reactivate", images.reactivate_image, 204),
    Route("PUT",    IMAGE + "/file",               image_data.upload_image, 204, IMAGE_DATA),
    Route("PUT",    IMAGE + "/stage",              image_data.stage_image, 204, IMAGE_DATA),
    Route("POST",   IMAGE + "/import",             image_data.import_image, 202, IMAGE_IMPORT),
    Route("GET",    IMAGE + "/file",               image_data.download_image),
    Route("GET",    IMAGE + "/tasks",              image_data.image_tasks),
    Route("PUT",    IMAGE + "/tags/{tag}",         image_tags.add_tag, 204),
    Route("DELETE", IMAGE + "/tags/{tag}",         image_tags.delete_tag, 204),
    Route("GET",    IMAGE + "/members",            image_members.list_members),
    Route("POST",   IMAGE + "/members",            image_members.create_member, 200, MEMBER_CREATE),
    Route("GET",    MEMBER,                        image_members.show_member),
    Route("PUT",    MEMBER,                        image_members.update_member, 200, MEMBER_UPDATE),
    Route("DELETE", MEMBER,                        image_members.delete_member, 204),
    Route("GET",    "/v2/schemas/image",           json_schemas.get_image_schema),
    Route("GET",    "/v2/schemas/images",          json_schemas.get_images_schema),
    Route("GET",    "/v2/schemas/member",          json_schemas.get_member_schema),
    Route("GET",    "/v2/schemas/members",         json_schemas.get_members_schema),
    Route("GET",    "/v2/info/import",             info.import_info),
    Route("GET",    "/v2/info/stores",             info.stores_info),
    Route("GET",    "/v2/info/stores/detail",      info.stores_info_detail),
    Route("GET",    "/v2/info/usage",              info.usage_info),
)
# fmt: on


def include_routers(app: FastAPI) -> None:
    for route in ROUTES:
        app.add_api_route(
            route.path,
            route.handler,
            methods=[route.method],
            status_code=route.status,
            tags=[route.handler.__module__.rsplit(".", 1)[-1].replace("_", " ")],
            openapi_extra=route.body.openapi() if route.body else None,
        )
