"""``Deps``: the metric service's dependency bundle."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from tinystack.common.db import Database
from tinystack.metric.conf import Options


@dataclass(frozen=True)
class Deps:
    db: Database
    opts: Options
    #: set when measures were queued, so this process's metric workers look at once
    wake: threading.Event = field(default_factory=threading.Event)
