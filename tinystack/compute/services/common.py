"""Old home of ``Deps``, ``utcnow`` and ``TTLCache``, kept only while the workers move.

``Deps`` is in :mod:`tinystack.compute.services.deps`; ``utcnow`` and ``TTLCache`` are
:mod:`tinystack.common.timeutils`'. Import them from there; this module goes once the
conductor, scheduler and agent no longer import it.
"""

from __future__ import annotations

from tinystack.common.timeutils import TTLCache, utcnow
from tinystack.compute.services.deps import Deps

__all__ = ["Deps", "TTLCache", "utcnow"]
