"""The account and container servers: ``/<device>/<partition>/<account>[/<container>]``
databases, their listings and metadata, object rows from the object servers and
container rows from the container servers."""

from __future__ import annotations

import json
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response

from tinystack.common.exceptions import BadRequest, MethodNotAllowed, NotFound
from tinystack.object_store.ring.ring import hash_path
from tinystack.object_store.storage.broker import ZERO, Broker, Info
from tinystack.object_store.storage.http import BackendPath, Workers, make_app
from tinystack.object_store.storage.paths import device_path, item_dir, normalize
from tinystack.object_store.storage.updates import (
    UPDATE_TIMEOUT,
    AccountReporter,
    ContainerStats,
    send,
)

#: metadata headers each kind stores (besides X-<Kind>-Meta-*)
SYSMETA = {
    "account": ("x-account-quota-bytes", "x-account-quota-count"),
    "container": ("x-container-read", "x-container-write", "x-versions-location",
                  "x-history-location", "x-container-sync-to", "x-container-sync-key",
                  "x-versions-enabled"),
}  # fmt: skip


def _timestamp(request: Request, header: str = "x-timestamp") -> str:
    try:
        return normalize(request.headers.get(header) or "")
    except ValueError as exc:
        raise BadRequest(f"Missing or invalid {header} header") from exc


def _metadata(request: Request, kind: str) -> dict[str, str]:
    prefix = f"x-{kind}-meta-"
    found = {}
    for key, value in request.headers.items():
        if key.startswith(prefix) or key in SYSMETA[kind]:
            found["-".join(p.capitalize() for p in key.split("-"))] = value
    return found


def info_headers(kind: str, info: Info) -> dict[str, str]:
    headers = {
        "X-Timestamp": info.created_at,
        "X-Put-Timestamp": info.put_timestamp,
        "X-Backend-Timestamp": info.created_at,
        "X-Backend-Put-Timestamp": info.put_timestamp,
        "X-Backend-Delete-Timestamp": info.delete_timestamp,
    }
    if kind == "account":
        headers["X-Account-Container-Count"] = str(info.items)
        headers["X-Account-Object-Count"] = str(info.count)
        headers["X-Account-Bytes-Used"] = str(info.bytes_used)
    else:
        headers["X-Container-Object-Count"] = str(info.count)
        headers["X-Container-Bytes-Used"] = str(info.bytes_used)
    for key, (value, _) in info.metadata.items():
        if value:
            headers[key] = value
    return headers


