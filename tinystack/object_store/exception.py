"""Object storage's exceptions: the statuses Swift answers with."""

from __future__ import annotations

from tinystack.common.exceptions import TinystackError


class RingError(Exception):
    """A ring builder or ring file that cannot be used (a configuration error)."""


class UnprocessableEntity(TinystackError):
    status = 422
    title = "Unable to process the contained instructions"


class LengthRequired(TinystackError):
    status = 411
    title = "Length Required"


class InsufficientStorage(TinystackError):
    status = 507
    title = "Insufficient Storage"
