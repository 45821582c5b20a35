"""``/resource_providers/{uuid}/usages`` and ``/usages`` (1.9; per consumer type from 1.38)."""

from __future__ import annotations

import re

from starlette.responses import Response

from tinystack.common.exceptions import BadRequest
from tinystack.placement.api.deps import PlacementReq, PlacementRequest
from tinystack.placement.policies import usage as policies
from tinystack.placement.services import usage as usage_obj

_CONSUMER_TYPE = re.compile(r"^([A-Z0-9_]+|all|unknown)$")


def list_usages(uuid: str, req: PlacementReq) -> Response:
    req.can(policies.PROVIDER_USAGES)
    provider, usages = usage_obj.for_provider(req.deps, uuid)
    return req.respond({"resource_provider_generation": provider.generation, "usages": usages})


def _id_param(req: PlacementRequest, key: str) -> str | None:
    value = req.one(key)
    if value is not None and not value:
        raise BadRequest(
            "Invalid query string parameters: '' is too short\n\nFailed validating 'minLength'"
        )
    if value is not None and len(value) > 255:
        raise BadRequest(
            f"Invalid query string parameters: '{value}' is too long\n\n"
            "Failed validating 'maxLength'"
        )
    return value


def get_total_usages(req: PlacementReq) -> Response:
    project_id = req.one("project_id")
    req.can(policies.TOTAL_USAGES, {"project_id": project_id})
    by_type = req.at_least("1.38")
    req.check_query(["project_id", "user_id"] + (["consumer_type"] if by_type else []))
    if project_id is None:
        raise BadRequest("Invalid query string parameters: 'project_id' is a required property")
    project_id = _id_param(req, "project_id")
    assert project_id is not None
    user_id = _id_param(req, "user_id")
    consumer_type = req.one("consumer_type") if by_type else None
    if consumer_type is not None and not _CONSUMER_TYPE.match(consumer_type):
        raise BadRequest(
            f"Invalid query string parameters: '{consumer_type}' is not a valid consumer type"
        )
    usages = usage_obj.for_project(req.deps, project_id, user_id, by_type, consumer_type)
    return req.respond({"usages": usages})
