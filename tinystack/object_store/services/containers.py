"""Containers through the proxy: PUT (the account told by each replica), HEAD, GET
(object listings), POST (metadata and ACLs), DELETE (409 while objects remain)."""

from __future__ import annotations

import json

from tinystack.common.exceptions import NotFound
from tinystack.object_store.ring.ring import Node
from tinystack.object_store.services import accounts
from tinystack.object_store.services.accounts import backend, public_headers, with_policy
from tinystack.object_store.services.backend import best_status, timestamp
from tinystack.object_store.services.deps import Deps
from tinystack.object_store.services.records import ListingEntry, Reply

PASSED = ("x-container-", "x-timestamp", "x-put-timestamp", "x-versions-location",
          "x-history-location", "x-versions-enabled")  # fmt: skip


def _peer_headers(nodes: list[Node], part: int, kind: str, count: int) -> list[dict[str, str]]:
    """``X-<Kind>-Host/Device/Partition`` for each of ``count`` replicas, spreading the
    peer ring's replicas over them (Swift pairs replica i with peer replica i)."""
    if not nodes:
        return [{} for _ in range(count)]
    found = []
    for index in range(count):
        node = nodes[index % len(nodes)]
        found.append({
            f"X-{kind}-Host": f"{node.ip}:{node.port}",
            f"X-{kind}-Device": node.device,
            f"X-{kind}-Partition": str(part),
        })  # fmt: skip
    return found


def put(deps: Deps, account: str, container: str, metadata: dict[str, str]) -> Reply:
    deps.info_cache.pop((account, container))
    accounts.ensure(deps, account)
    a_part, a_nodes = deps.rings.account.nodes(account)
    ring = deps.rings.container
    part = ring.part(account, container)
    ts = timestamp()
    peers = _peer_headers(a_nodes, a_part, "Account", ring.replicas)
    headers = [{**metadata, **peer, "X-Timestamp": ts} for peer in peers]
    replies = backend(deps).write_all(ring, part, "PUT", (account, container), headers)
    deps.info_cache.pop((account, container))  # and in the other proxy processes
    return Reply(best_status(replies, ring.replicas))


def head(deps: Deps, account: str, container: str) -> Reply:
    stamp = deps.info_cache.stamp((account, container))
    ring = deps.rings.container
    reply = backend(deps).first_good(
        ring, ring.part(account, container), "HEAD", (account, container), {}
    )
    found = Reply(reply.status, with_policy(public_headers(reply.headers, PASSED)))
    if found.status < 300:
        deps.info_cache.put((account, container), stamp, found)
    return found


def cached_head(deps: Deps, account: str, container: str) -> Reply:
    """What the proxy knows of the container (existence, ACLs), asked again after
    RECHECK_SECONDS or after this proxy changed it."""
    found = deps.info_cache.get((account, container))
    return found if found is not None else head(deps, account, container)


def listing(
    deps: Deps, account: str, container: str, query: str
) -> tuple[Reply, list[ListingEntry]]:
    ring = deps.rings.container
    reply = backend(deps).first_good(
        ring, ring.part(account, container), "GET", (account, container), {}, query
    )
    if reply.status >= 300:
        return Reply(reply.status), []
    rows = [ListingEntry(*row) for row in json.loads(reply.body)]
    return Reply(200, with_policy(public_headers(reply.headers, PASSED))), rows


def listing_json(deps: Deps, account: str, container: str, query: str) -> Reply:
    """The listing (no delimiter) as the client's JSON, rendered by the container server
    (as Swift's are): the proxy passes the body on unparsed."""
    ring = deps.rings.container
    reply = backend(deps).first_good(
        ring, ring.part(account, container), "GET", (account, container), {},
        f"{query}&format=json",
    )  # fmt: skip
    if reply.status >= 300:
        return Reply(reply.status)
    return Reply(200, with_policy(public_headers(reply.headers, PASSED)), reply.body)


def post(deps: Deps, account: str, container: str, metadata: dict[str, str]) -> Reply:
    deps.info_cache.pop((account, container))
    ring = deps.rings.container
    headers = {**metadata, "X-Timestamp": timestamp()}
    replies = backend(deps).write_all(
        ring, ring.part(account, container), "POST", (account, container),
        [headers] * ring.replicas,
    )  # fmt: skip
    deps.info_cache.pop((account, container))
    return Reply(best_status(replies, ring.replicas))


def delete(deps: Deps, account: str, container: str) -> Reply:
    deps.info_cache.pop((account, container))
    a_part, a_nodes = deps.rings.account.nodes(account)
    ring = deps.rings.container
    ts = timestamp()
    peers = _peer_headers(a_nodes, a_part, "Account", ring.replicas)
    headers = [{**peer, "X-Timestamp": ts} for peer in peers]
    replies = backend(deps).write_all(
        ring, ring.part(account, container), "DELETE", (account, container), headers
    )
    deps.info_cache.pop((account, container))
    return Reply(best_status(replies, ring.replicas))


def locate(deps: Deps, account: str, container: str) -> tuple[int, list[Node]]:
    """The container's partition and primaries; 404 unless it exists."""
    if cached_head(deps, account, container).status >= 300:
        raise NotFound()
    return deps.rings.container.nodes(account, container)


def peer_headers(deps: Deps, account: str, container: str) -> list[dict[str, str]]:
    """What each object replica is told about the container replica to update."""
    part, nodes = locate(deps, account, container)
    return _peer_headers(nodes, part, "Container", deps.rings.object.replicas)
