"""Objects through the proxy: PUT streams to every replica at once (``Expect:
100-continue`` tells a failing node before the body goes, so a handoff takes its place),
a quorum of replicas must store it; GET and HEAD read from the first good replica; POST
and DELETE go to every replica; COPY (and ``X-Copy-From``) is a GET piped into a PUT."""

from __future__ import annotations

import email.utils
import http.client
import logging
import urllib.parse
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from tinystack.common.exceptions import (
    BadRequest,
    PreconditionFailed,
    RequestEntityTooLarge,
    ServiceUnavailable,
)  # fmt: skip
from tinystack.object_store.exception import UnprocessableEntity
from tinystack.object_store.ring.ring import Node
from tinystack.object_store.services import account_quotas, containers
from tinystack.object_store.services.accounts import backend
from tinystack.object_store.services.backend import (
    NodeReply,
    best_status,
    node_path,
    quorum,
    timestamp,
)  # fmt: skip
from tinystack.object_store.services.deps import Deps
from tinystack.object_store.services.records import Reply

LOG = logging.getLogger(__name__)
#: batches at least this large go to the replicas in parallel
PARALLEL_SEND = 256 * 1024
SYSMETA = "x-object-sysmeta-"
#: object headers a client sees (besides X-Object-Meta-*)
SHOWN = ("content-type", "content-length", "etag", "last-modified", "x-timestamp",
         "content-range", "accept-ranges", "content-disposition", "content-encoding",
         "x-delete-at", "x-object-manifest", "x-static-large-object")  # fmt: skip


@dataclass(frozen=True, slots=True)
class ObjectPath:
    account: str
    container: str
    obj: str

    @property
    def names(self) -> tuple[str, str, str]:
        return (self.account, self.container, self.obj)


def shown(headers: dict[str, str]) -> dict[str, str]:
    """What a client sees: Swift's object headers and metadata, the ETag unquoted as
    Swift's proxy answers it."""
    found = {
        k: v for k, v in headers.items()
        if k.lower() in SHOWN or k.lower().startswith("x-object-meta-")
    }  # fmt: skip
    if "ETag" in found:
        found["ETag"] = found["ETag"].strip('"')
    return found


