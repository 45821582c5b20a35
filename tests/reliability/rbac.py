"""The RBAC matrix: every route of every service (each service's ``/openapi.json``, which
its route table generates, with the ``x-policies`` every route declares) called by six
personas against resources of project A, each answer compared with what the service's
default policy (its ``policies.list_rules()``, upstream's rule names and defaults) says
that persona may do there.

A cell (route, persona) holds when:

- nothing answers 5xx;
- a persona the policy allows is not refused (403), nor answered 401;
- a persona the policy denies gets no 2xx/3xx: 403, or 404 where upstream hides what the
  caller may not see, or 400 where upstream validates the body before authorizing (Nova,
  Cinder); the matrix sends an empty JSON object as every write's body, so a write the
  policy allows is refused by validation (400) or is harmless (an empty update);
- a reader never writes, and a member of project B never reads or changes A's resources
  (both follow from the policy; :func:`reader_writes` lists the defaults that let a
  reader write, for the record).

Deletes name resources that do not exist (a delete the policy allows would remove what
later cells need): they check only that no persona is refused against the policy.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from oslo_config import cfg

from tinystack.common.auth.context import RequestContext
from tinystack.common.auth.tokens import TokenPayload
from tinystack.common.policy import Policy

PERSONAS = (
    "member_b",
    "reader_a",
    "member_a",
    "manager_a",
    "admin_a",
    "system_admin",
)
#: roles each persona holds, implied roles included (admin => manager => member => reader)
ROLES = {
    "member_b": ("member", "reader"),
    "reader_a": ("reader",),
    "member_a": ("member", "reader"),
    "manager_a": ("manager", "member", "reader"),
    "admin_a": ("admin", "manager", "member", "reader"),
    "system_admin": ("admin", "manager", "member", "reader"),
}
WRITES = ("POST", "PUT", "PATCH", "DELETE")
METHODS = ("get", "head", "post", "put", "patch", "delete")
#: a path parameter no resource has
MISSING = "a0a0a0a0-0000-4000-8000-00000000dead"
#: microversion headers: the newest version, so every route that exists is reachable
VERSIONS = {
    "compute": "compute latest",
    "placement": "placement latest",
    "volume": "volume latest",
}


#: the path parameters naming A's own resources (B must never see their ids)
RESOURCES = frozenset(
    {"network_id", "subnet_id", "port_id", "security_group_id", "router_id", "image_id",
     "volume_id", "server_id"}
)  # fmt: skip
#: routes whose declared rule only shapes the answer (what it shows), not whether the
#: caller may call it: upstream has no rule gating them
SHAPING = frozenset(
    {
        # nova lists flavors to anyone; the extra-specs rule decides whether they show
        ("compute", "GET", "/v2.1/flavors/detail"),
        # cinder lists group types to anyone; the specs rule decides whether they show
        ("volume", "GET", "/v3/group_types"),
        # gnocchi authorizes each metric of a batch (an empty batch has none)
        ("metric", "POST", "/v1/batch/resources/metrics/measures"),
        ("metric", "POST", "/v1/batch/metrics/measures"),
    }
)
#: POSTs that read: Prometheus' HTTP API takes the same parameters as a form body (for
#: long queries), so a reader may call them (its ``get measures`` only filters the series)
READS = frozenset(
    ("metric", "POST", "/api/v1/" + name)
    for name in ("query", "query_range", "series", "labels", "query_exemplars")
)
#: routes whose rule's target comes from the query (the matrix sends none): placement's
#: total usages authorizes against ``?project_id=``
QUERY_TARGET = frozenset({("placement", "GET", "/usages")})

#: routes that check their rule only for another project's resource (one's own project
#: needs none): Neutron's quotas, as upstream's quota controller
OWN_PROJECT_FREE: frozenset[tuple[str, str, str]] = frozenset(
    ("network", "GET", "/v2.0/quotas/{project_id}" + tail) for tail in ("", "/default", "/details")
)


@dataclass(frozen=True)
class Persona:
    name: str
    token: str
    user_id: str
    project_id: str | None
    system: bool = False


@dataclass(frozen=True)
class RouteCase:
    service: str
    method: str
    path: str
    rules: tuple[str, ...]


@dataclass
class Result:
    cells: int = 0
    denied: int = 0
    routes: int = 0
    problems: list[str] = field(default_factory=list)


def routes(service: str, document: dict[str, Any]) -> list[RouteCase]:
    """Every route of the document that checks a policy rule (public routes check none)."""
    found = []
    for path, ops in document.get("paths", {}).items():
        for method, op in ops.items():
            if method not in METHODS or op.get("x-public"):
                continue
            rules = tuple(op.get("x-policies") or ())
            found.append(RouteCase(service, method.upper(), path, rules))
    # deletes last: what they remove (when the policy allows) others must not need
    return sorted(found, key=lambda r: r.method == "DELETE")


def policy(rules: list[Any]) -> Policy:
    conf = cfg.ConfigOpts()
    conf([], project="tinystack-rbac", default_config_files=[])
    return Policy(conf, rules)


def context(persona: Persona, policy_: Policy) -> RequestContext:
    payload = TokenPayload(
        user_id=persona.user_id,
        methods=("password",),
        expires_at=0.0,
        project_id=persona.project_id,
        system=persona.system,
        roles=tuple((name, name) for name in ROLES[persona.name]),
    )
    return RequestContext(request_id="rbac", payload=payload, policy=policy_)


def target(path: str, params: dict[str, str], persona: Persona) -> dict[str, Any]:
    """What the service authorizes the route's rule against: the resource the path's
    parameters name (project A's); for a collection (no parameter), the caller's own
    project and user (a list shows the caller's own, or filters)."""
    names = re.findall(r"\{(\w+)", path)
    if not names:
        own, me = persona.project_id, persona.user_id
        mine = {"project": {"id": own}, "user": {"id": me}, "credential": {"user_id": me}}
        return {"project_id": own, "tenant_id": own, "owner": own, "user_id": me, "target": mine}
    project = params.get("project_id", MISSING)
    found: dict[str, Any] = {"project_id": project, "tenant_id": project, "owner": project}
    if "user_id" in names:
        found["user_id"] = params["user_id"]
        found["target"] = {"user": {"id": params["user_id"], "domain_id": "default"}}
    if "project_id" in names:
        found.setdefault("target", {})["project"] = {"id": project, "domain_id": "default"}
    return found


def effective(method: str, params: dict[str, str]) -> dict[str, str]:
    """The path parameters a route is called with: A's resources, except for deletes,
    which name nothing that exists (deleting project A would end the matrix)."""
    return dict.fromkeys(params, MISSING) if method == "DELETE" else params


def fill(path: str, params: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: params.get(m.group(1), MISSING), path)


def filters(route: RouteCase) -> bool:
    """Neutron's lists check the rule per item and leave out what it denies (200)."""
    return route.service == "network" and route.method == "GET" and "{" not in route.path


def refused_by_policy(status: int, text: str) -> bool:
    """A 403 of the policy (not one of validation: Keystone's invalid domain config)."""
    words = ("not authorized", "disallowed by policy", "Access was denied")
    return status == 403 and any(w in text for w in words)


def _bound(
    check: Callable[[Persona, str, dict[str, Any]], bool], persona: Persona, where: dict[str, Any]
) -> Callable[[str], bool]:
    return lambda rule: check(persona, rule, where)


def allows(route: RouteCase, check: Callable[[str], bool]) -> bool | None:
    """Whether the policy lets the caller through the route: the first rule is always
    checked (False when it denies); the others are checked when the request asks for
    what they guard (``index:get_all_tenants``, ``publicize_image``, attribute rules) or,
    for a write, after loading the resource (``get_member`` then ``modify_member``): True
    when they allow too, None (either answer) when one of them denies."""
    if not check(route.rules[0]):
        return False
    return True if all(check(rule) for rule in route.rules[1:]) else None


def judge(
    route: RouteCase, persona: Persona, allowed: bool | None, status: int, text: str
) -> str | None:
    """Why the cell does not hold (None: it does)."""
    where = f"{route.service} {route.method} {route.path} as {persona.name}"
    if status >= 500 and status != 501:
        return f"{where}: {status} {text[:200]}"
    if allowed is None:  # a rule the request may not reach decides: only readers are sure
        writes = route.method in WRITES and (route.service, route.method, route.path) not in READS
        if persona.name == "reader_a" and writes and status < 400:
            return f"{where}: a reader wrote ({status}) where a rule of {route.rules} denies"
        return None
    if allowed and (status == 401 or refused_by_policy(status, text)):
        return f"{where}: policy {route.rules[0]} allows, the service answers {status}"
    if not allowed and status < 400 and not (filters(route) and status == 200):
        return f"{where}: policy {route.rules[0]} denies, the service answers {status}"
    # denied: refused (403), hidden (404), or refused by the checks upstream makes before
    # authorizing (the body's validation 400, its media type 415)
    if not allowed and status >= 400 and status not in (400, 403, 404, 405, 415):
        return f"{where}: policy {route.rules[0]} denies, the service answers {status}"
    return None


def run_route(
    route: RouteCase,
    root: str,
    personas: list[Persona],
    params: dict[str, str],
    project_a: str,
    check: Callable[[Persona, str, dict[str, Any]], bool],
) -> tuple[int, int, list[str]]:
    """Call one route as every persona; (cells checked, cells the policy denies,
    problems)."""
    params = effective(route.method, params)
    url = root + fill(route.path, params)
    body: dict[str, Any] | None = {} if route.method in ("POST", "PUT", "PATCH") else None
    problems = []
    cells = denied = 0
    with httpx.Client(timeout=60) as client:
        for persona in personas:
            headers = {"X-Auth-Token": persona.token}
            if route.service in VERSIONS:
                headers["OpenStack-API-Version"] = VERSIONS[route.service]
            response = client.request(route.method, url, json=body, headers=headers)
            cells += 1
            if not route.rules:  # a route authorizing per body (actions) or by token only
                if response.status_code >= 500 and response.status_code != 501:
                    problems.append(f"{route.service} {route.method} {route.path}: 5xx")
                continue
            key = (route.service, route.method, route.path)
            where = {} if key in QUERY_TARGET else target(route.path, params, persona)
            allowed = allows(route, _bound(check, persona, where))
            if key in OWN_PROJECT_FREE and persona.project_id == project_a:
                allowed = True
            denied += allowed is False
            problem = judge(route, persona, allowed, response.status_code, response.text)
            if problem and (route.service, route.method, route.path) not in SHAPING:
                problems.append(problem)
            if persona.name == "member_b" and response.status_code < 400:
                problems += [
                    f"{route.service} {route.method} {route.path}: member of B sees A's {name}"
                    for name, value in params.items()
                    if name in RESOURCES and value in response.text
                ]
    return cells, denied, problems


def reader_writes(
    service: str,
    cases: list[RouteCase],
    check: Callable[..., bool],
    reader: Persona,
    project_a: str,
) -> list[str]:
    """The write routes whose default policy lets a reader of A write (by upstream's
    defaults: these are upstream's own, e.g. a user changing their own password)."""
    found = []
    for case in cases:
        if case.method in WRITES and case.rules:
            mine = {"user_id": reader.user_id, "project_id": project_a}
            where = target(case.path, mine, reader)
            if allows(case, _bound(check, reader, where)) is True:
                found.append(f"{service} {case.method} {case.path} ({case.rules[0]})")
    return found
