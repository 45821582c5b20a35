"""The route meta-test every service's tests call: walk a FastAPI app's route table and
report what breaks the shape (ARCHITECTURE.md).

- **policies**: every route declares the policy rules it checks,
  ``openapi_extra=policies(...)`` (``tinystack.common.api.openapi``), and every rule is
  registered by the service's ``policies.list_rules()``; a route without a rule (version
  documents, proxies that authorize elsewhere) is ``openapi_extra=PUBLIC`` or in the
  caller's explicit allow-list.
- **duplicates**: no route can never be reached because an earlier one with the same
  method matches its whole path (an exact duplicate, or a path parameter shadowing a
  literal: ``/servers/{id}`` registered before ``/servers/detail``).
- **microversions**: a route that exists only from (or until) a microversion declares it,
  ``openapi_extra=since("X.Y")`` (``x-openstack-microversion``), with versions of the
  service's table; a handler that gates itself on the version (``if version < (2, 78):
  raise NotFound``, ``req.require("1.30")``) without declaring it is reported.
- **request-bodies**: every POST/PUT/PATCH route declares its request body in the
  OpenAPI document (a pydantic model, or ``openapi_extra={"requestBody": ...}``), unless
  allow-listed as taking none.

Use: ``routecheck.check(app, RouteRules(rules=...))`` (all checks) or one check's
problems with ``routecheck.CHECKS[name](app, rules)``.
"""

from __future__ import annotations

import ast
import inspect
import re
import textwrap
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute

from tinystack.common.api.microversion import OPENAPI_KEY
from tinystack.common.api.openapi import POLICIES_KEY, PUBLIC_KEY

#: the openapi_extra key written by ``tinystack.common.api.microversion.since``
MICROVERSION_KEY = OPENAPI_KEY
WRITE_METHODS = ("POST", "PUT", "PATCH")

Route = tuple[str, str]  # (method, path)


@dataclass(frozen=True)
class Endpoint:
    """One (method, path) of the app, in the order the router tries them."""

    method: str
    path: str
    name: str
    extra: dict[str, Any]
    path_regex: re.Pattern[str]
    endpoint: Callable[..., Any] | None

    @property
    def route(self) -> Route:
        return (self.method, self.path)

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


@dataclass(frozen=True)
class RouteRules:
    """What one service's routes are checked against."""

    #: every policy rule name the service registers (``policies.list_rules()``)
    rules: frozenset[str]
    #: routes that check no policy rule of their own (besides ``x-public`` routes)
    public: frozenset[Route] = frozenset()
    #: the service's microversion table, oldest first (None: it has no microversions)
    versions: Sequence[str] | None = None
    #: write routes that take no request body (``POST .../actions/deactivate``)
    bodiless: frozenset[Route] = frozenset()


def _contexts(app: FastAPI) -> Iterable[tuple[APIRoute, Any]]:
    """(APIRoute, effective route) pairs in matching order, routers included."""
    try:
        from fastapi.routing import iter_route_contexts  # FastAPI >= 0.165 includes lazily
    except ImportError:  # pragma: no cover - older FastAPI flattens included routers
        for route in app.routes:
            if isinstance(route, APIRoute):
                yield route, route
        return
    for context in iter_route_contexts(app.routes):
        if isinstance(context.original_route, APIRoute):
            yield context.original_route, context


def endpoints(app: FastAPI) -> list[Endpoint]:
    found = []
    for route, effective in _contexts(app):
        extra = getattr(effective, "openapi_extra", None) or route.openapi_extra or {}
        for method in sorted(getattr(effective, "methods", None) or route.methods or ()):
            found.append(
                Endpoint(
                    method=method,
                    path=str(effective.path),
                    name=route.name,
                    extra=dict(extra),
                    path_regex=effective.path_regex,
                    endpoint=route.endpoint,
                )
            )
    return found


# -- policies -----------------------------------------------------------------------------
def policy_problems(app: FastAPI, rules: RouteRules) -> list[str]:
    problems = []
    for ep in endpoints(app):
        declared = ep.extra.get(POLICIES_KEY)
        if ep.extra.get(PUBLIC_KEY) or ep.route in rules.public:
            continue
        if not declared:
            problems.append(f"{ep}: declares no policy rule (x-policies) and is not public")
            continue
        for rule in declared:
            if rule not in rules.rules:
                problems.append(f"{ep}: policy rule {rule!r} is not registered")
    return problems


