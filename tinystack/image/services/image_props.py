"""The ``os_glance_*`` properties the service itself keeps on images (reserved to users).

``os_glance_import_task`` is the import lock (the task holding it),
``os_glance_importing_to_stores`` the stores an import or copy still has to fill,
``os_glance_failed_import`` the stores it failed to fill (both comma separated).
"""

from __future__ import annotations

from tinystack.image import models

LOCK = "os_glance_import_task"
IMPORTING = "os_glance_importing_to_stores"
FAILED = "os_glance_failed_import"


def get_property(image: models.Image, name: str) -> str | None:
    for prop in image.properties:
        if prop.name == name:
            return prop.value
    return None


def set_property(image: models.Image, name: str, value: str) -> None:
    for prop in image.properties:
        if prop.name == name:
            prop.value = value
            return
    image.properties.append(models.ImageProperty(name=name, value=value))


def drop_property(image: models.Image, name: str) -> None:
    image.properties = [p for p in image.properties if p.name != name]


def store_list(value: str | None) -> list[str]:
    return [s for s in (value or "").split(",") if s]


def move_store(image: models.Image, store_id: str, *, failed: bool) -> None:
    """``store_id`` is done: out of the importing list, into the failed list if it failed."""
    pending = [s for s in store_list(get_property(image, IMPORTING)) if s != store_id]
    set_property(image, IMPORTING, ",".join(pending))
    if failed:
        failures = store_list(get_property(image, FAILED))
        if store_id not in failures:
            failures.append(store_id)
        set_property(image, FAILED, ",".join(failures))
