"""Remote consoles: console links and their auth tokens (``os-console-auth-tokens``).

A link carries a random token; the database keeps its SHA-256 with where it leads (the
host and port of the guest's VNC server, or the serial port's socket) until it expires
(``[console] token_ttl``). The proxies (:mod:`tinystack.compute.consoleproxy`) take a
token once: :func:`connect` deletes it in the transaction that reads it, so a link opens
one console session, as Nova's proxies do.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from urllib.parse import quote

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from tinystack.common.exceptions import Conflict, NotFound
from tinystack.common.rpc import RemoteError
from tinystack.common.rpc.context import CallContext
from tinystack.compute import exception, models, states
from tinystack.compute.objects import ConsoleInfo
from tinystack.compute.services import servers
from tinystack.compute.services.deps import Deps

#: console type -> protocol (Nova's remote-consoles types tinystack serves)
TYPES = {"novnc": "vnc", "xvpvnc": "vnc", "serial": "serial"}
#: the types each proxy accepts
VNC_TYPES = ("novnc", "xvpvnc")
SERIAL_TYPES = ("serial",)


@dataclass(frozen=True, slots=True)
class ConsoleConnection:
    """Where a console token leads (``os-console-auth-tokens``)."""

    instance_uuid: str
    console_type: str
    host: str
    port: int
    internal_access_path: str | None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def console_url(deps: Deps, ctx: CallContext, uuid: str, kind: str) -> str:
    """A new console link of type ``kind`` (novnc, xvpvnc, serial) to the server's console."""
    if kind not in TYPES:
        raise exception.ConsoleTypeUnavailable(kind)
    inst = servers.get(deps, ctx, uuid)
    if not inst.host or inst.vm_state in (states.BUILDING, states.SHELVED_OFFLOADED):
        raise Conflict(f"Instance {uuid} is not ready")
    info = _connect_info(deps, ctx, inst.host, uuid, kind)
    token = secrets.token_hex(16)
    now = time.time()

    def write(session: Session) -> None:
        session.execute(
            delete(models.ConsoleAuthToken).where(models.ConsoleAuthToken.expires < now)
        )
        session.add(
            models.ConsoleAuthToken(
                token_hash=_digest(token),
                console_type=kind,
                host=info.host,
                port=int(info.port),
                internal_access_path=info.internal_access_path,
                instance_uuid=uuid,
                expires=now + int(deps.console_opts.token_ttl),
            )
        )

    deps.db.write(write)
    opts = deps.console_opts
    if kind == "serial":
        return f"{opts.serialproxy_base_url}?token={token}"
    return f"{opts.novncproxy_base_url}?path={quote(f'?token={token}', safe='')}"


def _connect_info(deps: Deps, ctx: CallContext, host: str, uuid: str, kind: str) -> ConsoleInfo:
    try:
        if TYPES[kind] == "serial":
            return deps.agents.get_serial_console(ctx, host, uuid)
        return deps.agents.get_vnc_console(ctx, host, uuid)
    except RemoteError as exc:
        if exc.exc_type == "DriverNotSupported":
            raise exception.ConsoleTypeUnavailable(kind) from exc
        raise Conflict(f"Instance {uuid} is not ready") from exc


def _row(row: models.ConsoleAuthToken | None) -> ConsoleConnection:
    if row is None or row.expires < time.time():
        raise NotFound("The token's console connection info could not be found.")
    return ConsoleConnection(
        row.instance_uuid, row.console_type, row.host, row.port, row.internal_access_path
    )


def console_token(deps: Deps, token: str) -> ConsoleConnection:
    """What an unexpired, unused token leads to (the admin API; the token stays)."""
    with deps.db.reader() as session:
        row = session.scalars(
            select(models.ConsoleAuthToken).where(
                models.ConsoleAuthToken.token_hash == _digest(token)
            )
        ).first()
        return _row(row)


def connect(deps: Deps, token: str, kinds: tuple[str, ...]) -> ConsoleConnection:
    """Take ``token`` for a console session of one of ``kinds``: an unknown, expired or used
    token, or one of another type, is NotFound; a valid one is deleted (single use)."""

    def write(session: Session) -> ConsoleConnection:
        row = session.scalars(
            select(models.ConsoleAuthToken).where(
                models.ConsoleAuthToken.token_hash == _digest(token)
            )
        ).first()
        found = _row(row)
        if found.console_type not in kinds:  # another proxy's token: left for it
            raise NotFound("The token's console connection info could not be found.")
        session.delete(row)
        return found

    return deps.db.write(write)