# -- unreachable routes -------------------------------------------------------------------
def duplicate_problems(app: FastAPI, rules: RouteRules) -> list[str]:
    """Routes an earlier route of the same method always takes first."""
    del rules
    problems = []
    seen: list[Endpoint] = []
    for ep in endpoints(app):
        for earlier in seen:
            if earlier.method == ep.method and earlier.path_regex.match(ep.path):
                what = "duplicates" if earlier.path == ep.path else "is shadowed by"
                problems.append(f"{ep} {what} {earlier} registered before it")
                break
        seen.append(ep)
    return problems


# -- microversions ------------------------------------------------------------------------
def _gated_versions(func: Callable[..., Any] | None) -> list[str]:
    """The version gates at the top of a handler's body that make the route absent."""
    if func is None:
        return []
    try:
        source = textwrap.dedent(inspect.getsource(func))
    except (OSError, TypeError):
        return []
    tree = ast.parse(source)
    body = tree.body[0].body if tree.body and hasattr(tree.body[0], "body") else []
    gates = []
    for stmt in body:
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
            call = stmt.value
            if isinstance(call.func, ast.Attribute) and call.func.attr == "require":
                gates.append(ast.unparse(call))
        elif isinstance(stmt, ast.If) and _compares_version(stmt.test):
            if len(stmt.body) == 1 and isinstance(stmt.body[0], ast.Raise):
                raised = ast.unparse(stmt.body[0].exc) if stmt.body[0].exc else ""
                if raised.startswith(("NotFound", "MethodNotAllowed", "exception.NotFound")):
                    gates.append(ast.unparse(stmt.test))
    return gates


def _compares_version(test: ast.expr) -> bool:
    if not isinstance(test, ast.Compare) or len(test.comparators) != 1:
        return False
    names = {ast.unparse(test.left), ast.unparse(test.comparators[0])}
    return any(n == "version" or n.endswith(".version") for n in names)


def microversion_problems(app: FastAPI, rules: RouteRules) -> list[str]:
    problems = []
    known = set(rules.versions or ())
    for ep in endpoints(app):
        bounds = ep.extra.get(MICROVERSION_KEY)
        if bounds is not None:
            if rules.versions is None:
                problems.append(f"{ep}: declares microversions but the service has none")
                continue
            for key in ("min", "max"):
                if key in bounds and bounds[key] not in known:
                    problems.append(f"{ep}: {key} version {bounds[key]} is not in the table")
            continue
        for gate in _gated_versions(ep.endpoint):
            problems.append(f"{ep}: handler gates on `{gate}` but declares no since(...)")
    return problems


# -- request bodies -----------------------------------------------------------------------
def request_body_problems(app: FastAPI, rules: RouteRules) -> list[str]:
    paths = app.openapi().get("paths", {})
    problems = []
    for ep in endpoints(app):
        if ep.method not in WRITE_METHODS or ep.route in rules.bodiless:
            continue
        # the OpenAPI document names a converter's parameter without it ({obj:path} -> {obj})
        openapi_path = re.sub(r"\{(\w+):\w+\}", r"{\1}", ep.path)
        operation = paths.get(openapi_path, {}).get(ep.method.lower(), {})
        if "requestBody" not in operation:
            problems.append(f"{ep}: declares no request body in the OpenAPI document")
    return problems


Check = Callable[[FastAPI, RouteRules], list[str]]
CHECKS: dict[str, Check] = {
    "policies": policy_problems,
    "duplicates": duplicate_problems,
    "microversions": microversion_problems,
    "request-bodies": request_body_problems,
}


def check(app: FastAPI, rules: RouteRules, only: Iterable[str] | None = None) -> None:
    """Run the checks (all, or ``only`` these) and fail with every problem found."""
    problems = []
    for name in only or CHECKS:
        problems += [f"[{name}] {p}" for p in CHECKS[name](app, rules)]
    assert not problems, f"{len(problems)} route problems:\n" + "\n".join(problems)
