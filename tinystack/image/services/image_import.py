"""``POST /v2/images/{id}/import``: check the request, lock the image, start the task.

The checks and their order follow upstream: the method must be enabled; the
image's status must fit the method (``uploading`` for glance-direct, ``queued`` for
web-download and glance-download, ``active`` for copy-image); the formats must be
set; copy-image takes the ``copy_image`` rule, every other method ``modify_image``;
the stores must be enabled (409 for an unknown one). Then, in the same
transaction, the image takes the import lock (the ``os_glance_import_task``
property: a second import gets 409), its status moves on, the status properties
``os_glance_importing_to_stores``/``os_glance_failed_import`` are reset, and the
``api_image_import`` task row is written. The work itself runs on the tasks pool
(``import_flow.py``); the request waits up to ``import_settle_seconds`` for it so
quick imports answer with their outcome already visible.
"""

from __future__ import annotations

import concurrent.futures
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from tinystack.common import timeutils
from tinystack.common.auth.context import RequestContext
from tinystack.common.exceptions import BadRequest, Conflict
from tinystack.common.rpc.payload import JSON
from tinystack.image import models
from tinystack.image.policies import images as image_rules
from tinystack.image.services import (
    _access,
    _locations,
    import_filter,
    import_flow,
    quotas,
    tasks,
)
from tinystack.image.services.deps import Deps
from tinystack.image.services.image_props import FAILED, IMPORTING, LOCK, set_property

#: the status an image must have for each method, and the one it moves to
STATUS_FOR = {
    "glance-direct": ("uploading", "importing"),
    "web-download": ("queued", "importing"),
    "glance-download": ("queued", "importing"),
    "copy-image": ("active", "active"),
}


@dataclass(frozen=True, slots=True)
class ImportRequest:
    """A checked ``POST .../import`` body."""

    method: str
    #: the body as the client sent it, recorded in the import task's input
    body: Mapping[str, JSON]
    stores: tuple[str, ...] | None = None
    all_stores: bool = False
    all_stores_must_succeed: bool = True
    uri: str | None = None
    remote: Mapping[str, str] = field(default_factory=dict)


def parse_import(deps: Deps, body: object) -> ImportRequest:
    """Check a ``POST .../import`` body against the enabled methods and the stores."""
    if not isinstance(body, dict):
        raise BadRequest("Import request requires a 'method' field.")
    method = body.get("method")
    if not isinstance(method, dict):
        raise BadRequest("Import request requires a 'method' field.")
    name = method.get("name")
    if name is None:
        raise BadRequest("Import request requires a 'name' field.")
    if name not in deps.opts.enabled_import_methods:
        raise BadRequest(f"Unknown import method name '{name}'.")
    for flag in ("all_stores", "all_stores_must_succeed"):
        if flag in body and not isinstance(body[flag], bool):
            raise BadRequest(f"'{flag}' must be boolean value only")
    stores = body.get("stores")
    if stores is not None:
        if not isinstance(stores, list) or not all(isinstance(s, str) for s in stores):
            raise BadRequest("'stores' must be a list of store identifiers")
        if stores and body.get("all_stores"):
            raise BadRequest(
                "All_stores parameter can't be used with x-image-meta-store header "
                "or stores parameter"
            )
        for store_id in stores:
            if not deps.stores.known(store_id) or deps.stores.get(store_id).read_only:
                raise Conflict(f"Unknown scheme '{store_id}' found in URI")
    must_succeed = body.get("all_stores_must_succeed", True)
    if not must_succeed and not deps.opts.multi_store:
        raise BadRequest("All_stores_must_succeed can only be set with enabled_backends")
    uri = method.get("uri")
    remote: dict[str, str] = {}
    if name == "web-download":
        if not isinstance(uri, str) or not uri:
            raise BadRequest("URI for web-download import method is missing.")
    if name == "glance-download":
        remote = _remote(method)
    return ImportRequest(
        method=str(name),
        body=body,
        stores=tuple(stores) if stores else None,
        all_stores=bool(body.get("all_stores", False)),
        all_stores_must_succeed=bool(must_succeed),
        uri=uri if isinstance(uri, str) else None,
        remote=remote,
    )


