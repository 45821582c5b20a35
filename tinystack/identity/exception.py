"""Identity's exceptions (subclasses of :mod:`tinystack.common.exceptions`).

The API renders every :class:`~tinystack.common.exceptions.TinystackError` as Keystone's
``{"error": {"code", "title", "message"}}`` body; see ``api/errors.py`` for database
errors caused by the input.
"""

from __future__ import annotations

from tinystack.common.exceptions import Unauthorized

AUTH_FAILED = "The request you have made requires authentication."


class AuthFailed(Unauthorized):
    """Authentication failed; as upstream, the message does not say which part was wrong."""

    def __init__(self, message: str = AUTH_FAILED) -> None:
        super().__init__(message)
