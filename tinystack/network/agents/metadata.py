"""The metadata agent: identifies the instance behind a proxied request and signs it.

Router namespaces' proxies (:mod:`metadata_proxy`) forward guests' requests to a unix
socket served here with ``X-Forwarded-For`` (the guest's address) and
``X-Neutron-Router-ID``. The agent finds the port with that address on one of the
router's networks (``sync_routers`` + ``get_ports`` over RPC, cached briefly), and
forwards the request to the compute metadata API with ``X-Instance-ID`` (the port's
device), ``X-Tenant-ID`` and ``X-Instance-ID-Signature`` = HMAC-SHA256 of the instance
id keyed with ``metadata_proxy_shared_secret``, as Neutron's metadata agent does.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import socketserver
import sys
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import httpx

from tinystack.common.rpc.payload import JSON
from tinystack.common.timeutils import TTLCache
from tinystack.network.agents import ip_lib
from tinystack.network.agents.base import Agent, AgentContext
from tinystack.network.rpcapi import METADATA_AGENT

LOG = logging.getLogger(__name__)
HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te"}
CACHE_SECONDS = 5.0
PROXY = "tinystack.network.agents.metadata_proxy"


def sign(secret: str, instance_id: str) -> str:
    return hmac.new(secret.encode(), instance_id.encode(), hashlib.sha256).hexdigest()


def socket_path(state_dir: Path, host: str) -> Path:
    """The agent's socket (kept under the 108-byte limit of unix socket paths)."""
    path = state_dir / "metadata.sock"
    if len(str(path)) < 100:
        return path
    digest = hashlib.sha1(str(state_dir).encode()).hexdigest()[:12]
    return Path("/tmp") / f"tinystack-md-{digest}.sock"


@dataclass(frozen=True)
class Instance:
    """The server behind a guest's address: its id (the port's device) and project."""

    device_id: str
    project_id: str


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    agent: MetadataAgent


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        LOG.debug("metadata: " + format, *args)

    def address_string(self) -> str:
        return "metadata-proxy"

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        status, headers, data = self.server.agent.handle(
            self.command, self.path, dict(self.headers.items()), body
        )
        self.send_response(status)
        for key, value in headers:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _handle


class MetadataAgent(Agent):
    agent_type = METADATA_AGENT
    binary = "tinystack-metadata-agent"
    topic = None

    def __init__(self, ctx: AgentContext) -> None:
        super().__init__(ctx)
        self.socket = socket_path(ctx.state_dir, ctx.host)
        self.secret = str(ctx.opts.metadata_proxy_shared_secret or "")
        self.url = ctx.metadata_url.rstrip("/")
        self.poll_interval = 3600.0
        self.client = httpx.Client(timeout=60)
        #: lookups by (router or network, address), misses included
        self._cache: TTLCache[tuple[Instance | None]] = TTLCache(CACHE_SECONDS)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self.socket.parent.mkdir(parents=True, exist_ok=True)
        if self.socket.exists():
            self.socket.unlink()
        server = _Server(str(self.socket), _Handler)
        server.agent = self
        os.chmod(self.socket, 0o666)
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, name="metadata-agent", daemon=True
        )
        self._thread.start()
        super().start()

    def stop(self) -> None:
        super().stop()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        self.socket.unlink(missing_ok=True)
        self.client.close()

    def process(self, full: bool) -> None:
        pass

    def configurations(self) -> dict[str, JSON]:
        return {"metadata_proxy_socket": str(self.socket), "nova_metadata_url": self.url}

    # -- requests ------------------------------------------------------------------------

    def handle(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        lower = {k.lower(): v for k, v in headers.items()}
        address = lower.get("x-forwarded-for", "").split(",")[0].strip()
        router_id = lower.get("x-neutron-router-id", "")
        network_id = lower.get("x-neutron-network-id", "")
        try:
            instance = self.lookup(router_id, address, network_id)
        except Exception:  # the guest gets a 500, the log the cause
            LOG.exception("metadata lookup for %s on router %s failed", address, router_id)
            return 500, [("Content-Type", "text/plain")], b"Internal error\n"
        if instance is None:
            return 404, [("Content-Type", "text/plain")], b"Not Found\n"
        forward = {
            k: v
            for k, v in headers.items()
            if k.lower() not in HOP
            and k.lower() not in ("host", "content-length")
            and not k.lower().startswith(("x-instance", "x-tenant", "x-neutron"))
        }
        forward.update(
            {
                "X-Forwarded-For": address,
                "X-Instance-ID": instance.device_id,
                "X-Tenant-ID": instance.project_id,
                "X-Instance-ID-Signature": sign(self.secret, instance.device_id),
            }
        )
        try:
            resp = self.client.request(method, self.url + path, headers=forward, content=body)
        except httpx.HTTPError as exc:
            LOG.warning("compute metadata API unreachable: %s", exc)
            return 503, [("Content-Type", "text/plain")], b"Service Unavailable\n"
        out = [
            (k, v)
            for k, v in resp.headers.items()
            if k.lower() not in HOP and k.lower() not in ("content-length", "content-encoding")
        ]
        return resp.status_code, out, resp.content

    def lookup(self, router_id: str, address: str, network_id: str = "") -> Instance | None:
        """The instance (device_id, project_id) with ``address`` behind ``router_id`` (or on
        ``network_id``, for a proxy in a DHCP namespace)."""
        if not (router_id or network_id) or not address:
            return None
        key = (router_id or network_id, address)
        cached = self._cache.get(key)
        if cached is not None:
            return cached[0]
        if router_id:
            routers = self.plugin.sync_routers({}, self.host, [router_id])
            networks = sorted({p.network_id for r in routers for p in r.interfaces})
        else:
            networks = [network_id]
        found = None
        if networks:
            ports = self.plugin.get_ports({}, networks, address)
            ports.sort(key=lambda p: not p.device_owner.startswith("compute:"))
            if ports and ports[0].device_id:
                found = Instance(ports[0].device_id, ports[0].project_id)
        self._cache.put(key, (found,))
        return found


class ProxyProcess:
    """The metadata proxy of one namespace, started with ``ip netns exec``, tracked by pid."""

    def __init__(self, directory: Path, namespace: str, args: list[str]) -> None:
        self.pid_file = directory / "metadata-proxy.pid"
        self.log = directory / "metadata-proxy.log"
        self.namespace = namespace
        self.args = args
        self.marker = args[-1]  # --router-id=... / --network-id=...

    def running(self) -> bool:
        pid = ip_lib.read_pid(self.pid_file)
        return pid is not None and ip_lib.pid_alive(pid, self.marker)

    def ensure(self, reaper: ip_lib.Reaper) -> None:
        if self.running():
            return
        self.pid_file.parent.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", PROXY, *self.args]
        with open(self.log, "ab") as log:
            pid = reaper.start(cmd, self.namespace, log)
        self.pid_file.write_text(str(pid))

    def stop(self, reaper: ip_lib.Reaper) -> None:
        ip_lib.stop_daemon(self.pid_file, self.marker, reaper)