class Upload:
    """One object PUT on its way to the replicas."""

    def __init__(
        self, deps: Deps, path: ObjectPath, metadata: dict[str, str], size: int | None,
        etag: str | None, at: str | None = None,
    ) -> None:  # fmt: skip
        self.deps = deps
        self.path = path
        self.size = size
        self.etag = etag.strip('"').lower() if etag else None
        self.sent = 0
        self._senders: ThreadPoolExecutor | None = None
        # ``at``: an older version written back with its own time (object versioning)
        self.timestamp = at or timestamp()
        peers = containers.peer_headers(deps, path.account, path.container)
        ring = deps.rings.object
        self.part = ring.part(*path.names)
        self.conns: list[tuple[Node, http.client.HTTPConnection]] = []
        self.client = backend(deps)
        handoffs = ring.handoffs(self.part)
        # every replica's request head goes out before any 100 Continue is awaited
        started = []
        for index, primary in enumerate(ring.primaries(self.part)):
            headers = {**metadata, **peers[index], "X-Timestamp": self.timestamp}
            if self.etag:
                headers["ETag"] = self.etag
            started.append((primary, headers, self._start(primary, headers)))
        for primary, headers, head in started:
            node: Node | None = primary
            while node is not None:
                conn = self._continued(node, head, headers) if head is not None else None
                if conn is not None:
                    self.conns.append((node, conn))
                    break
                node = next(handoffs, None)
                head = self._start(node, headers) if node is not None else None
        if len(self.conns) < quorum(ring.replicas):
            self.abort()
            raise ServiceUnavailable("Service Unavailable")

    def _start(
        self, node: Node, headers: dict[str, str], fresh: bool = False
    ) -> tuple[http.client.HTTPConnection, bool] | None:
        """Send the request's head on a pooled (or, ``fresh``, a new) connection; None
        when the node cannot be reached."""
        conn: http.client.HTTPConnection | None = None
        reused = False
        try:
            if fresh:
                conn = self.client.connect(node)
            else:
                conn, reused = self.client.checkout(node)
            conn.putrequest("PUT", node_path(node, self.part, *self.path.names))
            for key, value in headers.items():
                conn.putheader(key, value)
            if self.size is None:
                conn.putheader("Transfer-Encoding", "chunked")
            else:
                conn.putheader("Content-Length", str(self.size))
            conn.putheader("Expect", "100-continue")
            conn.endheaders()
            return conn, reused
        except (OSError, http.client.HTTPException) as exc:
            if conn is not None:
                conn.close()
            if reused:
                return self._start(node, headers, fresh=True)
            LOG.warning("object PUT to %s:%s/%s failed: %s", node.ip, node.port, node.device, exc)
            return None

    def _continued(
        self, node: Node, head: tuple[http.client.HTTPConnection, bool], headers: dict[str, str]
    ) -> http.client.HTTPConnection | None:
        """The node's ``100 Continue``; None when it refuses (or cannot be reached). A
        pooled connection the server had closed is replaced by a new one."""
        conn, reused = head
        try:
            assert conn.sock is not None
            reader = conn.sock.makefile("rb")
            status = reader.readline().split(b" ", 2)
            code = int(status[1]) if len(status) > 1 and status[1].isdigit() else 0
            if code == 0 and reused:
                raise ConnectionResetError("closed while idle")
            if code != 100:
                LOG.warning("object PUT to %s:%s/%s refused: %s", node.ip, node.port,
                            node.device, code)  # fmt: skip
                conn.close()
                return None
            while reader.readline() not in (b"\r\n", b"\n", b""):
                pass
            return conn
        except OSError as exc:
            conn.close()
            if reused:
                again = self._start(node, headers, fresh=True)
                return self._continued(node, again, headers) if again is not None else None
            LOG.warning("object PUT to %s:%s/%s failed: %s", node.ip, node.port, node.device, exc)
            return None

    def write(self, chunks: list[bytes]) -> None:
        chunk = b"".join(chunks)  # one send per replica for the whole batch
        if not chunk:
            return
        self.sent += len(chunk)
        framed = b"%x\r\n%s\r\n" % (len(chunk), chunk) if self.size is None else chunk
        self._send(framed)

    def _send(self, data: bytes) -> None:
        """The bytes to every replica: large batches to all of them at once (one after
        the other, each waited for the slowest disk in turn)."""
        if len(data) >= PARALLEL_SEND and len(self.conns) > 1:
            if self._senders is None:
                self._senders = ThreadPoolExecutor(len(self.conns), "object-put")
            sent = list(self._senders.map(lambda c: _send_to(c[0], c[1], data), self.conns))
        else:
            sent = [_send_to(node, conn, data) for node, conn in self.conns]
        self.conns = [c for c, ok in zip(self.conns, sent, strict=True) if ok]
        if len(self.conns) < quorum(self.deps.rings.object.replicas):
            self.abort()
            raise ServiceUnavailable("Service Unavailable")

    def commit(self) -> Reply:
        if self.size is None:
            self._send(b"0\r\n\r\n")
        elif self.sent != self.size:
            self.abort()
            raise UnprocessableEntity("Client disconnected or sent a short body")
        self._stop_senders()
        # the object servers hash the bytes (and check the client's ETag): their ETag is
        # the object's, so the proxy does not hash every byte a fourth time
        replies = []
        etags = set()
        for node, conn in self.conns:
            try:
                response = conn.getresponse()
                response.read()
                replies.append(NodeReply(node, response.status))
                if 200 <= response.status < 300:
                    etags.add((response.getheader("ETag") or "").strip('"'))
                self.client.pool.release(node, conn, response)
            except (OSError, http.client.HTTPException):
                replies.append(NodeReply(node, 503))
                conn.close()
        status = best_status(replies, self.deps.rings.object.replicas)
        if status == 422:
            raise UnprocessableEntity()
        if status >= 300 or len(etags) != 1:
            LOG.warning("object PUT %s: replicas answered %s, etags %s", self.path.names,
                        [r.status for r in replies], etags)  # fmt: skip
            raise ServiceUnavailable("Service Unavailable")
        digest = etags.pop()
        return Reply(201, {
            "ETag": digest,
            "Last-Modified": email.utils.formatdate(int(float(self.timestamp)) + 1, usegmt=True),
            "Content-Type": "text/html; charset=UTF-8",
        })  # fmt: skip

    def abort(self) -> None:
        for _, conn in self.conns:
            conn.close()
        self.conns = []
        self._stop_senders()

    def _stop_senders(self) -> None:
        if self._senders is not None:
            self._senders.shutdown()
            self._senders = None


def _send_to(node: Node, conn: http.client.HTTPConnection, data: bytes) -> bool:
    try:
        assert conn.sock is not None
        conn.sock.sendall(data)
        return True
    except OSError as exc:
        LOG.warning("object PUT to %s:%s lost: %s", node.ip, node.port, exc)
        conn.close()
        return False


def begin_put(
    deps: Deps, path: ObjectPath, metadata: dict[str, str], size: int | None, etag: str | None,
    if_none_match: str | None = None,
) -> Upload:  # fmt: skip
    if size is not None and size > deps.opts.max_file_size:
        raise RequestEntityTooLarge("Your request is too large.")
    if if_none_match is not None:
        if if_none_match.strip() != "*":
            raise BadRequest("If-None-Match only supports *")
        if head(deps, path, {}).status < 300:
            raise PreconditionFailed()
    check_quota(deps, path, size or 0)
    return Upload(deps, path, metadata, size, etag)


