"""The metric service's errors: the common ones (``NotFound``, ``BadRequest``,
``Conflict``) carry Gnocchi's statuses; Gnocchi has no error codes of its own."""

from __future__ import annotations

from tinystack.common.exceptions import BadRequest, Conflict, NotFound

__all__ = ["BadRequest", "Conflict", "NotFound"]
