"""Keep-alive connections to storage servers, shared by the proxy's requests and the
servers' own (container updates from object servers)."""

from __future__ import annotations

import http.client
import threading
import time
from pathlib import Path

from tinystack.object_store.ring.ring import Node

CHUNK = 65536


class Pool:
    """Idle keep-alive connections to the storage servers, per (ip, port): a request to
    a node reuses the most recent one instead of a TCP handshake (Swift's proxy opens
    a connection per request; this is most of a small request's cost). Connections
    idle longer than ``idle_seconds`` are dropped (the servers close theirs after 5 s)."""

    def __init__(self, per_node: int = 64, idle_seconds: float = 3.0) -> None:
        self.per_node = per_node
        self.idle_seconds = idle_seconds
        self.lock = threading.Lock()
        self.idle: dict[tuple[str, int], list[tuple[float, http.client.HTTPConnection]]] = {}

    def take(self, ip: str, port: int) -> http.client.HTTPConnection | None:
        now = time.monotonic()
        with self.lock:
            stack = self.idle.get((ip, port), [])
            while stack:
                since, conn = stack.pop()
                if now - since < self.idle_seconds:
                    return conn
                conn.close()
        return None

    def give(self, ip: str, port: int, conn: http.client.HTTPConnection) -> None:
        with self.lock:
            stack = self.idle.setdefault((ip, port), [])
            if len(stack) < self.per_node:
                stack.append((time.monotonic(), conn))
                return
        conn.close()

    def release(
        self, node: Node, conn: http.client.HTTPConnection, response: http.client.HTTPResponse
    ) -> None:
        """Back to the pool when the response was read whole and the server keeps the
        connection open; closed otherwise."""
        if response.isclosed() and not response.will_close:
            self.give(node.ip, node.port, conn)
        else:
            conn.close()

    def request(
        self, ip: str, port: int, method: str, path: str, headers: dict[str, str],
        timeout: float, body: Path | bytes | None = None,
    ) -> tuple[int, bytes]:  # fmt: skip
        """One request (its body ``body``, or the file it names) on a pooled connection, a new one
        when the pooled one was closed by the server meanwhile; the status and body of
        the answer, status 0 when the server cannot be reached."""
        for reused in (True, False):
            conn = self.take(ip, port) if reused else None
            if reused and conn is None:
                continue
            if conn is None:
                conn = http.client.HTTPConnection(ip, port, timeout=timeout)
            elif conn.sock is not None:  # this request's timeout, not the first one's
                conn.sock.settimeout(timeout)
            try:
                conn.putrequest(method, path, skip_accept_encoding=True)
                for key, value in headers.items():
                    conn.putheader(key, value)
                size = body.stat().st_size if isinstance(body, Path) else len(body or b"")
                conn.putheader("Content-Length", str(size))
                conn.endheaders()
                if isinstance(body, bytes):
                    conn.send(body)
                elif body is not None:
                    with open(body, "rb") as f:
                        while chunk := f.read(CHUNK):
                            conn.send(chunk)
                response = conn.getresponse()
                answer = response.read()
            except TimeoutError:  # a slow server, not a closed connection: no second wait
                conn.close()
                return 0, b""
            except (OSError, http.client.HTTPException):
                conn.close()
                continue
            if response.will_close:
                conn.close()
            else:
                self.give(ip, port, conn)
            return response.status, answer
        return 0, b""
