"""What a volume route declares about itself in /openapi.json (read by the route
meta-tests): the policy rules it checks and the request body it accepts."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from tinystack.common.api.openapi import PUBLIC, policies

__all__ = ["PUBLIC", "REQUEST_MODEL", "policies", "request_model"]

#: the key under which a route names its request model (None: the route takes no body)
REQUEST_MODEL = "x-request-model"


def request_model(model: type[BaseModel] | None) -> dict[str, Any]:
    """Route metadata: the body is described by ``model`` (validated by the handler,
    which keeps upstream's order of checks and messages)."""
    if model is None:
        return {REQUEST_MODEL: None}
    schema = model.model_json_schema()
    return {
        REQUEST_MODEL: model.__name__,
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _inline(schema)}},
        },
    }


def _inline(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with its local ``$defs`` references replaced by their definitions."""
    defs = schema.get("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return resolve(defs[ref.removeprefix("#/$defs/")])
            return {k: resolve(v) for k, v in node.items() if k != "$defs"}
        if isinstance(node, list):
            return [resolve(v) for v in node]
        return node

    resolved: dict[str, Any] = resolve(schema)
    return resolved
