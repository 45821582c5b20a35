"""Deps: what the proxy's service layer needs (options, the rings)."""

from __future__ import annotations

from dataclasses import dataclass

from tinystack.object_store.conf import Options
from tinystack.object_store.ring.layout import Rings


@dataclass(frozen=True)
class Deps:
    opts: Options
    rings: Rings
