"""The image API's route table: every route, in URL order; handlers live in resource modules.

Each route names the policy rules it checks (``x-policies`` in /openapi.json, read by
the route meta-test): upstream Glance's names, checked by the handler when the target
is the caller's project, else by the service layer on the loaded image
(``services/_access.py``). ``PUBLIC`` routes need no token; ``AUTHENTICATED`` ones need a
token and check no rule (as upstream); both are ``x-public`` (no rule of their own).
``body`` declares a write route's request body for the OpenAPI document
(:mod:`tinystack.image.api.schemas`); the handlers read and check it themselves.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from fastapi import FastAPI

from tinystack.common.api import openapi
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
from tinystack.image.policies import image_members as member_rules
from tinystack.image.policies import images as image_rules
from tinystack.image.policies import info as info_rules

#: no token needed (version discovery)
PUBLIC = None
#: a token, and no policy rule
AUTHENTICATED: tuple[str, ...] = ()


class Route(NamedTuple):
    method: str
    path: str
    handler: Callable[..., Any]
    rules: tuple[str, ...] | None
    body: RequestBody | None = None
    status: int = 200


IMAGE = "/v2/images/{image_id}"
ACTIONS = IMAGE + "/actions"
TAG = IMAGE + "/tags/{tag}"
MEMBERS = IMAGE + "/members"
MEMBER = MEMBERS + "/{member_id}"
STORES = "/v2/info/stores"

GET_IMAGE = (image_rules.GET_IMAGE,)
LIST_IMAGES = (image_rules.GET_IMAGES,)
VISIBILITY = (image_rules.PUBLICIZE_IMAGE, image_rules.COMMUNITIZE_IMAGE)
ADD_IMAGE = (image_rules.ADD_IMAGE, *VISIBILITY)
MODIFY_IMAGE = (image_rules.MODIFY_IMAGE,)
UPDATE_IMAGE = (image_rules.MODIFY_IMAGE, *VISIBILITY)
DELETE_IMAGE = (image_rules.DELETE_IMAGE,)
DEACTIVATE = (image_rules.DEACTIVATE,)
REACTIVATE = (image_rules.REACTIVATE,)
UPLOAD = (image_rules.UPLOAD_IMAGE,)
DOWNLOAD = (image_rules.DOWNLOAD_IMAGE,)
LIST_MEMBERS = (member_rules.GET_MEMBERS,)
ADD_MEMBER = (member_rules.ADD_MEMBER,)
GET_MEMBER = (member_rules.GET_MEMBER,)
UPDATE_MEMBER = (member_rules.GET_MEMBER, member_rules.MODIFY_MEMBER)
DELETE_MEMBER = (member_rules.GET_MEMBER, member_rules.DELETE_MEMBER)
STORES_DETAIL = (info_rules.STORES_INFO_DETAIL,)

# fmt: off
ROUTES = (
    Route("GET",    "/",                 versions.root, PUBLIC),
    Route("GET",    "/versions",         versions.versions, PUBLIC),
    Route("GET",    "/v2",               versions.v2_root, PUBLIC),
    Route("GET",    "/v2/",              versions.v2_root, PUBLIC),
    Route("GET",    "/v2/images",        images.list_images, LIST_IMAGES),
    Route("POST",   "/v2/images",        images.create_image, ADD_IMAGE, IMAGE_CREATE, 201),
    Route("GET",    IMAGE,               images.show_image, GET_IMAGE),
    Route("PATCH",  IMAGE,               images.update_image, UPDATE_IMAGE, IMAGE_PATCH),
    Route("DELETE", IMAGE,               images.delete_image, DELETE_IMAGE, None, 204),
    Route("POST",   ACTIONS + "/deactivate", images.deactivate_image, DEACTIVATE, None, 204),
    Route("POST",   ACTIONS + "/reactivate", images.reactivate_image, REACTIVATE, None, 204),
    Route("PUT",    IMAGE + "/file",     image_data.upload_image, UPLOAD, IMAGE_DATA, 204),
    Route("PUT",    IMAGE + "/stage",    image_data.stage_image, MODIFY_IMAGE, IMAGE_DATA, 204),
    Route("POST",   IMAGE + "/import",   image_data.import_image, MODIFY_IMAGE, IMAGE_IMPORT, 202),
    Route("GET",    IMAGE + "/file",     image_data.download_image, DOWNLOAD),
    Route("GET",    IMAGE + "/tasks",    image_data.image_tasks, GET_IMAGE),
    Route("PUT",    TAG,                 image_tags.add_tag, MODIFY_IMAGE, None, 204),
    Route("DELETE", TAG,                 image_tags.delete_tag, MODIFY_IMAGE, None, 204),
    Route("GET",    MEMBERS,             image_members.list_members, LIST_MEMBERS),
    Route("POST",   MEMBERS,             image_members.create_member, ADD_MEMBER, MEMBER_CREATE),
    Route("GET",    MEMBER,              image_members.show_member, GET_MEMBER),
    Route("PUT",    MEMBER,              image_members.update_member, UPDATE_MEMBER, MEMBER_UPDATE),
    Route("DELETE", MEMBER,              image_members.delete_member, DELETE_MEMBER, None, 204),
    Route("GET",    "/v2/schemas/image", json_schemas.get_image_schema, AUTHENTICATED),
    Route("GET",    "/v2/schemas/images", json_schemas.get_images_schema, AUTHENTICATED),
    Route("GET",    "/v2/schemas/member", json_schemas.get_member_schema, AUTHENTICATED),
    Route("GET",    "/v2/schemas/members", json_schemas.get_members_schema, AUTHENTICATED),
    Route("GET",    "/v2/info/import",   info.import_info, AUTHENTICATED),
    Route("GET",    STORES,              info.stores_info, AUTHENTICATED),
    Route("GET",    STORES + "/detail",  info.stores_info_detail, STORES_DETAIL),
    Route("GET",    "/v2/info/usage",    info.usage_info, AUTHENTICATED),
)
# fmt: on


def include_routers(app: FastAPI) -> None:
    for route in ROUTES:
        extra = openapi.policies(*route.rules) if route.rules else dict(openapi.PUBLIC)
        if route.body is not None:
            extra.update(route.body.openapi())
        app.add_api_route(
            route.path,
            route.handler,
            methods=[route.method],
            status_code=route.status,
            tags=[route.handler.__module__.rsplit(".", 1)[-1].replace("_", " ")],
            openapi_extra=extra or None,
        )
