"""The all-in-one's storage servers in processes of their own (``[object_store]
storage_workers``), as Swift runs each server as worker processes: in the API process
the proxy, three object servers and the daemons shared one GIL and one event loop, and a
large upload's every byte went through that loop four times.

``storage_workers`` processes serve the object port together (``SO_REUSEPORT``: the
kernel spreads the connections); the first also serves the container and account
servers. One more runs the node's daemons (replicators, updater, expirer, auditor), so
their passes do not hold the servers' GIL. The kernel kills a child when its parent
ends (``PR_SET_PDEATHSIG``): a ``kill -9`` of the cloud stops its storage servers at
once, mid-request, as it did when they were in its process.

The child's command line: ``python -m tinystack.object_store.storage.process <spec
JSON> <index or "daemons"> <parent pid>``."""

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
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import uvicorn

from tinystack.object_store.ring.layout import Rings, hash_suffix
from tinystack.object_store.storage import node

LOG = logging.getLogger(__name__)
#: seconds a child takes at most to listen
READY_SECONDS = 60.0
#: the worker that runs the daemons
DAEMONS = "daemons"
#: prctl(2): the signal a process gets when its parent ends
PR_SET_PDEATHSIG = 1


@dataclass(frozen=True, slots=True)
class NodeSpec:
    """What a storage process needs to build this node's servers."""

    devices: str
    ring_dir: str
    ring_check_interval: float
    hash_suffix: str
    ip: str
    object_port: int
    container_port: int
    account_port: int
    replicate_every: float
    audit_every: float
    #: the cloud's ``[DEFAULT] gil_switch_interval``
    gil_switch_interval: float = 0.005


class StorageProcesses:
    """The children of one all-in-one process."""

    def __init__(self, spec: NodeSpec, workers: int) -> None:
        self.spec = spec
        self.workers = workers
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self) -> None:
        # the salt is a secret: never on a command line (ps shows it); children read it
        # from the ring directory
        doc = json.dumps({**asdict(self.spec), "hash_suffix": ""})
        for index in [*map(str, range(self.workers)), DAEMONS]:
            self.procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", __name__, doc, index, str(os.getpid())],
                    stdin=subprocess.DEVNULL,
                )
            )
        ports = [self.spec.object_port, self.spec.container_port, self.spec.account_port]
        deadline = time.monotonic() + READY_SECONDS
        while not all(_listening(self.spec.ip, port) for port in ports):
            if any(p.poll() is not None for p in self.procs) or time.monotonic() > deadline:
                self.stop()
                raise SystemExit("object_store: the storage server processes did not start")
            time.sleep(0.05)

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


def _listening(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def _bind(host: str, port: int) -> socket.socket:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


class _Server(uvicorn.Server):
    """A uvicorn server that leaves signal handling to ``serve``."""

    @contextlib.contextmanager
    def capture_signals(self):  # type: ignore[no-untyped-def]
        yield


async def serve(spec: NodeSpec, index: str) -> None:
    """Serve this worker's servers (or run the daemons) until SIGTERM or the parent's
    end."""
    rings = Rings.load(Path(spec.ring_dir), spec.ring_check_interval)
    storage = node.build(
        Path(spec.devices), rings, spec.hash_suffix, spec.ip, spec.object_port,
        spec.replicate_every, spec.audit_every,
    )  # fmt: skip
    apps = [] if index == DAEMONS else [(storage.object_app, spec.object_port)]
    if index == "0":
        apps += [(storage.container_app, spec.container_port),
                 (storage.account_app, spec.account_port)]  # fmt: skip
    servers = []
    for app, port in apps:
        config = uvicorn.Config(
            app, log_level="warning", access_log=False, lifespan="off", http="httptools",
            server_header=False,
        )  # fmt: skip
        servers.append((_Server(config), _bind(spec.ip, port)))
    loop = asyncio.get_running_loop()

    stop_event = asyncio.Event()

    def stop() -> None:
        stop_event.set()
        for server, _ in servers:
            server.should_exit = True

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop)
    if index in ("0", DAEMONS):
        await asyncio.to_thread(storage.start, index == "0", index == DAEMONS)
    try:
        if servers:
            await asyncio.gather(*(s.serve(sockets=[sock]) for s, sock in servers))
        else:
            await stop_event.wait()
    finally:
        await asyncio.to_thread(storage.stop)


def _die_with(parent: int) -> None:
    """SIGKILL this process when its parent ends (Linux), or now if it already has."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:
        os._exit(1)


def main(argv: list[str]) -> None:
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    _die_with(int(argv[3]))
    spec = NodeSpec(**json.loads(argv[1]))
    spec = replace(spec, hash_suffix=spec.hash_suffix or hash_suffix(Path(spec.ring_dir)))
    sys.setswitchinterval(spec.gil_switch_interval)
    asyncio.run(serve(spec, argv[2]))


if __name__ == "__main__":
    main(sys.argv)
