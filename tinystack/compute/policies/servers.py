"""Compute policy rules: servers (upstream names and defaults)."""

from __future__ import annotations

from tinystack.compute.policies.base import (
    ADMIN,
    NOBODY,
    PROJECT_MEMBER_OR_ADMIN,
    PROJECT_READER_OR_ADMIN,
    rule,
)

RULES = [
    rule("os_compute_api:servers:index", PROJECT_READER_OR_ADMIN, "GET /servers"),
    rule("os_compute_api:servers:detail", PROJECT_READER_OR_ADMIN, "GET /servers/detail"),
    rule("os_compute_api:servers:index:get_all_tenants", ADMIN, "GET /servers"),
    rule("os_compute_api:servers:detail:get_all_tenants", ADMIN, "GET /servers/detail"),
    rule("os_compute_api:servers:allow_all_filters", ADMIN, "GET /servers", "GET /servers/detail"),
    rule("os_compute_api:servers:show", PROJECT_READER_OR_ADMIN, "GET /servers/{server_id}"),
    rule(
        "os_compute_api:servers:show:flavor-extra-specs",
        PROJECT_READER_OR_ADMIN,
        "GET /servers/detail",
        "GET /servers/{server_id}",
        "PUT /servers/{server_id}",
        "POST /servers/{server_id}/action (rebuild)",
    ),
    rule(
        "os_compute_api:servers:show:host_status",
        ADMIN,
        "GET /servers/{server_id}",
        "GET /servers/detail",
        "PUT /servers/{server_id}",
        "POST /servers/{server_id}/action (rebuild)",
    ),
    rule(
        "os_compute_api:servers:show:host_status:unknown-only",
        ADMIN,
        "GET /servers/{server_id}",
        "GET /servers/detail",
        "PUT /servers/{server_id}",
        "POST /servers/{server_id}/action (rebuild)",
    ),
    rule("os_compute_api:servers:create", PROJECT_MEMBER_OR_ADMIN, "POST /servers"),
    rule("os_compute_api:servers:create:forced_host", ADMIN, "POST /servers"),
    rule("compute:servers:create:requested_destination", ADMIN, "POST /servers"),
    rule("os_compute_api:servers:create:attach_volume", PROJECT_MEMBER_OR_ADMIN, "POST /servers"),
    rule("os_compute_api:servers:create:attach_network", PROJECT_MEMBER_OR_ADMIN, "POST /servers"),
    rule("os_compute_api:servers:create:trusted_certs", PROJECT_MEMBER_OR_ADMIN, "POST /servers"),
    rule("os_compute_api:servers:create:zero_disk_flavor", ADMIN, "POST /servers"),
    rule(
        "network:attach_external_network",
        ADMIN,
        "POST /servers",
        "POST /servers/{server_id}/os-interface",
    ),
    rule("os_compute_api:servers:delete", PROJECT_MEMBER_OR_ADMIN, "DELETE /servers/{server_id}"),
    rule("os_compute_api:servers:update", PROJECT_MEMBER_OR_ADMIN, "PUT /servers/{server_id}"),
    rule(
        "os_compute_api:servers:confirm_resize",
        PROJECT_MEMBER_OR_ADMIN,
        "POST /servers/{server_id}/action (confirmResize)",
    ),
    rule(
        "os_compute_api:servers:revert_resize",
        PROJECT_MEMBER_OR_ADMIN,
        "POST /servers/{server_id}/action (revertResize)",
    ),
    rule(
        "os_compute_api:servers:reboot",
        PROJECT_MEMBER_OR_ADMIN,
        "POST /servers/{server_id}/action (reboot)",
    ),
    rule(
        "os_compute_api:servers:resize",
        PROJECT_MEMBER_OR_ADMIN,
        "POST /servers/{server_id}/action (resize)",
    ),
    rule("compute:servers:resize:cross_cell", NOBODY, "POST /servers/{server_id}/action (resize)"),
    rule(
        "os_compute_api:servers:rebuild",
        PROJECT_MEMBER_OR_ADMIN,
        "POST /servers/{server_id}/action (rebuild)",
    ),
    rule(
        "os_compute_api:servers:rebuild:trusted_certs",
        PROJECT_MEMBER_OR_ADMIN,
        "POST /servers/{server_id}/action (rebuild)",
    ),
    rule(
        "os_compute_api:servers:create_image",
        PROJECT_MEMBER_OR_ADMIN,
        "POST /servers/{server_id}/action (createImage)",
    ),
    rule(
        "os_compute_api:servers:create_image:allow_volume_backed",
        PROJECT_MEMBER_OR_ADMIN,
        "POST /servers/{server_id}/action (createImage)",
    ),
    rule(
        "os_compute_api:servers:start",
        PROJECT_MEMBER_OR_ADMIN,
        "POST /servers/{server_id}/action (os-start)",
    ),
    rule(
        "os_compute_api:servers:stop",
        PROJECT_MEMBER_OR_ADMIN,
        "POST /servers/{server_id}/action (os-stop)",
    ),
    rule(
        "os_compute_api:servers:trigger_crash_dump",
        PROJECT_MEMBER_OR_ADMIN,
        "POST /servers/{server_id}/action (trigger_crash_dump)",
    ),
]
