"""``GET /info``: what this cluster offers and its limits (clients and test suites turn
features on from it), and ``/healthcheck``."""

from __future__ import annotations

from starlette.responses import JSONResponse, PlainTextResponse, Response

from tinystack.object_store.api import headers
from tinystack.object_store.api.deps import DepsDep
from tinystack.object_store.services import bulk, large_objects, symlinks, tempurl


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
    if opts.s3_api:
        sections["s3api"] = {
            "max_bucket_listing": 1000,
            "max_parts_listing": 1000,
            "max_upload_part_num": 10000,
            "max_multi_delete_objects": 1000,
            "allow_multipart_uploads": True,
            "min_segment_size": 5242880,
            "s3_acl": False,
            "versioning": True,
        }
    return JSONResponse(sections)


def middleware_sections() -> dict[str, object]:
    """The sections of what Swift runs as proxy middleware (each registers its own)."""
    return {
        "slo": {
            "max_manifest_segments": large_objects.MAX_MANIFEST_SEGMENTS,
            "max_manifest_size": large_objects.MAX_MANIFEST_SIZE,
            "yield_frequency": 10,
            "min_segment_size": 1,
            "allow_async_delete": False,
        },
        "symlink": {"symloop_max": symlinks.SYMLOOP_MAX, "static_links": True},
        "bulk_upload": {
            "max_containers_per_extraction": bulk.MAX_CONTAINERS_PER_EXTRACTION,
            "max_failed_extractions": bulk.MAX_FAILED_EXTRACTIONS,
        },
        "bulk_delete": {
            "max_deletes_per_request": bulk.MAX_DELETES_PER_REQUEST,
            "max_failed_deletes": bulk.MAX_FAILED_DELETES,
        },
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
