"""The image service's one dependency bundle, built once by the service's app factory."""

from __future__ import annotations

from dataclasses import dataclass

from tinystack.common.db import Database
from tinystack.image.conf import Options
from tinystack.image.services.image_attributes import Formats
from tinystack.image.store.base import Store


@dataclass(frozen=True, slots=True)
class Deps:
    db: Database
    opts: Options
    #: where image data lives, and where staged data waits for its import
    store: Store
    staging: Store

    @property
    def formats(self) -> Formats:
        return Formats(disk=self.opts.disk_formats, container=self.opts.container_formats)
