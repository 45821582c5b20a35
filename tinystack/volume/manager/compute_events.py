"""Telling compute about a volume change it must act on (``os-server-external-events``)."""

from __future__ import annotations

import logging

from tinystack.common.clients.session import ClientError
from tinystack.common.rpc.context import CallContext
from tinystack.volume.services.deps import Deps
from tinystack.volume.services.records import VolumeRecord

LOG = logging.getLogger(__name__)
#: the first compute microversion that knows ``volume-extended``
EXTENDED_EVENT_VERSION = "2.51"


def volume_extended(
    deps: Deps, ctx: CallContext, volume: VolumeRecord, instance_uuids: tuple[str, ...]
) -> bool:
    """``volume-extended`` for each server the volume is attached to (the guest sees the
    new size); False when compute could not be told of every server."""
    if not instance_uuids or not deps.session.has_service("compute"):
        return False
    events = [
        {"name": "volume-extended", "server_uuid": server, "tag": volume.id}
        for server in instance_uuids
    ]
    try:
        response = deps.session.request(
            "compute",
            "POST",
            "/os-server-external-events",
            json_body={"events": events},
            headers={"OpenStack-API-Version": f"compute {EXTENDED_EVENT_VERSION}"},
            ok=(200, 207),
        )
    except ClientError as exc:
        LOG.warning("%s: compute was not told volume %s grew: %s", ctx.request_id, volume.id, exc)
        return False
    return _all_delivered(response.json() if response.content else {})


def _all_delivered(body: object) -> bool:
    """Whether compute took every event (a 207 says per event: an unknown server is 404,
    one without a host 422)."""
    found = body.get("events") if isinstance(body, dict) else None
    if not isinstance(found, list):
        return False
    return all(isinstance(e, dict) and e.get("code") == 200 for e in found)


#: the first compute microversion that knows ``volume-reimaged``
REIMAGED_EVENT_VERSION = "2.93"


def volume_reimaged(
    deps: Deps, ctx: CallContext, volume_id: str, instance_uuids: tuple[str, ...], ok: bool
) -> bool:
    """``volume-reimaged`` for the server rebuilding on the volume (Nova waits for it)."""
    if not instance_uuids or not deps.session.has_service("compute"):
        return False
    status = "completed" if ok else "failed"
    events = [
        {"name": "volume-reimaged", "server_uuid": server, "tag": volume_id, "status": status}
        for server in instance_uuids
    ]
    try:
        deps.session.request(
            "compute",
            "POST",
            "/os-server-external-events",
            json_body={"events": events},
            headers={"OpenStack-API-Version": f"compute {REIMAGED_EVENT_VERSION}"},
            ok=(200, 207),
        )
    except ClientError as exc:
        LOG.warning("%s: compute was not told volume %s was re-imaged: %s",
                    ctx.request_id, volume_id, exc)  # fmt: skip
        return False
    return True
