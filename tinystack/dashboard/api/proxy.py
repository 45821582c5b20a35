"""The pass-through to the cloud's services: ``/api/openstack/<region>/<service>/...``
with the session's token (a request without a session may name its own ``X-Auth-Token``,
as through Skyline's nginx)."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from tinystack.dashboard.api import deps as d
from tinystack.dashboard.exception import SessionInvalid
from tinystack.dashboard.services import proxy


async def forward(request: Request, region: str, service: str, path: str) -> Response:
    deps = d.get_deps(request)
    token = request.headers.get("x-auth-token", "")
    if d.COOKIE in request.cookies:
        token = d.session_context(request)[0].token
    elif not token:
        raise SessionInvalid("Token not found.")
    body = await request.body()
    target = (request.method, path, request.url.query)
    answer = await run_in_threadpool(
        proxy.forward, deps, region, service, target, request.headers, body, token
    )
    response = Response(answer.content, status_code=answer.status)
    for key, value in answer.headers:
        response.headers.append(key, value)
    return response
