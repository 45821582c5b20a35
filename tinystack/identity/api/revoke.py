"""``GET /v3/OS-REVOKE/events``: what validators in other processes poll."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from starlette.requests import Request

from tinystack.common.api.deps import ContextDep
from tinystack.common.exceptions import ValidationError
from tinystack.identity.api.deps import DepsDep, authorize
from tinystack.identity.api.views import render_revocation_event
from tinystack.identity.services import revoke


def list_events(
    request: Request, ctx: ContextDep, deps: DepsDep, since: str | None = None
) -> dict[str, Any]:
    authorize(ctx, "identity:list_revoke_events", {})
    since_ts = None
    if since:
        try:
            since_ts = datetime.fromisoformat(since.replace("Z", "+00:00")).timestamp()
        except ValueError:
            raise ValidationError(f"Invalid since: {since}") from None
    events = [render_revocation_event(e) for e in revoke.list_events(deps, since_ts)]
    return {"events": events, "links": {"self": str(request.url), "previous": None, "next": None}}
