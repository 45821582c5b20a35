"""The metric service's errors: the common ones (``NotFound``, ``BadRequest``,
``Conflict``) carry Gnocchi's statuses; Gnocchi has no error codes of its own, but some
of its 400s describe the fault as an object (``{"cause": ..., "detail": [...]}``)."""

from __future__ import annotations

from tinystack.common.exceptions import BadRequest, Conflict, NotFound

__all__ = ["BadRequest", "Conflict", "NotFound", "UnknownMetrics"]


class UnknownMetrics(BadRequest):
    """A batch named metrics that do not exist; Gnocchi lists them in its 400's
    description as ``{"cause": "Unknown metrics", "detail": [ids]}``."""

    cause = "Unknown metrics"

    def __init__(self, unknown: list[str]) -> None:
        self.unknown = unknown
        super().__init__(f"{self.cause}: {', '.join(unknown)}")
