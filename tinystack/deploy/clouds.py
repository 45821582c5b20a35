"""clouds.yaml and openrc files for the admin and demo users."""

from __future__ import annotations

import os
from pathlib import Path

import yaml


def _cloud(
    auth_url: str, user: str, password: str, project: str, region: str, cacert: str
) -> dict[str, object]:
    cloud: dict[str, object] = {
        "auth": {
            "auth_url": auth_url,
            "username": user,
            "password": password,
            "project_name": project,
            "user_domain_name": "Default",
            "project_domain_name": "Default",
        },
        "region_name": region,
        "interface": "public",
        "identity_api_version": 3,
    }
    if cacert:
        cloud["cacert"] = cacert
    return cloud


def write(
    state_dir: Path, auth_url: str, passwords: dict[str, str], region: str, cacert: str = ""
) -> Path:
    """clouds.yaml and ``<user>-openrc`` (mode 0600: they hold passwords); ``cacert`` is
    the CA bundle that verifies an https ``auth_url``."""
    cacert = os.path.abspath(os.path.expanduser(cacert)) if cacert else ""
    clouds = {
        "clouds": {
            name: _cloud(auth_url, user, passwords[user], user, region, cacert)
            for name, user in (("tinystack-admin", "admin"), ("tinystack-demo", "demo"))
        }
    }
    path = state_dir / "clouds.yaml"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        yaml.safe_dump(clouds, handle, default_flow_style=False, sort_keys=False)
    for user in ("admin", "demo"):
        rc = state_dir / f"{user}-openrc"
        lines = [
            f"export OS_AUTH_URL={auth_url}",
            f"export OS_USERNAME={user}",
            f"export OS_PASSWORD={passwords[user]}",
            f"export OS_PROJECT_NAME={user}",
            "export OS_USER_DOMAIN_NAME=Default",
            "export OS_PROJECT_DOMAIN_NAME=Default",
            f"export OS_REGION_NAME={region}",
            "export OS_IDENTITY_API_VERSION=3",
            "export OS_INTERFACE=public",
        ]
        if cacert:
            lines.append(f"export OS_CACERT={cacert}")
        fd = os.open(rc, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write("\n".join(lines) + "\n")
    return path
