"""Tokens and request authentication shared by every service.

Identity issues Fernet tokens with :class:`TokenCodec`; every service validates
them locally with the same codec (from the shared key repository) and checks
them against the :class:`RevocationList`.
"""

from tinystack.common.auth.context import RequestContext
from tinystack.common.auth.keys import KeyRepository
from tinystack.common.auth.revocation import RevocationEvent, RevocationList
from tinystack.common.auth.tokens import TokenCodec, TokenPayload

__all__ = [
    "KeyRepository",
    "RequestContext",
    "RevocationEvent",
    "RevocationList",
    "TokenCodec",
    "TokenPayload",
]
