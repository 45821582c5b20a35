"""Accounts through the proxy: HEAD/GET (listings of containers) and POST (metadata);
accounts are created on first use (keystoneauth's account autocreate)."""

from __future__ import annotations

import json
from collections.abc import Mapping

from tinystack.common.exceptions import BadRequest, ServiceUnavailable
from tinystack.object_store.services.backend import Backend, best_status, timestamp
from tinystack.object_store.services.deps import Deps
from tinystack.object_store.services.records import ListingEntry, Reply

#: headers of an account's answer the proxy passes on
PASSED = ("x-account-", "x-timestamp", "x-put-timestamp", "content-type")


def backend(deps: Deps) -> Backend:
    return Backend(deps.opts.conn_timeout, deps.opts.node_timeout, deps.pool)


def public_headers(headers: dict[str, str], prefixes: tuple[str, ...]) -> dict[str, str]:
    """What a client sees of an account or container server's answer: metadata removed
    (set to an empty value) is not shown, as Swift's servers leave it out."""
    return {
        k: v for k, v in headers.items()
        if k.lower().startswith(prefixes) and not k.lower().startswith("x-backend")
        and (v or "-meta-" not in k.lower())
    }  # fmt: skip


POLICY = "Policy-0"  # the one storage policy (/info lists it)


def check_policy(headers: Mapping[str, str]) -> None:
    """A container PUT may name the policy (any case); 400 for another, as Swift."""
    name = headers.get("x-storage-policy")
    if name and name.strip().lower() != POLICY.lower():
        raise BadRequest(f"Invalid X-Storage-Policy '{name}'")


def with_policy(headers: dict[str, str]) -> dict[str, str]:
    """Swift's per-policy view: a container's ``X-Storage-Policy``, an account's
    ``X-Account-Storage-Policy-<name>-*`` usage (all of it, with one policy)."""
    found = dict(headers)
    lowered = {k.lower(): v for k, v in headers.items()}
    if "x-account-bytes-used" in lowered:
        prefix = f"X-Account-Storage-Policy-{POLICY}-"
        found[prefix + "Container-Count"] = lowered.get("x-account-container-count", "0")
        found[prefix + "Object-Count"] = lowered.get("x-account-object-count", "0")
        found[prefix + "Bytes-Used"] = lowered["x-account-bytes-used"]
    elif "x-container-bytes-used" in lowered:
        found["X-Storage-Policy"] = POLICY
    return found


def empty_account_headers() -> dict[str, str]:
    """An account never written to, as autocreate shows it."""
    return {
        "X-Account-Container-Count": "0",
        "X-Account-Object-Count": "0",
        "X-Account-Bytes-Used": "0",
        "X-Timestamp": timestamp(),
    }


def ensure(deps: Deps, account: str) -> None:
    """Create the account on its replicas unless it exists (autocreate)."""
    if deps.info_cache.get((account,)) is not None:
        return
    stamp = deps.info_cache.stamp((account,))
    ring = deps.rings.account
    part = ring.part(account)
    found = backend(deps).first_good(ring, part, "HEAD", (account,), {})
    if found.status < 300:
        deps.info_cache.put((account,), stamp, Reply(found.status))
        return
    ts = timestamp()
    replies = backend(deps).write_all(
        ring, part, "PUT", (account,), [{"X-Timestamp": ts}] * ring.replicas
    )
    if best_status(replies, ring.replicas) >= 300:
        raise ServiceUnavailable("Service Unavailable")
    deps.info_cache.put((account,), stamp, Reply(201))


def head(deps: Deps, account: str) -> Reply:
    ring = deps.rings.account
    reply = backend(deps).first_good(ring, ring.part(account), "HEAD", (account,), {})
    if reply.status == 404:
        return Reply(204, with_policy(empty_account_headers()))
    return Reply(reply.status, with_policy(public_headers(reply.headers, PASSED)))


def listing(deps: Deps, account: str, query: str) -> tuple[Reply, list[ListingEntry]]:
    ring = deps.rings.account
    reply = backend(deps).first_good(ring, ring.part(account), "GET", (account,), {}, query)
    if reply.status == 404:
        return Reply(200, with_policy(empty_account_headers())), []
    if reply.status >= 300:
        return Reply(reply.status, {}), []
    rows = [ListingEntry(*row) for row in json.loads(reply.body)]
    return Reply(200, with_policy(public_headers(reply.headers, PASSED))), rows


def post(deps: Deps, account: str, metadata: dict[str, str]) -> Reply:
    ensure(deps, account)
    ring = deps.rings.account
    headers = {**metadata, "X-Timestamp": timestamp()}
    replies = backend(deps).write_all(
        ring, ring.part(account), "POST", (account,), [headers] * ring.replicas
    )
    return Reply(best_status(replies, ring.replicas))