def check_quota(deps: Deps, path: ObjectPath, size: int) -> None:
    """Container quotas (``X-Container-Meta-Quota-Bytes`` / ``-Count``): 413 when the
    upload would exceed them, as Swift's container_quotas middleware answers; and the
    account's (account_quotas)."""
    account_quotas.check(deps, path.account, size)
    cached = containers.cached_head(deps, path.account, path.container)
    lowered = {k.lower(): v for k, v in cached.headers.items()}
    if not any(k.startswith("x-container-meta-quota-") for k in lowered):
        return
    current = containers.head(deps, path.account, path.container)  # counts must be fresh
    info = {k.lower(): v for k, v in current.headers.items()}
    quota_bytes = info.get("x-container-meta-quota-bytes", "")
    used = int(info.get("x-container-bytes-used", "0"))
    if quota_bytes.isdigit() and used + size > int(quota_bytes):
        raise RequestEntityTooLarge("Upload exceeds quota.")
    quota_count = info.get("x-container-meta-quota-count", "")
    count = int(info.get("x-container-object-count", "0"))
    if quota_count.isdigit() and count + 1 > int(quota_count):
        raise RequestEntityTooLarge("Upload exceeds quota.")


def get(deps: Deps, path: ObjectPath, conditions: dict[str, str], method: str = "GET") -> Reply:
    ring = deps.rings.object
    reply = backend(deps).first_good(
        ring, ring.part(*path.names), method, path.names, conditions, stream=method == "GET"
    )
    headers = shown(reply.headers)
    if reply.status >= 300 or reply.response is None:
        return Reply(reply.status, headers)
    return Reply(reply.status, headers, stream=reply.stream())


def head(deps: Deps, path: ObjectPath, conditions: dict[str, str]) -> Reply:
    return get(deps, path, conditions, "HEAD")


def post(deps: Deps, path: ObjectPath, metadata: dict[str, str]) -> Reply:
    # the container must exist; each replica learns its container replica for the expirer
    peers = containers.peer_headers(deps, path.account, path.container)
    ring = deps.rings.object
    ts = timestamp()
    headers = [{**metadata, **peer, "X-Timestamp": ts} for peer in peers]
    replies = backend(deps).write_all(ring, ring.part(*path.names), "POST", path.names, headers)
    status = best_status(replies, ring.replicas)
    # the object's sysmeta, as the object servers answer it (symlinks look at it)
    sysmeta = next((r.headers for r in replies if r.status == status and status < 300), {})
    return Reply(status, {k: v for k, v in sysmeta.items() if k.lower().startswith(SYSMETA)})


def delete(deps: Deps, path: ObjectPath) -> Reply:
    peers = containers.peer_headers(deps, path.account, path.container)
    ring = deps.rings.object
    ts = timestamp()
    headers = [{**peer, "X-Timestamp": ts} for peer in peers]
    replies = backend(deps).write_all(ring, ring.part(*path.names), "DELETE", path.names, headers)
    return Reply(best_status(replies, ring.replicas))


def copy(
    deps: Deps, source: ObjectPath, dest: ObjectPath, metadata: dict[str, str], fresh: bool,
    read: Callable[[ObjectPath], Reply] | None = None,
) -> Reply:  # fmt: skip
    """Server-side copy: the source's bytes and (unless ``fresh``) its metadata, with
    the request's metadata over it. ``read``: how to read the source (what a large
    object or a symlink stands for, see services/large_objects), else its own bytes."""
    found = read(source) if read is not None else get(deps, source, {})
    if found.status >= 300 or found.stream is None:
        return Reply(found.status)
    kept = {} if fresh else {
        k: v for k, v in found.headers.items()
        if k.lower().startswith("x-object-meta-") or k.lower() in (
            "content-type", "content-disposition", "content-encoding")
    }  # fmt: skip
    if fresh and "Content-Type" in found.headers:
        kept["Content-Type"] = found.headers["Content-Type"]
    size = int(found.headers.get("Content-Length", "0"))
    try:
        check_quota(deps, dest, size)
    except RequestEntityTooLarge:
        found.stream.close()  # type: ignore[attr-defined]
        raise
    written = {**kept, **metadata}
    upload = Upload(deps, dest, written, size, None)
    try:
        for chunk in found.stream:
            upload.write([chunk])
    except BaseException:
        upload.abort()
        raise
    reply = upload.commit()
    return Reply(reply.status, {**reply.headers, **copy_headers(source, found, written)})


def copy_headers(source: ObjectPath, found: Reply, written: dict[str, str]) -> dict[str, str]:
    """What Swift's copy answers besides the PUT's: where the copy came from (quoted
    names, the account too) and the metadata the new object was written with."""
    headers = {
        k: v for k, v in written.items()
        if k.lower().startswith("x-object-meta-") or (k.lower() == "x-delete-at" and v)
    }  # fmt: skip
    headers["X-Copied-From-Account"] = urllib.parse.quote(source.account)
    headers["X-Copied-From"] = urllib.parse.quote(f"{source.container}/{source.obj}")
    if "Last-Modified" in found.headers:
        headers["X-Copied-From-Last-Modified"] = found.headers["Last-Modified"]
    return headers
