"""The ``CallContext`` compute's workers receive: the one in ``tinystack.common.rpc.context``
(kept importable here for the service's modules)."""

from __future__ import annotations

from tinystack.common.rpc.context import CallContext

__all__ = ["CallContext"]
