"""``GET /info``: what this cluster offers and its limits (clients and test suites turn
features on from it), and ``/healthcheck``."""

from __future__ import annotations

from starlette.responses import JSONResponse, PlainTextResponse, Response

from tinystack.object_store.api import headers
from tinystack.object_store.api.deps import DepsDep
from tinystack.object_store.services import tempurl


def get_info(deps: DepsDep) -> Response:
    opts = deps.opts
    swift = {
        "version": "2.38.0",
        "max_file_size": opts.max_file_size,
        "max_meta_name_length": headers.MAX_META_NAME,
        "max_meta_value_length": headers.MAX_META_VALUE,
        "max_meta_count": headers.MAX_META_COUNT,
        "max_meta_overall_size": headers.MAX_META_OVERALL,
        "max_object_name_length": headers.MAX_OBJECT_NAME,
        "max_container_name_length": headers.MAX_CONTAINER_NAME,
        "max_account_name_length": headers.MAX_ACCOUNT_NAME,
        "container_listing_limit": opts.listing_limit,
        "account_listing_limit": opts.listing_limit,
        "max_header_size": 8192,
        "extra_header_count": 0,
        "account_autocreate": True,
        "allow_account_management": False,
        "strict_cors_mode": True,
        "valid_api_versions": ["v1"],
        "policies": [{"name": "Policy-0", "aliases": "Policy-0", "default": True}],
    }
    sections: dict[str, object] = {"swift": swift, "keystoneauth": {}, "container_quotas": {}}
    sections.update(middleware_sections())
    return JSONResponse(sections)


def middleware_sections() -> dict[str, object]:
    """The sections of what Swift runs as proxy middleware (each registers its own)."""
    return {
        "versioned_writes": {"allowed_flags": ["x-versions-location", "x-history-location"]},
        "object_versioning": {},
        "tempurl": {
            "methods": list(tempurl.METHODS),
            "incoming_remove_headers": ["x-timestamp", "x-open-expired"],
            "incoming_allow_headers": [],
            "outgoing_remove_headers": ["x-object-meta-*"],
            "outgoing_allow_headers": ["x-object-meta-public-*"],
            "allowed_digests": list(tempurl.DIGESTS),
            "deprecated_digests": ["sha1"],
        },
        "formpost": {"allowed_digests": list(tempurl.DIGESTS), "deprecated_digests": ["sha1"]},
        "staticweb": {},
        "account_quotas": {},
    }


def healthcheck() -> Response:
    return PlainTextResponse("OK")
