"""Image rules: ``/v2/images``, an image, its data and its actions."""

from __future__ import annotations

from tinystack.image.policies.base import (
    ADMIN,
    ADMIN_OR_MEMBER_CREATE_IMAGE,
    ADMIN_OR_MEMBER_DOWNLOAD_IMAGE,
    ADMIN_OR_PROJECT_MEMBER,
    ADMIN_OR_PROJECT_READER,
    ADMIN_OR_READER_GET_IMAGE,
    IMAGE,
    SERVICE,
    SERVICE_OR_PROJECT_MEMBER,
    rule,
)

GET_IMAGE = "get_image"
GET_IMAGES = "get_images"
ADD_IMAGE = "add_image"
MODIFY_IMAGE = "modify_image"
DELETE_IMAGE = "delete_image"
PUBLICIZE_IMAGE = "publicize_image"
COMMUNITIZE_IMAGE = "communitize_image"
UPLOAD_IMAGE = "upload_image"
DOWNLOAD_IMAGE = "download_image"
DEACTIVATE = "deactivate"
REACTIVATE = "reactivate"
COPY_IMAGE = "copy_image"
GET_IMAGE_LOCATION = "get_image_location"
SET_IMAGE_LOCATION = "set_image_location"
DELETE_IMAGE_LOCATION = "delete_image_location"
ADD_IMAGE_LOCATION = "add_image_location"
FETCH_IMAGE_LOCATION = "fetch_image_location"

RULES = [
    rule(ADD_IMAGE, ADMIN_OR_MEMBER_CREATE_IMAGE, "Create an image.", "POST", "/v2/images"),
    rule(GET_IMAGE, ADMIN_OR_READER_GET_IMAGE, "Show an image.", "GET", IMAGE),
    rule(GET_IMAGES, ADMIN_OR_PROJECT_READER, "List images.", "GET", "/v2/images"),
    rule(MODIFY_IMAGE, ADMIN_OR_PROJECT_MEMBER, "Update an image.", "PATCH", IMAGE),
    rule(PUBLICIZE_IMAGE, ADMIN, "Make an image public.", "PATCH", IMAGE),
    rule(COMMUNITIZE_IMAGE, ADMIN_OR_PROJECT_MEMBER, "Share with everyone.", "PATCH", IMAGE),
    rule(DELETE_IMAGE, ADMIN_OR_PROJECT_MEMBER, "Delete an image.", "DELETE", IMAGE),
    rule(UPLOAD_IMAGE, ADMIN_OR_PROJECT_MEMBER, "Upload data.", "PUT", IMAGE + "/file"),
    rule(DOWNLOAD_IMAGE, ADMIN_OR_MEMBER_DOWNLOAD_IMAGE, "Download data.", "GET", IMAGE + "/file"),
    rule(
        DEACTIVATE,
        ADMIN_OR_PROJECT_MEMBER,
        "Deactivate an image.",
        "POST",
        IMAGE + "/actions/deactivate",
    ),
    rule(
        REACTIVATE,
        ADMIN_OR_PROJECT_MEMBER,
        "Reactivate an image.",
        "POST",
        IMAGE + "/actions/reactivate",
    ),
    rule(COPY_IMAGE, ADMIN, "Copy image data to other stores.", "POST", IMAGE + "/import"),
    rule(GET_IMAGE_LOCATION, ADMIN_OR_PROJECT_READER, "Show image locations.", "GET", IMAGE),
    rule(SET_IMAGE_LOCATION, ADMIN_OR_PROJECT_MEMBER, "Set image locations.", "PATCH", IMAGE),
    rule(
        DELETE_IMAGE_LOCATION,
        ADMIN,
        "Delete an image's data from one store.",
        "DELETE",
        "/v2/stores/{store_id}/{image_id}",
    ),
    rule(
        ADD_IMAGE_LOCATION,
        SERVICE_OR_PROJECT_MEMBER,
        "Add a location to a queued image.",
        "POST",
        IMAGE + "/locations",
    ),
    rule(FETCH_IMAGE_LOCATION, SERVICE, "List image locations.", "GET", IMAGE + "/locations"),
]
