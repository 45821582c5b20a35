"""Route metadata (``openapi_extra``) that the route meta-test reads and ``/openapi.json`` shows.

A route names the policy rules its handler (or the service it calls) checks::

    @router.get("/things/{thing_id}", openapi_extra=policies("thing:get"))

or says it checks none on purpose (version documents, token issue)::

    @router.get("/", openapi_extra=PUBLIC)

Combine with ``tinystack.common.api.microversion.since``:
``openapi_extra={**policies("thing:get"), **since("1.30")}``.
"""

from __future__ import annotations

from typing import Any

#: the policy rule names a route checks
POLICIES_KEY = "x-policies"
#: a route that checks no policy rule of its own
PUBLIC_KEY = "x-public"
PUBLIC: dict[str, Any] = {PUBLIC_KEY: True}


def policies(*rules: str) -> dict[str, Any]:
    """``openapi_extra`` naming the policy rules a route checks."""
    return {POLICIES_KEY: list(rules)}
