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
    cache,
    image_data,
    image_locations,
    image_members,
    image_tags,
    images,
    info,
    json_schemas,
    metadef_namespaces,
    metadef_objects,
    metadef_properties,
    metadef_resource_types,
    metadef_schemas,
    metadef_tags,
    tasks,
    versions,
)
from tinystack.image.api.schemas import (
    ASSOCIATION,
    IMAGE_CREATE,
    IMAGE_DATA,
    IMAGE_IMPORT,
    IMAGE_PATCH,
    LOCATION_ADD,
    MEMBER_CREATE,
    MEMBER_UPDATE,
    NAMESPACE,
    OBJECT,
    PROPERTY,
    TAGS,
    TASK_CREATE,
    RequestBody,
)
from tinystack.image.api.schemas import TAG as TAG_BODY
from tinystack.image.policies import cache as cache_rules
from tinystack.image.policies import image_members as member_rules
from tinystack.image.policies import images as image_rules
from tinystack.image.policies import info as info_rules
from tinystack.image.policies import metadefs as md
from tinystack.image.policies import tasks as task_rules

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
IMPORT = (image_rules.MODIFY_IMAGE, image_rules.COPY_IMAGE)
LOCATIONS = IMAGE + "/locations"
NS = "/v2/metadefs/namespaces"
NAMESPACE_PATH = NS + "/{namespace}"
OBJECTS = NAMESPACE_PATH + "/objects"
PROPS = NAMESPACE_PATH + "/properties"
TAGS_PATH = NAMESPACE_PATH + "/tags"
RTS = NAMESPACE_PATH + "/resource_types"
TASKS = "/v2/tasks"
TASK_ACCESS = (task_rules.TASKS_API_ACCESS,)
SCHEMAS = "/v2/schemas/metadefs/"