class DbServer:
    def __init__(self, kind: str, devices: Path, hash_suffix: str) -> None:
        self.kind = kind
        self.devices = devices
        self.suffix = hash_suffix
        self.reporter: AccountReporter | None = None
        self.workers = Workers()

    def broker(self, path: BackendPath) -> Broker:
        dev = device_path(self.devices, path.device)
        container = path.container if self.kind == "container" else ""
        name_hash = hash_path("", self.suffix, path.account, container)
        db = item_dir(dev, f"{self.kind}s", path.partition, name_hash) / f"{name_hash}.db"
        return Broker(db, self.kind)

    async def handle(self, request: Request, path: BackendPath) -> Response:
        own = 3 if self.kind == "account" else 4
        if path.depth == own and request.headers.get("x-backend-replication") == "merge":
            body = await request.body()
            return await self.workers.run(self.merge, path, body)
        if path.depth == own:
            return await self.workers.run(self.own, request, path)
        if path.depth == own + 1:
            return await self.workers.run(self.item, request, path)
        raise BadRequest("Invalid path")

    def own(self, request: Request, path: BackendPath) -> Response:
        broker = self.broker(path)
        method = request.method
        if method == "PUT":
            timestamp = _timestamp(request)
            existed = broker.exists() and not broker.info().deleted
            broker.initialize(path.account, timestamp, path.container)
            broker.update_metadata(_metadata(request, self.kind), timestamp)
            self.report(request, broker)
            return Response(status_code=202 if existed else 201)
        if method in ("GET", "HEAD"):
            # the replicators ask whether a replica exists at all, deleted or not
            replication = request.headers.get("x-backend-replication") == "exists"
            try:
                info = broker.info() if replication else broker.live()
            except NotFound:
                return Response(status_code=404)
            headers = info_headers(self.kind, info)
            if method == "HEAD":
                return Response(status_code=204, headers=headers)
            return self.listing(request, broker, headers)
        if method == "POST":
            broker.live()
            broker.update_metadata(_metadata(request, self.kind), _timestamp(request))
            return Response(status_code=204)
        if method == "DELETE":
            broker.delete(_timestamp(request))
            self.report(request, broker)
            return Response(status_code=204)
        raise MethodNotAllowed()

    def merge(self, path: BackendPath, body: bytes) -> Response:
        """A replica's rows (the replicator's push): merged by timestamp."""
        broker = self.broker(path)
        try:
            broker.merge(json.loads(body))
        except (ValueError, KeyError, TypeError) as exc:
            raise BadRequest(f"invalid replication body: {exc}") from exc
        if self.reporter is not None and self.kind == "container":
            self.reporter.mark(broker.path)
        return Response(status_code=202)

    def listing(self, request: Request, broker: Broker, headers: dict[str, str]) -> Response:
        q = request.query_params
        try:
            limit = int(q.get("limit", "10000"))
        except ValueError as exc:
            raise BadRequest("Invalid limit") from exc
        if self.kind == "container" and q.get("format") == "json" and not q.get("delimiter"):
            body = broker.listing_json(
                limit,
                marker=q.get("marker", ""),
                end_marker=q.get("end_marker", ""),
                prefix=q.get("prefix", ""),
                reverse=q.get("reverse", "").lower() in ("1", "true", "yes", "on"),
            )
            return Response(body, headers=headers, media_type="application/json")
        entries = broker.listing(
            limit,
            marker=q.get("marker", ""),
            end_marker=q.get("end_marker", ""),
            prefix=q.get("prefix", ""),
            delimiter=q.get("delimiter", ""),
            reverse=q.get("reverse", "").lower() in ("1", "true", "yes", "on"),
        )
        rows = [
            [e.name, e.timestamp, e.count_or_size, e.bytes_or_type, e.etag, e.subdir]
            for e in entries
        ]
        return Response(json.dumps(rows), headers=headers, media_type="application/json")

    def item(self, request: Request, path: BackendPath) -> Response:
        broker = self.broker(path)
        if broker.is_deleted():
            return Response(status_code=404)
        if request.method not in ("PUT", "DELETE"):
            raise MethodNotAllowed()
        if self.kind == "container":
            deleted = request.method == "DELETE"
            broker.put_object(
                path.obj,
                _timestamp(request),
                0 if deleted else int(request.headers.get("x-size", "0")),
                request.headers.get("x-content-type", ""),
                request.headers.get("x-etag", ""),
                deleted,
            )
            if self.reporter is not None:
                self.reporter.mark(broker.path)
            return Response(status_code=201 if not deleted else 204)
        broker.put_container(
            path.container,
            _timestamp(request, "x-put-timestamp"),
            normalize(request.headers.get("x-delete-timestamp") or ZERO),
            int(request.headers.get("x-object-count", "0")),
            int(request.headers.get("x-bytes-used", "0")),
        )
        return Response(status_code=201)

    def report(self, request: Request, broker: Broker) -> None:
        """A container PUT or DELETE tells the account replica the proxy named."""
        if self.kind != "container":
            return
        host = request.headers.get("x-account-host")
        device = request.headers.get("x-account-device")
        part = request.headers.get("x-account-partition")
        stats = container_stats(broker.path)
        if stats is None:
            return
        if host and device and part:
            path = f"/{device}/{part}/{stats.account}/{stats.container}"
            if send(host, "PUT", path, stats.headers(), UPDATE_TIMEOUT):
                return
        if self.reporter is not None:
            self.reporter.mark(broker.path)


def container_stats(db_path: Path) -> ContainerStats | None:
    broker = Broker(db_path, "container")
    try:
        info = broker.info()
    except NotFound:
        return None
    return ContainerStats(
        info.name, info.container, info.put_timestamp, info.delete_timestamp, info.count,
        info.bytes_used,
    )  # fmt: skip


def create_app(kind: str, devices: Path, hash_suffix: str, reporter: AccountReporter | None
               ) -> Starlette:  # fmt: skip
    server = DbServer(kind, devices, hash_suffix)
    server.reporter = reporter
    return make_app(kind, server.handle)
