"""A small HTTP server in a thread for import tests (web-download, locations).

It binds 127.0.0.1 on the first free port of ``PORTS`` (the port range this test
suite may use), serves the bytes put in ``files`` and can redirect.
"""

from __future__ import annotations

import http.server
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

PORTS = range(21520, 21560)


class _Handler(http.server.BaseHTTPRequestHandler):
    files: dict[str, bytes] = {}
    redirects: dict[str, str] = {}

    def do_GET(self) -> None:
        if self.path in self.redirects:
            self.send_response(302)
            self.send_header("Location", self.redirects[self.path])
            self.end_headers()
            return
        data = self.files.get(self.path)
        if data is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_HEAD = do_GET

    def log_message(self, format: str, *args: object) -> None:
        pass


class WebServer:
    def __init__(self, server: http.server.ThreadingHTTPServer, handler: type[_Handler]) -> None:
        self._server = server
        self.port = server.server_address[1]
        self.files = handler.files
        self.redirects = handler.redirects

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@contextmanager
def web_server() -> Iterator[WebServer]:
    handler = type("Handler", (_Handler,), {"files": {}, "redirects": {}})
    server = None
    for port in PORTS:
        try:
            server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
            break
        except OSError:
            continue
    if server is None:
        raise RuntimeError(f"no free port in {PORTS}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield WebServer(server, handler)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0