# fmt: off
ROUTES = (
    Route("GET",    "/",                 versions.root, PUBLIC, None, 300),
    Route("GET",    "/versions",         versions.versions, PUBLIC),
    Route("GET",    "/v2",               versions.v2_root, PUBLIC, None, 300),
    Route("GET",    "/v2/",              versions.v2_root, PUBLIC, None, 300),
    Route("GET",    "/v2/images",        images.list_images, LIST_IMAGES),
    Route("POST",   "/v2/images",        images.create_image, ADD_IMAGE, IMAGE_CREATE, 201),
    Route("GET",    IMAGE,               images.show_image, GET_IMAGE),
    Route("PATCH",  IMAGE,               images.update_image, UPDATE_IMAGE, IMAGE_PATCH),
    Route("DELETE", IMAGE,               images.delete_image, DELETE_IMAGE, None, 204),
    Route("POST",   ACTIONS + "/deactivate", images.deactivate_image, DEACTIVATE, None, 204),
    Route("POST",   ACTIONS + "/reactivate", images.reactivate_image, REACTIVATE, None, 204),
    Route("PUT",    IMAGE + "/file",     image_data.upload_image, UPLOAD, IMAGE_DATA, 204),
    Route("PUT",    IMAGE + "/stage",    image_data.stage_image, MODIFY_IMAGE, IMAGE_DATA, 204),
    Route("POST",   IMAGE + "/import",   image_data.import_image, IMPORT, IMAGE_IMPORT, 202),
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
    Route("GET",    LOCATIONS,           image_locations.get_locations,
          (image_rules.FETCH_IMAGE_LOCATION,)),
    Route("POST",   LOCATIONS,           image_locations.add_location,
          (image_rules.ADD_IMAGE_LOCATION,), LOCATION_ADD, 202),
    Route("DELETE", "/v2/stores/{store_id}/{image_id}", image_locations.delete_from_store,
          (image_rules.GET_IMAGE_LOCATION, image_rules.DELETE_IMAGE_LOCATION), None, 204),
    Route("GET",    "/v2/cache",         cache.cache_state, (cache_rules.CACHE_LIST,)),
    Route("DELETE", "/v2/cache",         cache.clear_cache, (cache_rules.CACHE_DELETE,), None, 204),
    Route("PUT",    "/v2/cache/{image_id}", cache.queue_image, (cache_rules.CACHE_IMAGE,), None,
          202),
    Route("DELETE", "/v2/cache/{image_id}", cache.delete_cache_entry, (cache_rules.CACHE_DELETE,),
          None, 204),
    Route("GET",    TASKS,               tasks.list_tasks, (*TASK_ACCESS, task_rules.GET_TASKS)),
    Route("POST",   TASKS,               tasks.create_task, (*TASK_ACCESS, task_rules.ADD_TASK),
          TASK_CREATE, 201),
    Route("GET",    TASKS + "/{task_id}", tasks.show_task, (*TASK_ACCESS, task_rules.GET_TASK)),
    Route("GET",    "/v2/schemas/task",  metadef_schemas.get_task_schema, AUTHENTICATED),
    Route("GET",    "/v2/schemas/tasks", metadef_schemas.get_tasks_schema, AUTHENTICATED),
    Route("GET",    "/v2/metadefs/resource_types", metadef_resource_types.list_resource_types,
          (md.LIST_RESOURCE_TYPES,)),
    Route("GET",    NS,                  metadef_namespaces.list_namespaces,
          (md.GET_NAMESPACES, md.LIST_RESOURCE_TYPES)),
    Route("POST",   NS,                  metadef_namespaces.create_namespace,
          (md.ADD_NAMESPACE, md.ADD_RESOURCE_TYPE, md.ADD_OBJECT, md.ADD_PROPERTY, md.ADD_TAG),
          NAMESPACE, 201),
    Route("GET",    NAMESPACE_PATH,      metadef_namespaces.show_namespace,
          (md.GET_NAMESPACE, md.LIST_RESOURCE_TYPES, md.GET_OBJECTS, md.GET_PROPERTIES,
           md.GET_TAGS)),
    Route("PUT",    NAMESPACE_PATH,      metadef_namespaces.update_namespace,
          (md.GET_NAMESPACE, md.MODIFY_NAMESPACE), NAMESPACE),
    Route("DELETE", NAMESPACE_PATH,      metadef_namespaces.delete_namespace,
          (md.GET_NAMESPACE, md.DELETE_NAMESPACE), None, 204),
    Route("GET",    OBJECTS,             metadef_objects.list_objects,
          (md.GET_NAMESPACE, md.GET_OBJECTS)),
    Route("POST",   OBJECTS,             metadef_objects.create_object,
          (md.GET_NAMESPACE, md.ADD_OBJECT), OBJECT, 201),
    Route("DELETE", OBJECTS,             metadef_namespaces.delete_objects,
          (md.GET_NAMESPACE, md.DELETE_NAMESPACE), None, 204),
    Route("GET",    OBJECTS + "/{object_name}", metadef_objects.show_object,
          (md.GET_NAMESPACE, md.GET_OBJECT)),
    Route("PUT",    OBJECTS + "/{object_name}", metadef_objects.update_object,
          (md.GET_NAMESPACE, md.MODIFY_OBJECT), OBJECT),
    Route("DELETE", OBJECTS + "/{object_name}", metadef_objects.delete_object,
          (md.GET_NAMESPACE, md.DELETE_OBJECT), None, 204),
    Route("GET",    PROPS,               metadef_properties.list_properties,
          (md.GET_NAMESPACE, md.GET_PROPERTIES)),
    Route("POST",   PROPS,               metadef_properties.create_property,
          (md.GET_NAMESPACE, md.ADD_PROPERTY), PROPERTY, 201),
    Route("DELETE", PROPS,               metadef_namespaces.delete_properties,
          (md.GET_NAMESPACE, md.DELETE_NAMESPACE), None, 204),
    Route("GET",    PROPS + "/{property_name}", metadef_properties.show_property,
          (md.GET_NAMESPACE, md.GET_PROPERTY, md.GET_RESOURCE_TYPE)),
    Route("PUT",    PROPS + "/{property_name}", metadef_properties.update_property,
          (md.GET_NAMESPACE, md.MODIFY_PROPERTY), PROPERTY),
    Route("DELETE", PROPS + "/{property_name}", metadef_properties.delete_property,
          (md.GET_NAMESPACE, md.REMOVE_PROPERTY), None, 204),
    Route("GET",    TAGS_PATH,           metadef_tags.list_tags, (md.GET_NAMESPACE, md.GET_TAGS)),
    Route("POST",   TAGS_PATH,           metadef_tags.create_tags,
          (md.GET_NAMESPACE, md.ADD_TAGS), TAGS, 201),
    Route("DELETE", TAGS_PATH,           metadef_namespaces.delete_tags,
          (md.GET_NAMESPACE, md.DELETE_NAMESPACE, md.DELETE_TAGS), None, 204),
    Route("GET",    TAGS_PATH + "/{tag_name}", metadef_tags.show_tag,
          (md.GET_NAMESPACE, md.GET_TAG)),
    Route("POST",   TAGS_PATH + "/{tag_name}", metadef_tags.create_tag,
          (md.GET_NAMESPACE, md.ADD_TAG), None, 201),
    Route("PUT",    TAGS_PATH + "/{tag_name}", metadef_tags.update_tag,
          (md.GET_NAMESPACE, md.MODIFY_TAG), TAG_BODY),
    Route("DELETE", TAGS_PATH + "/{tag_name}", metadef_tags.delete_tag,
          (md.GET_NAMESPACE, md.DELETE_TAG), None, 204),
    Route("GET",    RTS,                 metadef_resource_types.list_associations,
          (md.GET_NAMESPACE, md.GET_RESOURCE_TYPE)),
    Route("POST",   RTS,                 metadef_resource_types.create_association,
          (md.GET_NAMESPACE, md.ADD_RESOURCE_TYPE), ASSOCIATION, 201),
    Route("DELETE", RTS + "/{resource_type}", metadef_resource_types.delete_association,
          (md.GET_NAMESPACE, md.REMOVE_RESOURCE_TYPE), None, 204),
    *(
        Route("GET", SCHEMAS + kind, handler, AUTHENTICATED)
        for kind, handler in metadef_schemas.HANDLERS.items()
    ),
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
