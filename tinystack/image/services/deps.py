"""The image service's one dependency bundle, built once by the service's app factory."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from tinystack.common.db import Database
from tinystack.common.notifier import Notifier
from tinystack.image.conf import Options
from tinystack.image.services.cache import ImageCache
from tinystack.image.services.image_attributes import Formats
from tinystack.image.store.base import Store
from tinystack.image.store.registry import StoreSet


def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=2, thread_name_prefix="image-task")


@dataclass(frozen=True, slots=True)
class Deps:
    db: Database
    opts: Options
    #: the enabled stores (``enabled_backends``), the default one and the staging area
    stores: StoreSet
    #: identity's v3 URL: glance-download finds other regions' image services there
    auth_url: str = ""
    #: the node-local image cache, when ``image_cache_dir`` is set
    cache: ImageCache | None = None
    #: where import tasks run (Glance's tasks_pool)
    tasks_pool: ThreadPoolExecutor = field(default_factory=_pool)
    #: notifications (``image.upload``); the service's own transport once built
    notifier: Notifier = field(default_factory=lambda: Notifier.disabled("image"))

    @property
    def store(self) -> Store:
        """The default store."""
        return self.stores.default

    @property
    def staging(self) -> Store:
        return self.stores.staging

    @property
    def formats(self) -> Formats:
        return Formats(disk=self.opts.disk_formats, container=self.opts.container_formats)
