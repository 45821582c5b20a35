"""Version discovery (no token, as upstream)."""

from __future__ import annotations

from typing import Any


def root() -> dict[str, Any]:
    return {
        "versions": [
            {
                "id": "v1.0",
                "status": "CURRENT",
                "updated": "2015-03-19",
                "links": [{"rel": "self", "href": "v1/"}],
            }
        ]
    }


def v1() -> dict[str, Any]:
    return {"version": "1.0", "links": [{"rel": "self", "href": "v1/"}]}
