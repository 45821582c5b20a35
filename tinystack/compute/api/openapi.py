"""What a compute route declares about itself in /openapi.json (read by the route meta-tests)."""

from __future__ import annotations

from typing import Any


def policies(*rules: str) -> dict[str, Any]:
    """Route metadata naming the policy rules a route checks."""
    return {"x-policies": list(rules)}
