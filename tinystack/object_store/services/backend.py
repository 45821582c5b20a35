"""The proxy's side of the backend protocol: requests to a ring's nodes, the first good
reply for reads, a quorum of replicas for writes, handoffs for unreachable primaries."""

from __future__ import annotations

import http.client
import logging
import socket
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field

from tinystack.object_store.ring.ring import Node, Ring
from tinystack.object_store.storage.pool import Pool

LOG = logging.getLogger(__name__)
#: bytes a streamed GET hands on at a time (each chunk is a trip to a worker thread)
CHUNK = 1024 * 1024


def timestamp() -> str:
    return f"{time.time():016.05f}"


def quorum(replicas: int) -> int:
    """Swift's write quorum: a majority (2 of 3, 1 of 1 or 2)."""
    return replicas // 2 + 1


@dataclass
class NodeReply:
    node: Node
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    response: http.client.HTTPResponse | None = None
    conn: http.client.HTTPConnection | None = None
    pool: Pool | None = None

    def stream(self) -> Iterator[bytes]:
        whole = False
        try:
            assert self.response is not None
            while chunk := self.response.read(CHUNK):
                yield chunk
            whole = True
        finally:
            if self.conn is not None and self.response is not None:
                if whole and self.pool is not None:
                    self.pool.release(self.node, self.conn, self.response)
                else:
                    self.conn.close()


def node_path(node: Node, part: int, *names: str) -> str:
    return urllib.parse.quote("/" + "/".join([node.device, str(part), *names]))


def _headers(response: http.client.HTTPResponse) -> dict[str, str]:
    return {k.title().replace("Etag", "ETag"): v for k, v in response.getheaders()}


class Backend:
    """Requests to storage nodes with the proxy's timeouts, over the pool's connections."""

    def __init__(self, conn_timeout: float, node_timeout: float, pool: Pool | None = None) -> None:
        self.conn_timeout = conn_timeout
        self.node_timeout = node_timeout
        self.pool = pool if pool is not None else Pool(per_node=0)

    def connect(self, node: Node) -> http.client.HTTPConnection:
        conn = http.client.HTTPConnection(node.ip, node.port, timeout=self.conn_timeout)
        conn.connect()
        if conn.sock is not None:
            conn.sock.settimeout(self.node_timeout)
            # a chunked PUT's last frame is a small write after the data: without this,
            # Nagle holds it for the node's delayed ACK (tens of ms per object)
            conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return conn

    def checkout(self, node: Node) -> tuple[http.client.HTTPConnection, bool]:
        """An idle pooled connection (True: reused, it may have been closed by the
        server meanwhile) or a new one."""
        conn = self.pool.take(node.ip, node.port)
        if conn is not None:
            return conn, True
        return self.connect(node), False

    def call(
        self, node: Node, method: str, path: str, headers: dict[str, str], query: str = "",
        stream: bool = False,
    ) -> NodeReply:  # fmt: skip
        """One bodiless request; status 503 when the node cannot be reached. A reused
        connection the server closed meanwhile is replaced by a new one; one that timed
        out is not (the node may still be carrying the request out)."""
        target = path + (f"?{query}" if query else "")
        while True:
            reused = False
            try:
                conn, reused = self.checkout(node)
                conn.request(method, target, headers=headers)
                response = conn.getresponse()
                break
            except TimeoutError as exc:
                # a slow node, not a closed connection: it may still carry the request
                # out, so it is not sent again (a DELETE sent twice answers 404)
                conn.close()
                LOG.warning("%s %s:%s%s: %s", method, node.ip, node.port, path, exc)
                return NodeReply(node, 503)
            except (OSError, http.client.HTTPException) as exc:
                if reused:
                    conn.close()
                    continue
                LOG.warning("%s %s:%s%s: %s", method, node.ip, node.port, path, exc)
                return NodeReply(node, 503)
        if stream and response.status in (200, 206):
            return NodeReply(
                node, response.status, _headers(response), b"", response, conn, self.pool
            )
        try:
            body = response.read()
        except (OSError, http.client.HTTPException):
            conn.close()
            return NodeReply(node, 503)
        self.pool.release(node, conn, response)
        return NodeReply(node, response.status, _headers(response), body)

    def first_good(
        self, ring: Ring, part: int, method: str, names: tuple[str, ...], headers: dict[str, str],
        query: str = "", stream: bool = False,
    ) -> NodeReply:  # fmt: skip
        """Primaries, then handoffs, until one answers 2xx (or a definite 304/412/416);
        otherwise the most telling failure (404 over 503)."""
        tried: list[NodeReply] = []
        for node in _candidates(ring, part):
            reply = self.call(node, method, node_path(node, part, *names), headers, query, stream)
            if reply.status < 300 or reply.status in (304, 412, 416):
                return reply
            tried.append(reply)
            if len(tried) >= 2 * ring.replicas:
                break
        if any(r.status == 404 for r in tried):
            return next(r for r in tried if r.status == 404)
        return tried[0] if tried else NodeReply(Node(0, 0, 0, "", 0, "", 0), 503)

    def write_all(
        self, ring: Ring, part: int, method: str, names: tuple[str, ...],
        headers_for: list[dict[str, str]],
    ) -> list[NodeReply]:  # fmt: skip
        """A bodiless write (PUT/POST/DELETE) to each replica; an unreachable primary (or
        a 507) is replaced by the next handoff. ``headers_for[i]``: replica i's headers."""
        replies: list[NodeReply] = []
        handoffs = ring.handoffs(part)
        for index, primary in enumerate(ring.primaries(part)):
            node: Node | None = primary
            while node is not None:
                path = node_path(node, part, *names)
                reply = self.call(node, method, path, headers_for[index])
                if reply.status not in (503, 507):
                    replies.append(reply)
                    break
                node = next(handoffs, None)
        return replies


def _candidates(ring: Ring, part: int) -> Iterator[Node]:
    yield from ring.primaries(part)
    yield from ring.handoffs(part)


def best_status(replies: list[NodeReply], replicas: int) -> int:
    """The highest status of the class a quorum of replicas agrees on, else 503 (as Swift's
    proxy: a container DELETE that met replicas already gone, 404, and replicas still
    listing objects, 409, answers 409, which clients retry, not 404)."""
    need = quorum(replicas)
    for klass in (2, 4):
        agreeing = [r.status for r in replies if r.status // 100 == klass]
        if len(agreeing) >= need:
            return max(agreeing)
    return 503
