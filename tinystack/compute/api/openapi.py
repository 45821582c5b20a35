"""What a compute route declares about itself in /openapi.json (read by the route meta-tests):
the policy rules it checks and the request body it accepts."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

#: the key under which a route names its request model (None: the route takes no body)
REQUEST_MODEL = "x-request-model"


def policies(*rules: str) -> dict[str, Any]:
    """Route metadata naming the policy rules a route checks."""
    return {"x-policies": list(rules)}


def request_model(model: type[BaseModel] | None) -> dict[str, Any]:
    """Route metadata: the body is described by ``model`` (checked by the handler itself,
    which keeps upstream's order of checks and messages)."""
    if model is None:
        return {REQUEST_MODEL: None}
    return request_schema(model.__name__, model.model_json_schema())


def request_schema(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    """Route metadata: the body follows the JSON schema ``schema`` (named ``name``)."""
    return {
        REQUEST_MODEL: name,
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": inline_refs(schema)}},
        },
    }


def inline_refs(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with its local ``$defs`` references replaced by their definitions (an
    operation's schema cannot refer to definitions of its own)."""
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
