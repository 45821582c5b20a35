"""The exceptions a volume driver raises, so the manager can tell them apart.

The contract (``base.py``) says what a driver does; these say why it could not. The
manager maps them to volume states and user messages (a ``VolumeBusy`` is a 400 or 409
at the API, a ``BackendError`` is an ``error`` state with the message kept).
"""

from __future__ import annotations


class BackendError(Exception):
    """The backend failed (a qemu-img or daemon error); the message says what happened."""


class VolumeNotFound(BackendError):
    """The driver holds no data for the volume or snapshot it was asked about."""


class VolumeBusy(BackendError):
    """The volume is exported or opened in a way that forbids the operation."""


class InvalidReference(BackendError):
    """``manage_existing`` got a reference that names nothing manageable."""


class ImageTooLarge(BackendError):
    """The image's virtual size does not fit the volume (upstream: ImageUnacceptable)."""


class GuestMustResize(BackendError):
    """``extend_volume``: the volume is open in a running guest's QEMU, which alone can
    grow it (``block_resize``); the extend waits for compute's completion action."""
