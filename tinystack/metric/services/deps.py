"""``Deps``: the metric service's dependency bundle."""

from __future__ import annotations

from dataclasses import dataclass

from tinystack.common.db import Database
from tinystack.metric.conf import Options


@dataclass(frozen=True)
class Deps:
    db: Database
    opts: Options