def _remote(method: dict[str, JSON]) -> dict[str, str]:
    if "glance_region" not in method:
        raise BadRequest("'glance_region' needs to be set for glance-download import method")
    if "glance_image_id" not in method:
        raise BadRequest("'glance_image_id' needs to be set for glance-download import method")
    image_id = str(method["glance_image_id"])
    try:
        uuid.UUID(image_id)
    except ValueError:
        raise BadRequest(f"Remote image id does not look like a UUID: {image_id}") from None
    return {
        "region": str(method["glance_region"]),
        "image_id": image_id,
        "interface": str(method.get("glance_service_interface") or "public"),
    }


def import_image(deps: Deps, ctx: RequestContext, image_id: str, request: ImportRequest) -> None:
    """Start the import (202); wait a little for it to finish."""
    if request.method == "web-download" and not import_filter.allowed(deps.opts, request.uri):
        raise BadRequest(f"URI for web-download does not pass filtering: {request.uri}")
    task_id = deps.db.write(lambda s: _begin(deps, s, ctx, image_id, request))
    if task_id is None:
        return
    future = deps.tasks_pool.submit(import_flow.run, deps, task_id, ctx.token)
    try:
        future.result(timeout=deps.opts.import_settle_seconds)
    except concurrent.futures.TimeoutError:
        pass


def _begin(
    deps: Deps, session: Session, ctx: RequestContext, image_id: str, request: ImportRequest
) -> str | None:
    image = _access.load(session, ctx, image_id)
    quotas.enforce(session, deps.opts, "image_size_total", image.owner)
    method = request.method
    expected, new_status = STATUS_FOR[method]
    _check_status(image, method, expected)
    for attr in ("container_format", "disk_format"):
        if not getattr(image, attr):
            raise Conflict(f"'{attr}' needs to be set before import")
    rule = image_rules.COPY_IMAGE if method == "copy-image" else image_rules.MODIFY_IMAGE
    _access.authorize(ctx, rule, image)
    props = {p.name: p.value for p in image.properties}
    if props.get(LOCK):
        raise Conflict(
            f"New operation on image '{image_id}' is not permitted as prior operation is "
            "still in progress"
        )
    stores = _target_stores(deps, image, request)
    if not stores:
        return None  # copy-image to every store: already everywhere
    if method == "glance-direct" and session.get(models.ImageStage, image_id) is None:
        raise Conflict("Image needs to be staged before 'glance-direct' method can be used")
    task_input: dict[str, JSON] = {
        "image_id": image_id,
        "import_req": dict(request.body),
        "backend": list(stores),
    }
    task_id = tasks.start(session, ctx, image_id, task_input)
    image.status = new_status
    image.updated_at = timeutils.utcnow()
    set_property(image, LOCK, task_id)
    set_property(image, IMPORTING, ",".join(stores))
    set_property(image, FAILED, "")
    return task_id


def _check_status(image: models.Image, method: str, expected: str) -> None:
    if image.status == expected:
        return
    if image.status == "active":
        raise Conflict("Image with status active cannot be target for import")
    if method == "copy-image":
        raise Conflict("Only images with status active can be targeted for copying")
    if method == "glance-direct":
        raise Conflict("Image needs to be staged before 'glance-direct' method can be used")
    raise Conflict(f"Image needs to be in 'queued' state to use '{method}' method")


def _target_stores(deps: Deps, image: models.Image, request: ImportRequest) -> list[str]:
    if request.all_stores:
        stores = deps.stores.writable_ids()
    elif request.stores:
        stores = list(request.stores)
    else:
        stores = [deps.stores.default_id]
    if request.method != "copy-image":
        return stores
    present = [s for s in stores if _locations.in_store(image, s) is not None]
    if present and not request.all_stores:
        raise BadRequest(f"Image is already present at store '{present[0]}'")
    return [s for s in stores if s not in present]
