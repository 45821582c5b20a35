"""Helpers for in-process service tests: a runtime on a temporary state directory and tokens.

A service's API tests build its app with :func:`make_runtime` + ``SERVICE.create_app`` and
talk to it through ``fastapi.testclient.TestClient``; :func:`make_token` mints a Fernet token
directly with the shared codec, the same way identity does, so a service's tests do not need
identity running.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from pathlib import Path

from tinystack.common import config
from tinystack.common.auth.keys import KeyRepository
from tinystack.common.auth.revocation import RevocationList
from tinystack.common.auth.tokens import TokenCodec, TokenPayload
from tinystack.common.db import Database, migrate
from tinystack.common.service import Runtime, ServiceSpec

ROLE_IDS = {"admin": "r-admin", "member": "r-member", "reader": "r-reader", "service": "r-service"}
IMPLIED = {"admin": ["admin", "member", "reader"], "member": ["member", "reader"]}


def make_runtime(
    tmp_path: Path,
    spec: ServiceSpec,
    *,
    db_url: str | None = None,
    overrides: Mapping[str, object] | None = None,
) -> Runtime:
    conf = config.make_conf([])
    conf.set_override("state_dir", str(tmp_path))
    config.register_service_opts(conf, spec.name, spec.default_port)
    spec.register_opts(conf)
    for key, value in (overrides or {}).items():
        group, _, name = key.rpartition(".")
        conf.set_override(name, value, group=group or None)
    keys = KeyRepository(config.key_repository(conf))
    keys.setup()
    db = None
    if spec.migrations:
        db = Database(db_url or config.database_url(conf, spec.name))
        migrate(db, spec.migrations, f"alembic_version_{spec.name}")
    return Runtime(conf=conf, token_codec=TokenCodec(keys), revocations=RevocationList(), db=db)


def make_token(
    runtime: Runtime,
    *,
    roles: list[str],
    project_id: str | None = None,
    user_id: str | None = None,
    domain_id: str | None = None,
    system: bool = False,
) -> str:
    """A token as identity would issue it; roles expand admin => member => reader."""
    expanded: list[str] = []
    for role in roles:
        for name in IMPLIED.get(role, [role]):
            if name not in expanded:
                expanded.append(name)
    payload = TokenPayload(
        user_id=user_id or uuid.uuid4().hex,
        methods=("password",),
        expires_at=time.time() + 3600,
        project_id=project_id if not (domain_id or system) else None,
        domain_id=domain_id,
        system=system,
        roles=tuple((ROLE_IDS.get(n, "r-" + n), n) for n in expanded),
    )
    return runtime.token_codec.encode(payload)
