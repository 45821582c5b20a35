"""Schema fuzzing of a running cloud: every operation of a service's ``/openapi.json``
driven by schemathesis (Hypothesis strategies from the documented parameters and request
bodies), positive and negative examples, bounded by count per operation and by time.

What every response is checked for (:func:`response_problems`):

- no 5xx;
- the status is one the operation documents (its success codes) or an error status
  upstream's APIs answer (4xx; never FastAPI's 422 outside object storage, where Swift
  answers 422 for a bad ETag);
- an error body in the service's OpenStack shape (:data:`ERROR_SHAPES`).

And what the service's state is checked for afterwards (:func:`consistency_problems`):
every collection's items can be shown one by one (no row without what makes it whole),
and the negative examples, which must all be refused, changed no collection.

Used by ``tests/reliability/test_schema_fuzz.py`` (bounded, in ``make test``) and by
``benchmarks/fuzz.py`` (a longer run against any cloud).
"""

from __future__ import annotations

import json
import re
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx
import requests

#: the statuses an OpenStack API answers for a refused request
ERROR_STATUSES = frozenset({400, 401, 403, 404, 405, 406, 409, 410, 411, 412, 413, 415, 416, 429})
#: the services whose error pages are not JSON (Glance's webob text, Swift's HTML)
TEXT_ERRORS = {"image": "text/plain", "object_store": "text/html"}
#: the doc's title names the service: "tinystack load balancer"
TITLE = re.compile(r"^tinystack (.+)$")
#: titles that are not the service's name
TITLES = {"object storage": "object_store"}


def _dict(body: Any, keys: set[str]) -> bool:
    return isinstance(body, dict) and keys <= set(body)


def _single_fault(status: int, body: Any) -> str | None:
    """Nova's and Cinder's ``{"<fault name>": {"code": status, "message": ...}}``."""
    if not isinstance(body, dict) or len(body) != 1:
        return "not one fault object"
    fault = next(iter(body.values()))
    if not _dict(fault, {"code", "message"}) or fault["code"] != status:
        return "fault lacks code/message or its code differs from the status"
    return None


def _identity(status: int, body: Any) -> str | None:
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict) or not _dict(error, {"code", "message", "title"}):
        return 'not {"error": {"code", "message", "title"}}'
    if error["code"] != status:
        return f"error code {error['code']} differs from the status"
    return None


def _network(status: int, body: Any) -> str | None:
    error = body.get("NeutronError") if isinstance(body, dict) else None
    if not _dict(error, {"type", "message", "detail"}):
        return 'not {"NeutronError": {"type", "message", "detail"}}'
    return None


def _placement(status: int, body: Any) -> str | None:
    errors = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(errors, list) or not errors:
        return 'not {"errors": [...]}'
    # ``code`` only from microversion 1.23
    if not all(_dict(e, {"status", "title", "detail", "request_id"}) for e in errors):
        return "an error lacks status/title/detail/request_id"
    return None


def _metric(status: int, body: Any) -> str | None:
    if not _dict(body, {"code", "description", "title"}):
        return 'not {"code", "description", "title"}'
    return None


def _load_balancer(status: int, body: Any) -> str | None:
    if not _dict(body, {"faultcode", "faultstring", "debuginfo"}):
        return 'not {"faultcode", "faultstring", "debuginfo"}'
    return None


def _alarm(status: int, body: Any) -> str | None:
    error = body.get("error_message") if isinstance(body, dict) else None
    if not _dict(error, {"faultcode", "faultstring", "debuginfo"}):
        return 'not {"error_message": {"faultcode", "faultstring", "debuginfo"}}'
    return None


def _prometheus(status: int, body: Any) -> str | None:
    """The metric service's Prometheus query API: Prometheus' own error body (a token
    refused before the handler runs still answers in the metric service's shape)."""
    if _dict(body, {"status", "errorType", "error"}) and body["status"] == "error":
        return None
    return _metric(status, body) and 'not {"status": "error", "errorType", "error"}'


def _dashboard(status: int, body: Any) -> str | None:
    return None if _dict(body, {"detail"}) else 'not {"detail": ...}'


#: service -> what makes a JSON error body its upstream's (None: it is)
ERROR_SHAPES: dict[str, Callable[[int, Any], str | None]] = {
    "identity": _identity,
    "compute": _single_fault,
    "volume": _single_fault,
    "network": _network,
    "placement": _placement,
    "metric": _metric,
    "alarm": _alarm,
    "load_balancer": _load_balancer,
    "dashboard": _dashboard,
    "metric:prometheus": _prometheus,
}


def shape_of(service: str, path: str) -> str:
    """Which error shape a route answers in: its service's, or (the metric service's
    ``/api/v1/...``) Prometheus'."""
    if service == "metric" and path.startswith("/api/v1/"):
        return "metric:prometheus"
    return service


