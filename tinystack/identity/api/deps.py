"""FastAPI dependencies and handler helpers of the identity API: ``DepsDep``, authorize."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends
from starlette.requests import Request

from tinystack.common.auth.context import RequestContext
from tinystack.identity.services.access import enforce
from tinystack.identity.services.deps import Deps
from tinystack.identity.services.oauth1 import SignedRequest


def _deps(request: Request) -> Deps:
    deps: Deps = request.app.state.identity
    return deps


DepsDep = Annotated[Deps, Depends(_deps)]


async def _signed_request(request: Request) -> SignedRequest:
    """The request as its OAuth1 signature covers it: method, URL, headers, form body."""
    body = (await request.body()).decode(errors="replace")
    url = f"{request.url.scheme}://{request.url.netloc}{request.url.path}"
    if request.url.query:
        url += "?" + request.url.query
    return SignedRequest(method=request.method, url=url, headers=dict(request.headers), body=body)


SignedDep = Annotated[SignedRequest, Depends(_signed_request)]


async def _xml_body(request: Request) -> bytes:
    """The body of a SAML 2.0 or ECP (PAOS) post; empty for any other content type."""
    kind = request.headers.get("content-type", "").lower()
    if "xml" not in kind:
        return b""
    return await request.body()


XmlBodyDep = Annotated[bytes, Depends(_xml_body)]


def authorize(ctx: RequestContext, rule: str, target: dict[str, Any] | None = None) -> None:
    """Enforce ``rule`` on a target the request names (see :func:`access.enforce`)."""
    enforce(ctx, rule, target)


def domain_target(ctx: RequestContext) -> dict[str, Any]:
    """The target of a list call: the caller's domain when the token is domain-scoped."""
    return {"target": {"domain_id": ctx.domain_id}} if ctx.domain_id else {}
