"""Account quotas, as Swift's account_quotas middleware: ``X-Account-Quota-Bytes`` (or
the older ``X-Account-Meta-Quota-Bytes``) and ``X-Account-Quota-Count``, set or removed
only by a reseller admin (403 for anyone else, 400 for a value that is not a
non-negative integer), and enforced on every object write: 413 ``Upload exceeds quota.``
when the account's bytes or objects would go over."""

from __future__ import annotations

from collections.abc import Mapping

from tinystack.common.exceptions import BadRequest, Forbidden, RequestEntityTooLarge
from tinystack.object_store.services import accounts
from tinystack.object_store.services.deps import Deps
from tinystack.object_store.services.records import Reply

BYTES, COUNT, LEGACY = (
    "X-Account-Quota-Bytes",
    "X-Account-Quota-Count",
    "X-Account-Meta-Quota-Bytes",
)


def _key(account: str) -> tuple[str, str]:
    return ("account-quota", account)


def account_metadata(headers: Mapping[str, str], reseller: bool) -> dict[str, str]:
    """The quota headers an account POST stores (``""`` removes one)."""
    found: dict[str, str] = {}
    for name in (BYTES, COUNT):
        value = headers.get(name.lower())
        if name == BYTES and not value and headers.get(LEGACY.lower()) is not None:
            value = headers[LEGACY.lower()]
        removed = [f"x-remove-{name.lower()[2:]}"]
        if name == BYTES:
            removed.append(f"x-remove-{LEGACY.lower()[2:]}")
        if any(headers.get(h) for h in removed):
            value = ""
        if value is not None:
            found[name] = value
    if not found:
        return {}
    if not reseller:
        raise Forbidden("Access was denied to this resource.")
    if any(v and not v.isdigit() for v in found.values()):
        raise BadRequest()
    if BYTES in found:
        found[LEGACY] = found[BYTES]
    return found


def forget(deps: Deps, account: str) -> None:
    deps.info_cache.pop(_key(account))


def _limit(headers: dict[str, str], *names: str) -> int | None:
    for name in names:
        value = headers.get(name.lower(), "")
        if value.isdigit():
            return int(value)
    return None


def check(deps: Deps, account: str, size: int) -> None:
    """413 when writing ``size`` more bytes (one more object) exceeds a quota. What the
    proxy knows of the account's quotas is trusted for RECHECK_SECONDS; the usage is
    asked fresh when there is a quota."""
    known = deps.info_cache.get(_key(account))
    if known is None:
        stamp = deps.info_cache.stamp(_key(account))
        known = accounts.head(deps, account)
        deps.info_cache.put(_key(account), stamp, Reply(known.status, known.headers))
    lowered = {k.lower(): v for k, v in known.headers.items()}
    if _limit(lowered, BYTES, LEGACY) is None and _limit(lowered, COUNT) is None:
        return
    fresh = {k.lower(): v for k, v in accounts.head(deps, account).headers.items()}
    quota_bytes = _limit(fresh, BYTES, LEGACY)
    used = int(fresh.get("x-account-bytes-used", "0") or 0)
    if quota_bytes is not None and used + size > quota_bytes:
        raise RequestEntityTooLarge("Upload exceeds quota.")
    quota_count = _limit(fresh, COUNT)
    count = int(fresh.get("x-account-object-count", "0") or 0)
    if quota_count is not None and count + 1 > quota_count:
        raise RequestEntityTooLarge("Upload exceeds quota.")
