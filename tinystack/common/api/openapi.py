"""Route metadata (``openapi_extra``) that the route meta-test reads and ``/openapi.json`` shows.

A route names the policy rules its handler (or the service it calls) checks::

    @router.get("/things/{thing_id}", openapi_extra=policies("thing:get"))

or says it checks none on purpose (version documents, token issue)::

    @router.get("/", openapi_extra=PUBLIC)

Combine with ``tinystack.common.api.microversion.since``:
``openapi_extra={**policies("thing:get"), **since("1.30")}``.

A route whose handler validates its own body (to keep upstream's order of checks and
messages) declares it with ``request_model(Model)`` (or ``request_schema`` for a JSON
schema), so ``/openapi.json`` still describes it.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

#: the policy rule names a route checks
POLICIES_KEY = "x-policies"
#: a route that checks no policy rule of its own
PUBLIC_KEY = "x-public"
PUBLIC: dict[str, Any] = {PUBLIC_KEY: True}


def policies(*rules: str) -> dict[str, Any]:
    """``openapi_extra`` naming the policy rules a route checks."""
    return {POLICIES_KEY: list(rules)}


#: the key under which a route names its request model (None: the route takes no body)
REQUEST_MODEL = "x-request-model"


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
