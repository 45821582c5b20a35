"""What a volume route declares about itself in /openapi.json (read by the route
meta-tests): the policy rules it checks and the request body it accepts.

The helpers are the common ones (``tinystack.common.api.openapi``), kept importable here
for the service's API modules."""

from __future__ import annotations

from tinystack.common.api.openapi import (
    PUBLIC,
    REQUEST_MODEL,
    policies,
    request_model,
)

__all__ = ["PUBLIC", "REQUEST_MODEL", "policies", "request_model"]
