"""The distributed mode for the chaos tests: each service a ``tinystack serve`` process of
its own, on databases of its own and one RabbitMQ virtual host, sharing one config file,
state directory (keys, secrets, the file stores) and ports; any one of them can be
killed and started again."""

from __future__ import annotations

import contextlib
import copy
import signal
from collections.abc import Iterator
from pathlib import Path

from tests import invariants
from tests.chaos.session import Session
from tests.cloudproc import CloudProcess


class Cluster:
    def __init__(self, state_dir: Path, services: list[str], extra_conf: str) -> None:
        self.services = services
        base = CloudProcess(state_dir, services, extra_conf, serve="identity")
        self.procs: dict[str, CloudProcess] = {}
        for name in services:
            proc = copy.copy(base)
            proc.serve = name
            proc.proc = None
            proc.log_file = state_dir / f"{name}.log"
            self.procs[name] = proc
        self.base = base

    def start(self, name: str | None = None) -> None:
        """Start one service, or all in their start order (identity bootstraps first)."""
        for service in [name] if name else self.services:
            self.procs[service].start(timeout=180)

    def kill(self, name: str) -> None:
        self.procs[name].stop(signal.SIGKILL)

    def stop(self) -> None:
        for name in reversed(self.services):
            self.procs[name].stop()

    def session(self) -> Session:
        return Session(self.base.auth_url, self.base.password("admin")).login()

    def checked(self, session: Session) -> invariants.Cloud:
        pids = tuple(p.proc.pid for p in self.procs.values() if p.proc is not None)
        return invariants.Cloud(session, self.base.state_dir, (self.base.conf_file,), pids)


@contextlib.contextmanager
def running(state_dir: Path, services: list[str], extra_conf: str) -> Iterator[Cluster]:
    cluster = Cluster(state_dir, services, extra_conf)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
