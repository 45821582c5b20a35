"""Alembic migrations split for rolling upgrades: expand, then contract.

A service's revisions may fork after a common trunk into two branches, labelled
``expand`` and ``contract`` (``branch_labels``; a contract revision ``depends_on`` the
expand revision it finishes). Expand revisions only add (tables, nullable columns,
server defaults): the previous release keeps working on an expanded schema, so they
run online before new code starts. Contract revisions remove what only the previous
release used; they run once every service runs the new release (``tinystack db
contract``, which refuses while a service reports an older RPC version).

A fresh database goes to every head at once; an existing one is only expanded when a
service starts (:func:`upgrade`). Services with one linear history are unaffected.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from importlib import resources
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory
    from sqlalchemy import Connection

    from tinystack.common.db import Database

EXPAND = "expand"
CONTRACT = "contract"
Phase = Literal["start", "expand", "contract"]


def _config(package: str, version_table: str) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files(package)))
    cfg.set_main_option("version_table", version_table)
    return cfg


def _script(cfg: Config) -> ScriptDirectory:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(cfg)


@contextlib.contextmanager
def _connection(db: Database) -> Iterator[Connection]:
    lock = db._write_lock or contextlib.nullcontext()
    # a write transaction from the start (SQLite: BEGIN IMMEDIATE): a read snapshot that
    # later writes the version table fails with "database is locked" if a running
    # service wrote in between (contract runs beside the cloud)
    with lock, db.engine.execution_options(tinystack_write=True).begin() as conn:
        yield conn


def _applied(script: ScriptDirectory, conn: Connection, version_table: str) -> set[str]:
    """Every revision the database has (its heads and their ancestors)."""
    from alembic.runtime.migration import MigrationContext

    ctx = MigrationContext.configure(conn, opts={"version_table": version_table})
    found: set[str] = set()
    for head in ctx.get_current_heads():
        found.update(r.revision for r in script.iterate_revisions(head, "base"))
    return found


def _branch_head(script: ScriptDirectory, label: str) -> str | None:
    from alembic.script.revision import RevisionError
    from alembic.util import CommandError

    try:
        revision = script.get_revision(f"{label}@head")
    except (CommandError, RevisionError):  # a service without that branch
        return None
    return revision.revision if revision is not None else None


def _targets(script: ScriptDirectory, phase: Phase, fresh: bool) -> list[str]:
    """The heads to upgrade to: ``start`` (a service starting), ``expand``, ``contract``."""
    contract = _branch_head(script, CONTRACT)
    if phase == CONTRACT:
        return [contract] if contract else []
    heads = list(script.get_heads())
    if phase == "start" and fresh:
        return heads
    return [h for h in heads if h != contract]


def upgrade(db: Database, package: str, version_table: str, phase: Phase = "start") -> bool:
    """Bring the schema forward for ``phase``; True when revisions ran."""
    from alembic import command

    cfg = _config(package, version_table)
    script = _script(cfg)
    with _connection(db) as conn:
        applied = _applied(script, conn, version_table)
        todo = [head for head in _targets(script, phase, fresh=not applied) if head not in applied]
        if not todo:
            return False
        cfg.attributes["connection"] = conn
        for head in todo:
            command.upgrade(cfg, head)
    return True


def pending(db: Database, package: str, version_table: str, phase: Phase) -> list[str]:
    """The revisions ``phase`` would run (``contract``: what waits for the last old service)."""
    cfg = _config(package, version_table)
    script = _script(cfg)
    with _connection(db) as conn:
        applied = _applied(script, conn, version_table)
    found: list[str] = []
    for head in _targets(script, phase, fresh=not applied):
        for revision in script.iterate_revisions(head, "base"):
            if revision.revision not in applied and revision.revision not in found:
                found.append(revision.revision)
    return sorted(found)


def initialised(db: Database, version_table: str) -> bool:
    """Whether any revision ran on the database (a service's tables exist)."""
    from sqlalchemy import inspect

    with db.engine.connect() as conn:
        return inspect(conn).has_table(version_table)
