"""``[compute] host`` and ``enabled_workers``: which workers a compute process runs, and
under which host name (the service started in-process with fake hosts)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import make_runtime
from tinystack.common.service import Runtime
from tinystack.compute import rpcapi
from tinystack.compute.conductor.manager import ConductorManager
from tinystack.compute.service import SERVICE, Workers
from tinystack.compute.services import hosts
from tinystack.compute.virt.fake import FakeDriver

#: ``[compute] compute_driver`` of these tests: one fake host named after ``host``
ONE_FAKE_HOST = f"{__name__}:one_fake_host"
made: list[str] = []


def one_fake_host(deps: Any, host: str) -> FakeDriver:
    made.append(host)
    return FakeDriver(host)


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Any]:
    runtimes: list[Runtime] = []

    def run(**compute: Any) -> tuple[Runtime, Workers]:
        overrides = {"compute.compute_driver": ONE_FAKE_HOST}
        overrides |= {f"compute.{k}": v for k, v in compute.items()}
        runtime = make_runtime(tmp_path / str(len(runtimes)), SERVICE, overrides=overrides)
        runtimes.append(runtime)
        SERVICE.start(runtime)
        return runtime, runtime.extra["compute_workers"]

    made.clear()
    try:
        yield run
    finally:
        for runtime in runtimes:
            SERVICE.stop(runtime)
            if runtime.db is not None:
                runtime.db.dispose()


def services(runtime: Runtime) -> list[tuple[str, str]]:
    assert runtime.db is not None
    return sorted((s.host, s.binary) for s in hosts.list_services(runtime.db))


def test_defaults_run_every_worker_under_the_host_option(start: Any) -> None:
    runtime, workers = start(host="ctl-1")
    topics = sorted((s.target.topic, s.target.server) for s in workers.servers)
    assert topics == sorted([(rpcapi.CONDUCTOR_TOPIC, "ctl-1"), (rpcapi.SCHEDULER_TOPIC, "ctl-1")])
    assert workers.conductor is not None and workers.scheduler is not None
    assert workers.agents is not None and list(workers.agents.managers) == ["ctl-1"]
    assert made == ["ctl-1"]
    assert services(runtime) == [
        ("ctl-1", "nova-compute"),
        ("ctl-1", "nova-conductor"),
        ("ctl-1", "nova-scheduler"),
    ]


def test_agent_only(start: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    recovered: list[float] = []
    monkeypatch.setattr(ConductorManager, "recover", lambda self, age: recovered.append(age))
    runtime, workers = start(host="h2", enabled_workers=["agent"])
    assert workers.servers == []
    assert workers.conductor is None and workers.scheduler is None
    assert workers.heartbeat is None
    assert recovered == []
    assert workers.agents is not None and list(workers.agents.managers) == ["h2"]
    assert made == ["h2"]
    assert services(runtime) == [("h2", "nova-compute")]
    assert runtime.db is not None
    assert list(hosts.node_uuids(runtime.db, ["h2"])) == ["h2"]  # its compute node


def test_conductor_and_scheduler_without_agent(start: Any) -> None:
    runtime, workers = start(host="ctl-2", enabled_workers=["conductor", "scheduler"])
    assert len(workers.servers) == 2 and workers.agents is None
    assert made == []
    assert services(runtime) == [("ctl-2", "nova-conductor"), ("ctl-2", "nova-scheduler")]


def test_host_defaults_to_the_hostname(start: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("tinystack.compute.service.socket.gethostname", lambda: "machine-x")
    runtime, _ = start(enabled_workers=["agent"])
    assert made == ["machine-x"]
    assert services(runtime) == [("machine-x", "nova-compute")]


def test_unknown_worker_is_rejected_before_anything_starts(start: Any) -> None:
    with pytest.raises(ValueError, match=r"enabled_workers.*compute-agent.*conductor, sched"):
        start(host="h3", enabled_workers=["agent", "compute-agent"])
    assert made == []


def test_a_bad_upgrade_level_is_rejected_before_anything_starts(tmp_path: Path) -> None:
    overrides = {"compute.compute_driver": ONE_FAKE_HOST, "upgrade_levels.compute": "zed"}
    runtime = make_runtime(tmp_path, SERVICE, overrides=overrides)
    made.clear()
    try:
        with pytest.raises(ValueError, match=r"\[upgrade_levels\] compute = 'zed'"):
            SERVICE.start(runtime)
        assert made == []
    finally:
        SERVICE.stop(runtime)
        assert runtime.db is not None
        runtime.db.dispose()
