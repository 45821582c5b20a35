"""Schema fuzzing of every service of a running cloud (``tests/reliability/fuzzing.py``):
every operation of every ``/openapi.json``, as the admin (positive and negative examples)
and as a member of another project (positive), bounded by count and time; then the
state checks: the negative examples changed no collection, every listed item shows.

The longer run is ``benchmarks/fuzz.py``; the figures land in ``fuzz.json`` for
``benchmarks/reliability_report.py``.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import httpx
import pytest

from tests.cloudproc import CloudProcess
from tests.reliability import figures, fuzzing
from tests.reliability.conftest import password_token, project_scope
from tinystack.deploy import registry

SERVICES = registry.available()
#: examples per operation and mode (make test's bound; benchmarks/fuzz.py runs more)
ADMIN_EXAMPLES = 1
MEMBER_EXAMPLES = 1
#: the time bound of one service's run (a safety net: operations not reached fail)
SERVICE_SECONDS = 150.0

TOTALS = fuzzing.Stats()


class Env:
    def __init__(self, cloud: CloudProcess) -> None:
        self.cloud = cloud
        self.admin = password_token(
            cloud.auth_url, "admin", cloud.password("admin"), project_scope("admin")
        )
        self.member = password_token(
            cloud.auth_url, "demo", cloud.password("demo"), project_scope("demo")
        )

    def root(self, service: str) -> str:
        return f"http://127.0.0.1:{self.cloud.ports[service]}"


@pytest.fixture(scope="module")
def env(cloud: CloudProcess) -> Iterator[Env]:
    yield Env(cloud)
    figures.write_section(
        "fuzz",
        "Schema fuzzing (make test's bounded run)",
        {
            "services": len(SERVICES),
            "operations fuzzed": TOTALS.operations,
            "examples run": TOTALS.examples,
            "5xx found": TOTALS.server_errors,
            "findings": len(TOTALS.findings),
        },
    )


def _document(root: str) -> dict[str, Any]:
    response = httpx.get(f"{root}/openapi.json", timeout=60)
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


@pytest.fixture(scope="module")
def member_process() -> Iterator[ProcessPoolExecutor]:
    """Where the member's fuzz runs go: a process of its own (two Hypothesis runs in
    threads of one process once crashed the interpreter, a segfault in the garbage
    collector), spawned once for the module."""
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        yield pool


@pytest.mark.parametrize("service", SERVICES)
def test_fuzz_every_operation(env: Env, member_process: ProcessPoolExecutor, service: str) -> None:
    root = env.root(service)
    document = _document(root)
    admin = httpx.Client(headers={"X-Auth-Token": env.admin}, timeout=60)
    deadline = time.monotonic() + SERVICE_SECONDS
    # the member's run (in its process) overlaps the admin's positive one (the client's
    # generation with the cloud's answers); the negative run is alone, between the two
    # snapshots
    member_run = member_process.submit(
        fuzzing.fuzz_service,
        root,
        env.member,
        max_examples=MEMBER_EXAMPLES,
        deadline=deadline,
        modes=(False,),
    )
    stats = fuzzing.fuzz_service(
        root, env.admin, max_examples=ADMIN_EXAMPLES, deadline=deadline, modes=(False,)
    )
    member = member_run.result()
    before = fuzzing.snapshot(root, admin, document)
    negative = fuzzing.fuzz_service(
        root, env.admin, max_examples=ADMIN_EXAMPLES, deadline=deadline, modes=(True,)
    )
    after = fuzzing.snapshot(root, admin, document)
    problems = fuzzing.consistency_problems(root, admin, document)
    admin.close()
    stats.examples += negative.examples + member.examples
    stats.server_errors += negative.server_errors + member.server_errors
    stats.findings += negative.findings + member.findings
    stats.skipped += negative.skipped + member.skipped
    TOTALS.add(stats)

    changed = {k: (before[k], after.get(k)) for k in before if before[k] != after.get(k)}
    report = [str(f) for f in stats.findings]
    report += [
        f"negative examples changed {path}: {was} -> {now}" for path, (was, now) in changed.items()
    ]
    report += problems + [f"not reached in {SERVICE_SECONDS:.0f}s: {op}" for op in stats.skipped]
    assert stats.operations > 0
    assert not report, f"{len(report)} problems:\n" + "\n".join(report[:40])


# -- what the fuzzing found, each fixed (one request per bug) -----------------------------
def test_a_huge_metric_limit_is_clamped(env: Env) -> None:
    # was 500: OverflowError, SQLite cannot bind the int (Gnocchi clamps to max_limit)
    response = httpx.get(
        env.root("metric") + "/v1/metric",
        params={"limit": "67447140174188186173440"},
        headers={"X-Auth-Token": env.admin},
    )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    "path",
    [
        "/v2.1/os-snapshots/%15",
        "/v2.1/os-volumes/4%0B",
        "/v2.1/images/%01x",
        "/v2.1/images/%01x/metadata",
        "/v2.1/os-networks/K%7F",
        "/v2.1/os-tenant-networks/%0C",
        "/v2.1/os-security-groups/%06",
    ],
)
def test_compute_proxies_answer_404_for_ids_with_control_characters(env: Env, path: str) -> None:
    # was 500: httpx refused to build the URL to the volume/image/network service
    response = httpx.get(env.root("compute") + path, headers={"X-Auth-Token": env.admin})
    assert response.status_code == 404, response.text
    assert fuzzing.error_shape_problem("compute", 404, "application/json", response.text) is None


def test_a_metadef_namespace_name_a_header_cannot_hold_is_quoted_in_location(env: Env) -> None:
    # was 500 after the namespace was written: "Invalid HTTP header value" (Location)
    name = "rbac\x1ffuzz-é"
    response = httpx.post(
        env.root("image") + "/v2/metadefs/namespaces",
        json={"namespace": name},
        headers={"X-Auth-Token": env.admin},
    )
    assert response.status_code == 201, response.text
    assert response.headers["Location"] == "/v2/metadefs/namespaces/rbac%1Ffuzz-%C3%A9"
    assert response.json()["namespace"] == name


@pytest.mark.parametrize(
    ("service", "path"), [("identity", "/"), ("image", "/"), ("image", "/v2"), ("volume", "/")]
)
def test_version_documents_declare_their_300(env: Env, service: str, path: str) -> None:
    # was undocumented: the OpenAPI document said 200 where the API answers 300
    root = env.root(service)
    assert httpx.get(root + path).status_code == 300
    assert "300" in _document(root)["paths"][path]["get"]["responses"]


def test_the_response_checks_flag_what_upstream_never_answers() -> None:
    ok_fault = '{"itemNotFound": {"code": 404, "message": "x"}}'
    assert (
        fuzzing.response_problems("compute", {"200"}, 404, "application/json", ok_fault, False)
        == []
    )
    assert fuzzing.response_problems("compute", {"200"}, 500, "application/json", "{}", False)
    assert fuzzing.response_problems("compute", {"200"}, 422, "application/json", ok_fault, False)
    assert fuzzing.response_problems("image", {"201"}, 300, "application/json", "{}", False)
    bad = '{"error": {"code": 404, "message": "x"}}'  # no title
    assert fuzzing.response_problems("identity", {"200"}, 404, "application/json", bad, False)
    unsupported = (
        '{"faultcode": "Server", "faultstring": "... does not support ...", "debuginfo": null}'
    )
    assert not fuzzing.response_problems("load_balancer", {"201"}, 501, "", unsupported, False)