def error_shape_problem(service: str, status: int, content_type: str, text: str) -> str | None:
    """Why an error response is not in the service's shape (None: it is)."""
    if service in TEXT_ERRORS:
        if not content_type.startswith(TEXT_ERRORS[service]):
            return f"error content type {content_type!r}, not {TEXT_ERRORS[service]}"
        return None
    if status == 405 and not text:
        return None
    try:
        body = json.loads(text)
    except ValueError:
        return f"error body is not JSON: {text[:80]!r}"
    check = ERROR_SHAPES.get(service)
    return check(status, body) if check else None


def provider_unsupported(service: str, status: int, text: str) -> bool:
    """Octavia's 501 for what the load balancer's provider does not support (upstream's
    answer too: ``ProviderNotImplementedError``)."""
    return service == "load_balancer" and status == 501 and "does not support" in text


def response_problems(
    service: str, documented: set[str], status: int, content_type: str, text: str, head: bool
) -> list[str]:
    """What is wrong with one response (empty: nothing)."""
    problems = []
    if provider_unsupported(service, status, text):
        pass
    elif status >= 500:
        problems.append(f"server error {status}: {text[:300]}")
    elif status < 400:
        # a route that declares no status documents FastAPI's 200: its handler sets the
        # status (202 or 204 by microversion, as upstream's); one that declares it, keeps it
        undeclared = "200" in documented and 200 <= status < 300
        if str(status) not in documented and not undeclared:
            problems.append(f"status {status} not documented ({', '.join(sorted(documented))})")
    elif status not in ERROR_STATUSES and not (status == 422 and service == "object_store"):
        problems.append(f"status {status} is no status upstream answers: {text[:200]}")
    if status >= 400 and not head:
        shape = error_shape_problem(service, status, content_type, text)
        if shape:
            problems.append(f"error body: {shape}")
    return problems


@dataclass
class Finding:
    service: str
    operation: str
    problem: str
    request: str

    def __str__(self) -> str:
        return f"[{self.service}] {self.operation}: {self.problem}\n    {self.request}"


@dataclass
class Stats:
    """What a fuzz run did and found."""

    operations: int = 0
    examples: int = 0
    server_errors: int = 0
    findings: list[Finding] = field(default_factory=list)
    #: operations not reached before the run's deadline
    skipped: list[str] = field(default_factory=list)

    def add(self, other: Stats) -> None:
        self.operations += other.operations
        self.examples += other.examples
        self.server_errors += other.server_errors
        self.findings += other.findings
        self.skipped += other.skipped


def _header(headers: Any, name: str) -> str:
    """A header of schemathesis's response (its values are lists)."""
    value = headers.get(name) or headers.get(name.title()) or ""
    return str(value[0] if isinstance(value, list) and value else value)


def _json_patch(ctx: Any, value: Any) -> bytes:
    """Glance's JSON-patch media types are JSON documents."""
    return json.dumps(value).encode()


def register_serializers() -> None:
    import schemathesis

    schemathesis.serializer(
        "application/openstack-images-v2.1-json-patch",
        "application/openstack-images-v2.0-json-patch",
    )(_json_patch)


def _describe(case: Any) -> str:
    try:
        return str(case.as_curl_command(headers={"X-Auth-Token": "$TOKEN"}))
    except Exception:  # pragma: no cover - a case schemathesis cannot render
        return f"{case.method} {case.formatted_path}"


def service_name(document: dict[str, Any]) -> str:
    match = TITLE.match(str(document.get("info", {}).get("title", "")))
    name = match.group(1) if match else "unknown"
    return TITLES.get(name, name.replace(" ", "_"))


def load_schema(root: str) -> Any:
    """The schemathesis schema of the service whose API root is ``root``."""
    import schemathesis

    register_serializers()
    return schemathesis.openapi.from_url(f"{root}/openapi.json", timeout=60)


def operations(schema: Any) -> Iterator[Any]:
    for result in schema.get_all_operations():
        try:
            yield result.ok()
        except Exception:  # an operation schemathesis cannot build strategies for
            continue


#: JSON schema keywords that leave room for an invalid value
CONSTRAINTS = frozenset(
    {"enum", "const", "pattern", "format", "minimum", "maximum", "exclusiveMinimum",
     "exclusiveMaximum", "minLength", "maxLength", "minItems", "maxItems", "required",
     "additionalProperties", "multipleOf", "anyOf", "oneOf", "allOf", "properties"}
)  # fmt: skip


def negatable(operation: Any) -> bool:
    """Whether the operation has anything a negative example can break: a body, or a
    parameter that is more than any string (a plain string path parameter has none)."""
    raw = operation.definition.raw
    if "requestBody" in raw:
        return True
    for parameter in raw.get("parameters", []):
        schema = parameter.get("schema", {})
        if schema.get("type", "string") != "string" or CONSTRAINTS & set(schema):
            return True
    return False


#: CPython 3.11's ast.parse racing in another thread while Hypothesis reads a lambda's
#: source (two runs in threads): the operation is run again
RACE = "AST constructor recursion depth mismatch"


