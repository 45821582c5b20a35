"""FormPost, as Swift's formpost middleware: a browser's ``multipart/form-data`` POST to
``/v1/<account>/<container>[/<prefix>]`` uploads its files as objects ``<prefix><filename>``
when its ``signature`` is an HMAC of ``<path>\\n<redirect>\\n<max_file_size>\\n
<max_file_count>\\n<expires>`` with one of the account's or container's temp URL keys
(sha1, sha256 or sha512, as for temp URLs)."""

from __future__ import annotations

import hashlib
import hmac
import time

from tinystack.common.exceptions import BadRequest, Unauthorized
from tinystack.object_store.services import tempurl, versioning
from tinystack.object_store.services.deps import Deps
from tinystack.object_store.services.objects import ObjectPath, Upload, begin_put
from tinystack.object_store.services.records import Reply


class FormInvalid(BadRequest):
    """400 ``FormPost: <reason>``."""


class FormUnauthorized(Unauthorized):
    """401 ``FormPost: <Reason>``."""


def _integer(attributes: dict[str, str], name: str, message: str) -> int:
    try:
        return int(attributes.get(name) or 0)
    except ValueError as exc:
        raise FormInvalid(message) from exc


def limits(attributes: dict[str, str]) -> tuple[int, int]:
    """(max_file_size, max_file_count) of the form."""
    return (_integer(attributes, "max_file_size", "max_file_size not an integer"),
            _integer(attributes, "max_file_count", "max_file_count not an integer"))  # fmt: skip


def verify(deps: Deps, account: str, container: str, path: str, attributes: dict[str, str]) -> None:
    """The form's expiry and signature (``path``: the POST's ``/v1/...`` path)."""
    keys = [key for key, _ in tempurl.keys(deps, account, container)] if container else []
    if not keys:
        raise FormUnauthorized("invalid signature")
    if _integer(attributes, "expires", "expired not an integer") < time.time():
        raise FormUnauthorized("form expired")
    body = "\n".join([
        path, attributes.get("redirect") or "", attributes.get("max_file_size") or "0",
        attributes.get("max_file_count") or "0", attributes.get("expires") or "0",
    ]).encode()  # fmt: skip
    try:
        algorithm, presented = tempurl.split_signature(attributes.get("signature", ""))
    except ValueError as exc:
        raise FormUnauthorized("invalid signature") from exc
    if algorithm not in tempurl.DIGESTS:
        raise FormUnauthorized("invalid signature")
    digest = getattr(hashlib, algorithm)
    if not any(hmac.compare_digest(hmac.new(k.encode(), body, digest).hexdigest(), presented)
               for k in keys):  # fmt: skip
        raise FormUnauthorized("invalid signature")


def file_metadata(attributes: dict[str, str]) -> dict[str, str]:
    """The object metadata a file part sets: type, encoding and expiry."""
    meta = {"Content-Type": attributes.get("content-type") or "application/octet-stream"}
    if attributes.get("content-encoding"):
        meta["Content-Encoding"] = attributes["content-encoding"]
    if "x_delete_at" in attributes:
        message = "x_delete_at not an integer: Unix timestamp required."
        meta["X-Delete-At"] = str(_integer(attributes, "x_delete_at", message))
    if "x_delete_after" in attributes:
        message = "x_delete_after not an integer: Number of seconds required."
        after = _integer(attributes, "x_delete_after", message)
        meta["X-Delete-At"] = str(int(time.time()) + after)
    return meta


def begin_upload(deps: Deps, path: ObjectPath, metadata: dict[str, str]) -> Upload:
    """The object PUT a file part becomes (a versioned container keeps what it replaces)."""
    plan = versioning.before_put(deps, path, metadata)
    return begin_put(deps, path, plan.metadata, None, None)


def finish_upload(upload: Upload) -> Reply:
    return upload.commit()
