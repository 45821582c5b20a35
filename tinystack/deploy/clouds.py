"""clouds.yaml and openrc files for the admin and demo users."""

from __future__ import annotations

import os
from pathlib import Path

import yaml


def _cloud(auth_url: str, user: str, password: str, project: str, region: str) -> dict[str, object]:
    return {
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


def write(state_dir: Path, auth_url: str, passwords: dict[str, str], region: str) -> Path:
    clouds = {
        "clouds": {
            "tinystack-admin": _cloud(auth_url, "admin", passwords["admin"], "admin", region),
            "tinystack-demo": _cloud(auth_url, "demo", passwords["demo"], "demo", region),
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
        fd = os.open(rc, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write("\n".join(lines) + "\n")
    return path
