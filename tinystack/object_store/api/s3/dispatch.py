"""Where S3 requests leave the Swift API: an ASGI middleware in front of the Swift router
takes every request that carries an AWS signature (the Authorization header or a
presigned URL's query) or addresses a bucket by host name, authenticates it through
identity's s3tokens, checks the caller owns its account (``object_store:swift_owner`` on
``AUTH_<project>``), finds the operation in ``router.py`` and renders S3's XML errors.
Everything else goes on to the Swift API unchanged."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tinystack.common.auth.context import RequestContext
from tinystack.common.exceptions import TinystackError
from tinystack.object_store.api.deps import STATE_KEY
from tinystack.object_store.api.s3 import router
from tinystack.object_store.api.s3.call import S3Call, facts, target
from tinystack.object_store.api.s3.replies import error, from_status, run
from tinystack.object_store.policies.base import OWNER
from tinystack.object_store.services.deps import Deps
from tinystack.object_store.services.s3 import signing
from tinystack.object_store.services.s3.errors import S3Error

LOG = logging.getLogger(__name__)


def authenticate(call: S3Call) -> None:
    """Who signed (identity decides), and that they own their account."""
    state = call.request.app.state
    auth = call.deps.s3_auth
    if auth is None:
        raise S3Error("ServiceUnavailable", "The S3 API has no identity service to ask")
    call.signed = signing.parse(call.facts)
    call.identity = auth.verify(call.signed)
    payload = call.identity.payload
    if state.revocations.is_revoked(payload):
        raise S3Error("AccessDenied")
    call.context = RequestContext(call.request_id, call.identity.token, payload, state.policy)
    if not call.context.allowed(OWNER, {"project_id": payload.project_id or ""}):
        raise S3Error("AccessDenied")


async def handle(call: S3Call) -> Response:
    try:
        handler = router.find(call)
        await run(authenticate, call)
        response = await handler(call)
    except S3Error as exc:
        response = error(call, exc)
    except TinystackError as exc:
        response = error(call, from_status(call, exc.status))
    except Exception:
        LOG.exception("S3 %s %s failed", call.request.method, call.resource)
        response = error(call, S3Error("InternalError"))
    response.headers["x-amz-request-id"] = call.request_id
    return response


class S3Middleware:
    """Sends S3 requests to the S3 API; the rest on to the Swift API."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        ended = False

        async def tracked() -> Message:
            nonlocal ended
            message = await receive()
            ended = ended or not message.get("more_body", False)
            return message

        request = Request(scope, tracked)
        deps: Deps = getattr(request.app.state, STATE_KEY)
        if not deps.opts.s3_api:
            await self.app(scope, receive, send)
            return
        found = facts(request, deps.opts.s3_storage_domains)
        if not (found.host_bucket or signing.is_signed(found)):
            await self.app(scope, receive, send)
            return
        request_id = str(scope.get("state", {}).get("request_id", "")) or "tx"
        call = S3Call(request, deps, found, "", "", request_id)
        try:
            call.bucket, call.key = target(found)
        except S3Error as exc:
            response = error(call, exc)
            response.headers["x-amz-request-id"] = request_id
        else:
            response = await handle(call)
        if not ended and _has_body(request):
            # answered before the body was read (an error): the connection cannot carry on
            response.headers["connection"] = "close"
        await response(scope, tracked, send)


def _has_body(request: Request) -> bool:
    length = request.headers.get("content-length", "0")
    return length not in ("", "0") or "transfer-encoding" in request.headers
