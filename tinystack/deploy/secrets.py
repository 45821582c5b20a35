"""Generated passwords of a cloud, kept in ``<state_dir>/secrets.json`` (mode 0600).

Besides the users' passwords it holds shared secrets the runner hands to services
(``metadata_proxy_shared_secret``: network's metadata proxy and compute's metadata API).
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path


def _new_password() -> str:
    """24 URL-safe characters; never a leading "-", which a command line such as
    ``openstack --os-password <it>`` would read as an option."""
    while (password := secrets.token_urlsafe(18)).startswith("-"):
        continue
    return password


def load_or_create(state_dir: Path, names: list[str]) -> dict[str, str]:
    """Return the secrets (admin, demo, then ``names``), creating missing ones."""
    path = state_dir / "secrets.json"
    data: dict[str, str] = {}
    if path.exists():
        data = json.loads(path.read_text())
    changed = False
    for key in ["admin", "demo", *names]:
        if key not in data:
            data[key] = _new_password()
            changed = True
    if changed:
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(data, handle, indent=2)
        os.replace(tmp, path)
    return data
