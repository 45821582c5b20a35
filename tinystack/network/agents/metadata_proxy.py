"""The metadata proxy run inside a router namespace (what upstream runs haproxy for).

``ip netns exec qrouter-<id> python -m tinystack.network.agents.metadata_proxy
--port=9697 --socket=<unix socket> --router-id=<id>`` listens on 0.0.0.0:<port> (the
router's iptables REDIRECT sends 169.254.169.254:80 there) and forwards each request
over the metadata agent's unix socket, adding ``X-Forwarded-For`` (the guest's address)
and ``X-Neutron-Router-ID``. In a DHCP namespace of an isolated network it listens on
169.254.169.254:80 itself and sends ``X-Neutron-Network-ID`` instead. Headers a guest
could use to impersonate another instance are dropped. Standard library only: it starts
in a fraction of a second.
"""

from __future__ import annotations

import argparse
import http.client
import socket
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te"}
SPOOFABLE = {
    "x-forwarded-for",
    "x-neutron-router-id",
    "x-neutron-network-id",
    "x-instance-id",
    "x-instance-id-signature",
    "x-tenant-id",
}


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float = 60) -> None:
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self.path)
        self.sock = sock


def make_handler(socket_path: str, origin: tuple[str, str]) -> type[BaseHTTPRequestHandler]:
    """``origin``: (header, value) naming the router or network the proxy serves."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"
        server_version = "tinystack-metadata-proxy"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def _proxy(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length > 0 else None
            headers = {
                k: v
                for k, v in self.headers.items()
                if k.lower() not in HOP and k.lower() not in SPOOFABLE
            }
            headers["X-Forwarded-For"] = self.client_address[0]
            headers[origin[0]] = origin[1]
            try:
                conn = UnixConnection(socket_path)
                conn.request(self.command, self.path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
            except OSError:
                self.send_error(503, "metadata agent unavailable")
                return
            self.send_response(resp.status, resp.reason)
            for key, value in resp.getheaders():
                if key.lower() not in HOP and key.lower() != "content-length":
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
            conn.close()

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _proxy

    return Handler


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=9697)
    parser.add_argument("--socket", required=True)
    parser.add_argument("--bind", default="0.0.0.0")
    parser.add_argument("--router-id")
    parser.add_argument("--network-id")
    args = parser.parse_args(argv)
    if args.router_id:
        origin = ("X-Neutron-Router-ID", args.router_id)
    elif args.network_id:
        origin = ("X-Neutron-Network-ID", args.network_id)
    else:
        parser.error("--router-id or --network-id is required")
    ThreadingHTTPServer.allow_reuse_address = True
    server = ThreadingHTTPServer((args.bind, args.port), make_handler(args.socket, origin))
    server.daemon_threads = True
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
