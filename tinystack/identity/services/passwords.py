"""Password and secret hashing with bcrypt (Keystone's default hasher)."""

from __future__ import annotations

import bcrypt

# bcrypt only looks at the first 72 bytes; Keystone truncates the same way.
_MAX = 72


def hash_password(password: str, rounds: int) -> str:
    return bcrypt.hashpw(password.encode()[:_MAX], bcrypt.gensalt(rounds)).decode()


def check_password(password: str, hashed: str | None) -> bool:
    if not hashed:
        return False
    try:
        return bcrypt.checkpw(password.encode()[:_MAX], hashed.encode())
    except ValueError:
        return False
