"""Request bodies of volume transfers (upstream's ``schemas/volume_transfer.py``)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator

from tinystack.volume.api.snapshot_schemas import Flag, Strict, Uuid


def _text(value: object) -> object:
    """An auth key may be sent as a number."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


class TransferCreate(Strict):
    volume_id: Uuid
    name: str | None = None


class TransferCreateBody(Strict):
    transfer: TransferCreate


class TransferCreateV355(TransferCreate):
    no_snapshots: Flag = False


class TransferCreateV355Body(Strict):
    transfer: TransferCreateV355


class Accept(Strict):
    auth_key: Annotated[str, BeforeValidator(_text)]


class AcceptBody(Strict):
    accept: Accept