def fuzz_operation(
    service: str,
    operation: Any,
    root: str,
    session: requests.Session,
    *,
    max_examples: int,
    negative: bool,
    stats: Stats,
) -> None:
    """Run up to ``max_examples`` examples of one operation in one mode."""
    from hypothesis import HealthCheck, Phase, Verbosity, given, settings
    from schemathesis import GenerationMode

    mode = GenerationMode.NEGATIVE if negative else GenerationMode.POSITIVE
    documented = {str(code) for code in operation.definition.raw.get("responses", {})}
    label = f"{operation.method.upper()} {operation.path}"

    @settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
        print_blob=False,
        verbosity=Verbosity.quiet,
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        try:
            response = case.call(base_url=root, session=session, timeout=60)
        except requests.RequestException as exc:
            stats.findings.append(Finding(service, label, f"no answer: {exc}", _describe(case)))
            return
        stats.examples += 1
        content_type = _header(response.headers, "content-type")
        if response.status_code >= 500 and not provider_unsupported(
            service, response.status_code, response.text
        ):
            stats.server_errors += 1
        head = case.method.upper() == "HEAD"
        shape = shape_of(service, operation.path)
        for problem in response_problems(
            shape, documented, response.status_code, content_type, response.text, head
        ):
            stats.findings.append(Finding(service, label, problem, _describe(case)))

    for attempt in (1, 2):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                run()
            except Exception as exc:  # generation failed (unsatisfiable schema): say so
                if RACE in repr(exc) and attempt == 1:
                    continue
                if type(exc).__name__ not in ("Unsatisfiable", "FailedHealthCheck"):
                    stats.findings.append(
                        Finding(service, label, f"could not generate: {exc!r}"[:300], "")
                    )
        return


def fuzz_service(
    root: str,
    token: str,
    *,
    max_examples: int,
    deadline: float,
    modes: tuple[bool, ...] = (False, True),
    extra_headers: dict[str, str] | None = None,
    select: Callable[[str, str], bool] | None = None,
) -> Stats:
    """Fuzz every operation of the service at ``root`` (positive, then negative) with
    ``token``, until ``deadline`` (``time.monotonic()``)."""
    schema = load_schema(root)
    service = service_name(schema.raw_schema)
    stats = Stats()
    session = requests.Session()
    session.headers.update({"X-Auth-Token": token, **(extra_headers or {})})
    for operation in operations(schema):
        label = f"{operation.method.upper()} {operation.path}"
        if select is not None and not select(operation.method.upper(), operation.path):
            continue
        if time.monotonic() > deadline:
            stats.skipped.append(f"{service} {label}")
            continue
        stats.operations += 1
        for negative in modes:
            if negative and not negatable(operation):
                continue
            fuzz_operation(
                service,
                operation,
                root,
                session,
                max_examples=max_examples,
                negative=negative,
                stats=stats,
            )
    session.close()
    return stats


# -- state checks -------------------------------------------------------------------------
ITEM_KEYS = ("id", "uuid", "alias", "name")


def _items(body: Any) -> list[Any] | None:
    """The items of a list response: the body itself or its first list value."""
    if isinstance(body, list):
        return body
    if isinstance(body, dict):
        for value in body.values():
            if isinstance(value, list):
                return value
    return None


def collections(document: dict[str, Any]) -> dict[str, str | None]:
    """Parameterless GET routes -> their item route (``/things/{id}``) if any."""
    paths = document.get("paths", {})
    found: dict[str, str | None] = {}
    for path, ops in paths.items():
        if "{" in path or "get" not in ops:
            continue
        item = next(
            (
                p
                for p in paths
                if re.fullmatch(re.escape(path) + r"/\{\w+\}", p) and "get" in paths[p]
            ),
            None,
        )
        found[path] = item
    return found


def snapshot(root: str, client: httpx.Client, document: dict[str, Any]) -> dict[str, int]:
    """How many items every collection lists now."""
    counts = {}
    for path in collections(document):
        response = client.get(root + path)
        if response.status_code == 200 and "json" in response.headers.get("content-type", ""):
            items = _items(response.json())
            if items is not None:
                counts[path] = len(items)
    return counts


def consistency_problems(
    root: str, client: httpx.Client, document: dict[str, Any], per_collection: int = 20
) -> list[str]:
    """Items a collection lists that cannot be shown (half-written resources)."""
    problems = []
    for path, item_route in collections(document).items():
        if item_route is None:
            continue
        response = client.get(root + path)
        if response.status_code != 200 or "json" not in response.headers.get("content-type", ""):
            continue
        for item in (_items(response.json()) or [])[:per_collection]:
            key = next((item[k] for k in ITEM_KEYS if isinstance(item, dict) and k in item), None)
            if not isinstance(key, str):
                continue
            url = root + item_route.replace(
                item_route[item_route.rindex("{") :], quote(key, safe="")
            )
            shown = client.get(url)
            if shown.status_code != 200:
                problems.append(f"{path} lists {key} but GET {url} answers {shown.status_code}")
    return problems
