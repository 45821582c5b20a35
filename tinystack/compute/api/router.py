"""The compute route table: every resource's router, under ``/v2.1``."""

from __future__ import annotations

import importlib

from fastapi import FastAPI

#: resource modules, in URL order; each has a ``router``
MODULES = [
    "servers",
    "server_actions",
    "server_metadata",
    "server_tags",
    "instance_actions",
    "interfaces",
    "volumes_attachments",
    "server_details",
    "flavors",
    "keypairs",
    "limits",
    "quota_sets",
    "availability_zones",
    "hypervisors",
    "services",
    "aggregates",
    "server_groups",
    "migrations",
    "simple_tenant_usage",
    "external_events",
    "console",
    "images",
    "hosts",
    "instance_usage_audit_log",
    "extensions",
    "network_proxies",
    "volume_proxies",
    "assisted_volume_snapshots",
]


def include_routers(app: FastAPI) -> None:
    from tinystack.compute.api import versions

    app.include_router(versions.router)
    for name in MODULES:
        module = importlib.import_module(f"{__package__}.{name}")
        app.include_router(module.router, prefix="/v2.1")
