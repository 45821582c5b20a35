"""Schema fuzzing of every service of a running cloud (``tests/reliability/fuzzing.py``):
every operation of every ``/openapi.json``, as the admin (positive and negative examples)
and as a member of another project (positive), bounded by count and time; then the
state checks: the negative examples changed no collection, every listed item shows.

The longer run is ``benchmarks/fuzz.py``; the figures land in ``fuzz.json`` for
``benchmarks/reliability_report.py``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.cloudproc import CloudProcess
from tests.reliability import figures, fuzzing
from tests.reliability.conftest import password_token, project_scope
from tinystack.deploy import registry

SERVICES = registry.available()
#: examples per operation and mode (make test's bound; benchmarks/fuzz.py runs more)
ADMIN_EXAMPLES = 2
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


@pytest.mark.parametrize("service", SERVICES)
def test_fuzz_every_operation(env: Env, service: str) -> None:
    root = env.root(service)
    document = _document(root)
    admin = httpx.Client(headers={"X-Auth-Token": env.admin}, timeout=60)
    deadline = time.monotonic() + SERVICE_SECONDS
    stats = fuzzing.fuzz_service(
        root, env.admin, max_examples=ADMIN_EXAMPLES, deadline=deadline, modes=(False,)
    )
    before = fuzzing.snapshot(root, admin, document)
    negative = fuzzing.fuzz_service(
        root, env.admin, max_examples=ADMIN_EXAMPLES, deadline=deadline, modes=(True,)
    )
    after = fuzzing.snapshot(root, admin, document)
    member = fuzzing.fuzz_service(
        root, env.member, max_examples=MEMBER_EXAMPLES, deadline=deadline, modes=(False,)
    )
    problems = fuzzing.consistency_problems(root, admin, document)
    admin.close()
    stats.examples += negative.examples + member.examples
    stats.server_errors += negative.server_errors + member.server_errors
    stats.findings += negative.findings + member.findings
    stats.skipped += negative.skipped + member.skipped
    TOTALS.add(stats)

    changed = {k: (before[k], after.get(k)) for k in before if before[k] != after.get(k)}
    report = [str(f) for f in stats.findings]
    report += [f"negative examples changed {path}: {was} -> {now}" for path, (was, now) in changed.items()]
    report += problems + [f"not reached in {SERVICE_SECONDS:.0f}s: {op}" for op in stats.skipped]
    assert stats.operations > 0
    assert not report, f"{len(report)} problems:\n" + "\n".join(report[:40])
