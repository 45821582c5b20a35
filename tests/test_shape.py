"""The checks that keep every service in the one shape (ARCHITECTURE.md).

Each check runs for every service. What a service does not meet yet is marked
``xfail(strict=True)`` below, one entry per service with the reason: when the service is
fixed the xfail turns into a failure that says to delete the entry (``xfail_strict``).
New offenders fail at once.
"""

from __future__ import annotations

import ast
import importlib
import importlib.metadata
import shutil
import subprocess
import sys
import tomllib
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from tests import routecheck
from tests.routecheck import Route, RouteRules
from tests.support import make_runtime
from tinystack.common.api.body_limit import BodyLimitMiddleware

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "tinystack"
SERVICES = (
    "identity",
    "placement",
    "image",
    "compute",
    "network",
    "volume",
    "object_store",
    "metric",
    "alarm",
    "load_balancer",
    "dashboard",
)

MAX_MODULE_LINES = 800
MAX_FUNCTION_LINES = 100


def xfail(reason: str) -> pytest.MarkDecorator:
    return pytest.mark.xfail(strict=True, reason=reason)


# -- (i) the route table ------------------------------------------------------------------
#: the routes that check no policy rule of their own, per service (besides x-public ones)
PUBLIC: dict[str, set[Route]] = {
    "identity": {(m, p) for m in ("GET", "HEAD") for p in ("/", "/v3", "/v3/")},
    "placement": {("GET", "/")},
    "load_balancer": set(),
    "image": {("GET", p) for p in ("/", "/versions", "/v2", "/v2/")},
    "metric": {("GET", p) for p in ("/", "/v1", "/v1/capabilities")},
    "alarm": {("GET", p) for p in ("/", "/v2/capabilities")},
    "compute": {
        # the action route dispatches on the body; every action names its rule
        # (tests/compute/test_routes.py checks the action table)
        ("POST", "/v2.1/servers/{server_id}/action"),
        # nova has no policy for listing flavors, nor for its image API proxy (glance
        # authorizes the user's token)
        ("GET", "/v2.1/flavors"),
        ("GET", "/v2.1/images"),
        ("GET", "/v2.1/images/detail"),
        ("GET", "/v2.1/images/{image_id}"),
        ("DELETE", "/v2.1/images/{image_id}"),
        ("GET", "/v2.1/images/{image_id}/metadata"),
        ("POST", "/v2.1/images/{image_id}/metadata"),
        ("PUT", "/v2.1/images/{image_id}/metadata"),
        ("GET", "/v2.1/images/{image_id}/metadata/{key}"),
        ("PUT", "/v2.1/images/{image_id}/metadata/{key}"),
        ("DELETE", "/v2.1/images/{image_id}/metadata/{key}"),
    },
    "network": {("GET", p) for p in ("/", "/v2.0", "/v2.0/")},
    "volume": {
        # the action route dispatches on the body; every action names its rules
        # (tests/volume/test_routes.py checks the action table)
        ("POST", "/v3/volumes/{volume_id}/action"),
        # cinder authorizes no rule for these: any valid token may read them
        ("GET", "/v3/extensions"),
        ("GET", "/v3/extensions/{alias}"),
        ("GET", "/v3/os-availability-zone"),
        ("GET", "/v3/resource_filters"),
        ("GET", "/v3/attachments"),
        ("GET", "/v3/attachments/detail"),
        ("GET", "/v3/attachments/{attachment_id}"),
    },
    "object_store": set(),
    "dashboard": set(),
}
#: write routes that take no body (upstream's API has none there)
BODILESS: dict[str, set[Route]] = {
    "identity": {
        ("PUT", "/v3/projects/{project_id}/tags/{tag}"),
        ("PUT", "/v3/groups/{group_id}/users/{user_id}"),
        ("PUT", "/v3/roles/{prior_role_id}/implies/{implied_role_id}"),
        ("PUT", "/v3/{target}/{target_id}/{actor}/{actor_id}/roles/{role_id}"),
        (
            "PUT",
            "/v3/OS-INHERIT/{target}/{target_id}/{actor}/{actor_id}/roles/{role_id}"
            "/inherited_to_projects",
        ),
        ("PUT", "/v3/system/{actor}/{actor_id}/roles/{role_id}"),
        # the identity provider's bearer token (or a signed SAML 2.0 XML document) is the
        # credential; the Keystone-to-Keystone ECP envelope is XML (not a JSON model)
        ("POST", "/v3/OS-FEDERATION/identity_providers/{idp_id}/protocols/{protocol_id}/auth"),
        ("POST", "/Shibboleth.sso/SAML2/ECP"),
        # OAuth1's signed requests carry their parameters in the Authorization header
        ("POST", "/v3/OS-OAUTH1/request_token"),
        ("POST", "/v3/OS-OAUTH1/access_token"),
        ("PUT", "/v3/OS-EP-FILTER/endpoint_groups/{endpoint_group_id}/projects/{project_id}"),
        ("PUT", "/v3/OS-EP-FILTER/projects/{project_id}/endpoints/{endpoint_id}"),
        ("PUT", "/v3/policies/{policy_id}/OS-ENDPOINT-POLICY/endpoints/{endpoint_id}"),
        ("PUT", "/v3/policies/{policy_id}/OS-ENDPOINT-POLICY/services/{service_id}"),
        (
            "PUT",
            "/v3/policies/{policy_id}/OS-ENDPOINT-POLICY/services/{service_id}/regions/{region_id}",
        ),
    },
    "placement": {("PUT", "/traits/{name}")},
    "image": {
        ("POST", "/v2/images/{image_id}/actions/deactivate"),
        ("POST", "/v2/images/{image_id}/actions/reactivate"),
        ("PUT", "/v2/images/{image_id}/tags/{tag}"),
        ("PUT", "/v2/cache/{image_id}"),
        ("POST", "/v2/metadefs/namespaces/{namespace}/tags/{tag_name}"),
    },
    "compute": {("PUT", "/v2.1/servers/{server_id}/tags/{tag}")},
    "network": {("PUT", "/v2.0/{resources}/{resource_id}/tags/{tag}")},
    "volume": set(),
    "metric": set(),
    "alarm": set(),
    # Octavia's failover takes no body
    "load_balancer": {("PUT", "/v2/lbaas/loadbalancers/{loadbalancer_id}/failover")},
    # Swift takes metadata in headers: these writes have no body
    "object_store": {
        ("POST", "/v1/{account}"),
        ("PUT", "/v1/{account}/{container}"),
        ("POST", "/v1/{account}/{container}"),
        ("POST", "/v1/{account}/{container}/{obj:path}"),
    },
    # logout takes no body; the pass-through forwards the console's bodies to the service
    # that validates them
    "dashboard": {("POST", "/api/openstack/skyline/api/v1/logout")}
    | {(m, "/api/openstack/{region}/{service}/{path:path}") for m in ("POST", "PUT", "PATCH")},
}
#: the services with microversions: where their ``Microversions`` is
MICROVERSIONS = {
    "placement": ("tinystack.placement.api.microversion", "PLACEMENT"),
    "compute": ("tinystack.compute.api.microversion", "COMPUTE"),
    "volume": ("tinystack.volume.api.microversion", "VOLUME"),
}

