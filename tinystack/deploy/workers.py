"""More processes serving one service's API port, as upstream runs ``workers`` of a
proxy or an API: a service whose :meth:`ServiceSpec.api_workers` is N > 1 is served by
the cloud's process and N - 1 children, every one listening on the port with
``SO_REUSEPORT`` (the kernel spreads the connections), so its requests do not share one
GIL and one event loop.

A child is ``tinystack serve <worker_role>`` with the parent's configuration (config
files, state directory, enabled services): it reads the same Fernet keys, secrets and
rings, follows identity's revocations through the poller as any process without
identity does, and keeps what the service shares between its processes where the
service puts it (object storage: ``services/info_cache.py``). The kernel kills a child
when the parent ends (``PR_SET_PDEATHSIG``); the parent stops them when it stops.

The child's command line: ``python -m tinystack.deploy.workers <spec JSON>``."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import logging
import os
import signal
import socket
import subprocess
import sys
from dataclasses import asdict, dataclass

from oslo_config import cfg

from tinystack.common.config import make_conf

LOG = logging.getLogger(__name__)
#: prctl(2): the signal a process gets when its parent ends
PR_SET_PDEATHSIG = 1


@dataclass(frozen=True, slots=True)
class WorkerSpec:
    """What a child needs to configure itself as its parent is."""

    config_files: list[str]
    state_dir: str
    enabled_services: list[str]
    #: the ``tinystack serve`` name it runs (a service or a role, registry.ROLES)
    serves: str
    parent: int


def reuse_port_socket(host: str, port: int) -> socket.socket:
    """The API's listening socket, shared with the other workers."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


class ApiWorkers:
    """The children serving one service's API beside the cloud's process."""

    def __init__(self, conf: cfg.ConfigOpts, serves: str, count: int) -> None:
        self.spec = WorkerSpec(
            config_files=[str(f) for f in conf.config_file or []],
            state_dir=str(conf.state_dir),
            enabled_services=list(conf.enabled_services or []),
            serves=serves,
            parent=os.getpid(),
        )
        self.count = count
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self) -> None:
        """Start the children (from the main thread: the death signal follows the
        thread that started a child)."""
        doc = json.dumps(asdict(self.spec))
        for _ in range(self.count):
            self.procs.append(
                subprocess.Popen([sys.executable, "-m", __name__, doc], stdin=subprocess.DEVNULL)
            )

    def stop(self) -> None:
        for proc in self.procs:
            with contextlib.suppress(ProcessLookupError):
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.procs = []


def _die_with(parent: int) -> None:
    """SIGKILL this process when its parent ends (Linux), or now if it already has."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:
        os._exit(1)


def main(argv: list[str]) -> None:
    from tinystack.deploy import registry
    from tinystack.deploy.runner import Cloud

    spec = WorkerSpec(**json.loads(argv[1]))
    _die_with(spec.parent)
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    conf = make_conf([], spec.config_files[-1] if spec.config_files else None)
    conf.set_override("state_dir", spec.state_dir)
    if spec.enabled_services:
        conf.set_override("enabled_services", spec.enabled_services)
    service = registry.serve(conf, spec.serves)
    if conf.access_log:  # as the parent logs its requests
        logging.getLogger("tinystack.access").setLevel(logging.INFO)
    cloud = Cloud(conf, progress=LOG.info)
    cloud.prepare(service)
    asyncio.run(cloud.serve(worker=True))


if __name__ == "__main__":
    main(sys.argv)
