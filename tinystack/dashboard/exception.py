"""The dashboard's exceptions: the statuses the Skyline API server answers with."""

from __future__ import annotations

from tinystack.common.exceptions import Forbidden, TinystackError, Unauthorized


class SessionInvalid(Unauthorized):
    """No session cookie, a forged or expired one, or its token is no longer valid."""


class LoginFailed(Unauthorized):
    """Identity refused the credentials (or the user has no enabled project)."""


class CrossSiteRequest(Forbidden):
    """A state-changing request whose Origin is not the dashboard itself."""


class ServiceFailed(TinystackError):
    """A service the dashboard called answered with an error: its status and message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status if status >= 400 else 502