_NO_POLICIES = "routes declare no policy rules (openapi_extra x-policies)"
_NO_BODIES = "write routes without a request model in the OpenAPI document"
ROUTE_XFAIL: dict[tuple[str, str], str] = {}


def _route_cases() -> Iterator[Any]:
    for service in SERVICES:
        for check in routecheck.CHECKS:
            reason = ROUTE_XFAIL.get((service, check))
            marks = [xfail(reason)] if reason else []
            yield pytest.param(service, check, marks=marks, id=f"{service}-{check}")


_APPS: dict[str, FastAPI] = {}


def service_app(service: str, tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    if service not in _APPS:
        spec = importlib.import_module(f"tinystack.{service}.service").SERVICE
        runtime = make_runtime(tmp_path_factory.mktemp(service), spec)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _APPS[service] = spec.create_app(runtime)
    return _APPS[service]


def route_rules(service: str) -> RouteRules:
    policies = importlib.import_module(f"tinystack.{service}.policies")
    versions = None
    if service in MICROVERSIONS:
        module, name = MICROVERSIONS[service]
        versions = list(getattr(importlib.import_module(module), name).versions)
    return RouteRules(
        rules=frozenset(rule.name for rule in policies.list_rules()),
        public=frozenset(PUBLIC[service]),
        versions=versions,
        bodiless=frozenset(BODILESS[service]),
    )


@pytest.mark.parametrize(("service", "check"), list(_route_cases()))
def test_routes(service: str, check: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    routecheck.check(service_app(service, tmp_path_factory), route_rules(service), [check])


@pytest.mark.parametrize("service", SERVICES)
def test_body_limit(service: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Every API refuses bodies over [DEFAULT] max_request_body_size (common/api/app.py's
    create_app adds the middleware; an app built otherwise would escape it)."""
    app = service_app(service, tmp_path_factory)
    classes: list[object] = [m.cls for m in app.user_middleware]
    assert BodyLimitMiddleware in classes, service


# -- (ii) no hand-written dict[str, Any] at the service layer and on RPC ----------------------
DICT_XFAIL: dict[str, str] = {}
#: the service layer's directory in every service
SERVICE_LAYERS = ("services",)
#: modules of typed RPC clients
RPC_MODULES = ("rpcapi.py",)
_DICTS = {"dict", "Dict", "Mapping", "MutableMapping"}


def _is_str_any_dict(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Subscript)
        and ast.unparse(node.value).split(".")[-1] in _DICTS
        and ast.unparse(node.slice).strip("()") == "str, Any"
    )


def _dict_aliases(tree: ast.Module) -> set[str]:
    """Module-level ``Item = dict[str, Any]`` (or ``Item: TypeAlias = ...``) names."""
    found = set()
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        else:
            continue
        if isinstance(target, ast.Name) and _is_str_any_dict(value):
            found.add(target.id)
    return found


def _mentions_dict(annotation: ast.expr | None, aliases: set[str]) -> bool:
    """Whether an annotation is or contains ``dict[str, Any]`` (not inside a Callable)."""
    stack: list[ast.AST] = [annotation] if annotation is not None else []
    while stack:
        node = stack.pop()
        if _is_str_any_dict(node) or (isinstance(node, ast.Name) and node.id in aliases):
            return True
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            stack.append(ast.parse(node.value, mode="eval").body)
        elif not (isinstance(node, ast.Subscript) and ast.unparse(node.value).endswith("Callable")):
            stack.extend(ast.iter_child_nodes(node))
    return False


def _signature_offences(
    func: ast.FunctionDef | ast.AsyncFunctionDef, where: str, aliases: set[str]
) -> list[str]:
    args = func.args
    params = [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
    found = [
        f"{where}({p.arg})"
        for p in params
        if p is not None and _mentions_dict(p.annotation, aliases)
    ]
    if _mentions_dict(func.returns, aliases):
        found.append(f"{where} -> ...")
    return found


def _public_methods(cls: ast.ClassDef) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
    for node in cls.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if not node.name.startswith("_"):
                yield node


def _is_endpoint(cls: ast.ClassDef) -> bool:
    """An RPC endpoint declares ``target = Target(...)`` in its class body."""
    for node in cls.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
            names = [t.id for t in node.targets if isinstance(t, ast.Name)]
            if "target" in names and ast.unparse(node.value.func).endswith("Target"):
                return True
    return False


def _parsed(service: str) -> dict[Path, ast.Module]:
    base = PACKAGE / service
    return {
        path: ast.parse(path.read_text())
        for path in sorted(base.rglob("*.py"))
        if "migrations" not in path.parts
    }


def dict_offences(service: str) -> list[str]:
    """Public service-layer functions and RPC methods with a ``dict[str, Any]`` signature."""
    trees = _parsed(service)
    offences: list[str] = []
    classes = {
        n.name: n for t in trees.values() for n in ast.walk(t) if isinstance(n, ast.ClassDef)
    }
    endpoint_classes: set[str] = set()
    pending = [name for name, cls in classes.items() if _is_endpoint(cls)]
    while pending:  # endpoints and the classes they inherit their methods from
        name = pending.pop()
        if name in endpoint_classes or name not in classes:
            continue
        endpoint_classes.add(name)
        pending += [ast.unparse(b).split(".")[-1] for b in classes[name].bases]
    for path, tree in trees.items():
        rel = path.relative_to(PACKAGE / service)
        aliases = _dict_aliases(tree)
        in_layer = rel.parts[0] in SERVICE_LAYERS
        rpc_module = rel.name in RPC_MODULES and len(rel.parts) == 1
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and in_layer:
                if not node.name.startswith("_"):
                    offences += _signature_offences(node, f"{rel}::{node.name}", aliases)
            elif isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                if in_layer or rpc_module or node.name in endpoint_classes:
                    for method in _public_methods(node):
                        where = f"{rel}::{node.name}.{method.name}"
                        offences += _signature_offences(method, where, aliases)
    return offences


@pytest.mark.parametrize(
    "service",
    [pytest.param(s, marks=[xfail(DICT_XFAIL[s])] if s in DICT_XFAIL else []) for s in SERVICES],
)
def test_no_dict_any_in_service_and_rpc_signatures(service: str) -> None:
    offences = dict_offences(service)
    assert not offences, f"{len(offences)} dict[str, Any] signatures:\n" + "\n".join(offences)


def test_the_dict_check_sees_aliases_and_skips_callables() -> None:
    tree = ast.parse(
        "Item = dict[str, Any]\n"
        "def a(x: Item) -> None: ...\n"
        "def b(x: list[dict[str, Any]] | None) -> None: ...\n"
        "def c(check: Callable[[dict[str, Any]], None]) -> Mapping[str, Any]: ...\n"
        "def d(x: dict[str, int]) -> 'dict[str, Any]': ...\n"
    )
    aliases = _dict_aliases(tree)
    funcs = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
    found = [o for f in funcs for o in _signature_offences(f, f.name, aliases)]
    assert found == ["a(x)", "b(x)", "c -> ...", "d -> ..."]


# -- (ii b) services return records, never ORM rows ----------------------------------------
ORM_XFAIL: dict[str, str] = {}


def _model_names(tree: ast.Module, service: str) -> tuple[set[str], set[str]]:
    """Names bound to classes of ``<service>.models`` and names bound to the module itself."""
    classes: set[str] = set()
    modules: set[str] = {"models"}
    package, module = f"tinystack.{service}", f"tinystack.{service}.models"
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            source = node.module or ""
            if source == module or (node.level and source == "models"):
                classes |= {a.asname or a.name for a in node.names}
            elif source == package or (node.level and not source):
                modules |= {a.asname or a.name for a in node.names if a.name == "models"}
        elif isinstance(node, ast.Import):
            modules |= {a.asname or a.name for a in node.names if a.name == module}
    return classes, modules


def _names_a_model(annotation: ast.expr | None, classes: set[str], modules: set[str]) -> bool:
    stack: list[ast.AST] = [annotation] if annotation is not None else []
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            stack.append(ast.parse(node.value, mode="eval").body)
        elif isinstance(node, ast.Name) and node.id in classes:
            return True
        elif isinstance(node, ast.Attribute) and ast.unparse(node.value) in modules:
            return True
        else:
            stack.extend(ast.iter_child_nodes(node))
    return False


def orm_offences(service: str) -> list[str]:
    """Public functions of ``<service>/services/`` whose return annotation names a model."""
    base = PACKAGE / service / "services"
    offences: list[str] = []
    for path in sorted(base.rglob("*.py")):
        rel = path.relative_to(PACKAGE / service)
        if any(part.startswith("_") and part != "__init__.py" for part in rel.parts):
            continue
        tree = ast.parse(path.read_text())
        classes, modules = _model_names(tree, service)
        scopes: list[ast.AST] = [tree]
        scopes += [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name[0] != "_"]
        for scope in scopes:
            for node in ast.iter_child_nodes(scope):
                if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    continue
                returns = node.returns
                if returns is None or node.name.startswith("_"):
                    continue
                if _names_a_model(returns, classes, modules):
                    offences.append(f"{rel}::{node.name} -> {ast.unparse(returns)}")
    return offences


@pytest.mark.parametrize(
    "service",
    [pytest.param(s, marks=[xfail(ORM_XFAIL[s])] if s in ORM_XFAIL else []) for s in SERVICES],
)
def test_services_return_records_not_orm_rows(service: str) -> None:
    offences = orm_offences(service)
    assert not offences, f"{len(offences)} service functions return ORM rows:\n" + "\n".join(
        offences
    )


def test_the_orm_check_sees_models_and_skips_private_names() -> None:
    tree = ast.parse(
        "from tinystack.x import models\n"
        "from tinystack.x.models import Thing as T\n"
        "def a() -> models.Thing: ...\n"
        "def b() -> list[T] | None: ...\n"
        "def c() -> 'models.Thing | None': ...\n"
        "def _d() -> models.Thing: ...\n"
        "def e() -> Record: ...\n"
    )
    classes, modules = _model_names(tree, "x")
    funcs = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name[0] != "_"]
    found = [f.name for f in funcs if _names_a_model(f.returns, classes, modules)]
    assert found == ["a", "b", "c"]


# -- (iii) sizes --------------------------------------------------------------------------


def _sources() -> Iterator[tuple[str, str]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        if "migrations" not in path.parts:
            yield str(path.relative_to(PACKAGE)), path.read_text()


def _functions(tree: ast.AST, prefix: str = "") -> Iterator[tuple[str, int]]:
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            name = f"{prefix}{node.name}"
            if not isinstance(node, ast.ClassDef):
                yield name, (node.end_lineno or node.lineno) - node.lineno + 1
            yield from _functions(node, f"{name}.")


def module_lengths() -> dict[str, int]:
    return {rel: len(text.splitlines()) for rel, text in _sources()}


def function_lengths() -> dict[str, int]:
    return {
        f"{rel}::{name}": length
        for rel, text in _sources()
        for name, length in _functions(ast.parse(text))
    }


def test_no_new_module_over_800_lines() -> None:
    over = {p: n for p, n in module_lengths().items() if n > MAX_MODULE_LINES}
    assert not over, f"modules over {MAX_MODULE_LINES} lines: {over}"


def test_no_new_function_over_100_lines() -> None:
    over = {f: n for f, n in function_lengths().items() if n > MAX_FUNCTION_LINES}
    assert not over, f"functions over {MAX_FUNCTION_LINES} lines: {over}"


# -- one service-token session ---------------------------------------------------------------
#: the one Keystone password-auth implementation (identity serves the route itself)
TOKEN_CLIENT = "common/clients/session.py"
#: modules that name the route without asking for tokens: the access-rule check lets a
#: restricted token validate itself there, as keystonemiddleware does
NAMES_THE_ROUTE = {"common/auth/access_rules.py"}


def token_requesters() -> list[str]:
    """Modules outside identity that name ``/auth/tokens`` (they ask for a token)."""
    return [
        rel
        for rel, text in _sources()
        if "/auth/tokens" in text
        and not rel.startswith("identity/")
        and rel != TOKEN_CLIENT
        and rel not in NAMES_THE_ROUTE
    ]


def test_only_the_session_asks_keystone_for_tokens() -> None:
    unexpected = token_requesters()
    assert not unexpected, f"use tinystack.common.clients.session.Session: {sorted(unexpected)}"


# -- (iv) policy defaults through the oslo.policy.policies entry points -----------------------
ENTRY_POINT_GROUP = "oslo.policy.policies"


def declared_entry_points() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return dict(project["entry-points"][ENTRY_POINT_GROUP])


@pytest.mark.parametrize("service", SERVICES)
def test_policies_are_declared_as_entry_points(service: str) -> None:
    target = declared_entry_points()[f"tinystack.{service}"]
    module, _, attr = target.partition(":")
    rules = list(getattr(importlib.import_module(module), attr)())
    own = importlib.import_module(f"tinystack.{service}.policies").list_rules()
    assert [r.name for r in rules] == [r.name for r in own] and rules


def _installed_entry_points() -> dict[str, importlib.metadata.EntryPoint]:
    found = importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
    return {ep.name: ep for ep in found if ep.name.startswith("tinystack.")}


@pytest.mark.parametrize("service", SERVICES)
def test_installed_entry_point_lists_every_default(service: str) -> None:
    installed = _installed_entry_points()
    if not installed:
        pytest.skip("the installed tinystack predates its entry points: pip install -e . again")
    if f"tinystack.{service}" not in installed:
        pytest.skip(f"the installed tinystack predates tinystack.{service}: pip install -e .")
    rules = installed[f"tinystack.{service}"].load()()
    own = importlib.import_module(f"tinystack.{service}.policies").list_rules()
    assert [r.name for r in rules] == [r.name for r in own]


def test_sample_generator_prints_every_compute_default() -> None:
    generator = shutil.which("oslopolicy-sample-generator", path=str(Path(sys.executable).parent))
    if generator is None or "tinystack.compute" not in _installed_entry_points():
        pytest.skip("oslopolicy-sample-generator or the installed entry points are missing")
    out = subprocess.run(
        [generator, "--namespace", "tinystack.compute"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    rules = importlib.import_module("tinystack.compute.policies").list_rules()
    missing = [r.name for r in rules if f'#"{r.name}":' not in out]
    assert not missing, f"defaults missing from the sample: {missing}"
