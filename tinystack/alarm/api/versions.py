"""Version discovery and ``/v2/capabilities`` (no token, as upstream)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request


def root(request: Request) -> Any:
    base = str(request.base_url).rstrip("/")
    return {
        "versions": {
            "values": [
                {
                    "id": "v2",
                    "status": "stable",
                    "updated": "2013-02-13T00:00:00Z",
                    "links": [
                        {"rel": "self", "href": f"{base}/v2"},
                        {
                            "rel": "describedby",
                            "type": "text/html",
                            "href": "https://docs.openstack.org/aodh/latest/",
                        },
                    ],
                    "media-types": [
                        {
                            "base": "application/json",
                            "type": "application/vnd.openstack.telemetry-v2+json",
                        }
                    ],
                }  # fmt: skip
            ]
        }
    }


def capabilities() -> Any:
    return {
        "api": {
            "alarms:query:simple": True,
            "alarms:query:complex": True,
            "alarms:history:query:simple": True,
            "alarms:history:query:complex": True,
        },
        "alarm_storage": {"storage:production_ready": True},
    }
