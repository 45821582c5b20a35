"""The volume route table: every resource module's router, under ``/v3``.

Each module in :data:`MODULES` has a ``router`` (an ``APIRouter``) whose paths start with
the collection (``/volumes``, ``/types``, ...); they are served at ``/v3/...`` and, the
microversion middleware taking the project id out of the path, at
``/v3/{project_id}/...``. A new resource is a new module and one line here.
"""

from __future__ import annotations

import importlib

from fastapi import Depends, FastAPI

#: resource modules; each has a ``router``. Literal paths before parameterised ones:
#: a module whose routes a later module's literal would shadow goes after it.
MODULES = [
    "volumes",
    "volume_actions",
    "volume_metadata",
    "types",
    "type_extra_specs",
    "type_access",
    "type_encryption",
    "default_types",
    "qos_specs",
    "quota_sets",
    "quota_classes",
    "limits",
    "availability_zones",
    "services",
    "hosts",
    "scheduler_stats",
    "messages",
    "snapshots",
    "snapshot_metadata",
    "backups",
    "transfers",
    "group_types",
    "groups",
    "group_snapshots",
    "extensions",
    "attachments",
    "manageable_volumes",
    "manageable_snapshots",
    "clusters",
    "resource_filters",
    "workers",
]


def include_routers(app: FastAPI) -> None:
    from tinystack.volume.api import versions
    from tinystack.volume.api.deps import check_route_version, check_url_project

    app.include_router(versions.router)
    checked = [Depends(check_url_project), Depends(check_route_version)]
    for name in MODULES:
        module = importlib.import_module(f"{__package__}.{name}")
        app.include_router(module.router, prefix="/v3", dependencies=checked)
