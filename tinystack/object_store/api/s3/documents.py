"""S3's XML documents: rendering the answers (namespace
``http://s3.amazonaws.com/doc/2006-03-01/``) and parsing request bodies safely with
defusedxml (no entity expansion, no DTDs, no external references): whatever is not a
well-formed document is MalformedXML, never a 500."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable
from datetime import UTC, datetime
from xml.sax.saxutils import escape

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from tinystack.object_store.services.s3.errors import S3Error

NS = "http://s3.amazonaws.com/doc/2006-03-01/"
#: the largest XML body read (a CompleteMultipartUpload of 10,000 parts fits)
MAX_BODY = 4 * 1024 * 1024
Node = tuple[str, "str | int | bool | list[Node] | None"]


def iso(when: float) -> str:
    return datetime.fromtimestamp(when, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _render(nodes: Iterable[Node]) -> str:
    out = []
    for tag, value in nodes:
        if value is None:
            continue
        if isinstance(value, list):
            out.append(f"<{tag}>{_render(value)}</{tag}>")
        elif isinstance(value, bool):
            out.append(f"<{tag}>{'true' if value else 'false'}</{tag}>")
        else:
            out.append(f"<{tag}>{escape(str(value))}</{tag}>")
    return "".join(out)


def document(root: str, children: list[Node], namespace: bool = True) -> bytes:
    attr = f' xmlns="{NS}"' if namespace else ""
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<{root}{attr}>{_render(children)}'
            f"</{root}>").encode()  # fmt: skip


def error(code: str, message: str, resource: str, request_id: str,
          extra: dict[str, str]) -> bytes:  # fmt: skip
    children: list[Node] = [("Code", code), ("Message", message)]
    children += list(extra.items())
    children += [("Resource", resource), ("RequestId", request_id)]
    return document("Error", children, namespace=False)


def parse(body: bytes, root: str) -> ET.Element:
    """The body's root element, which must be ``root`` (any namespace)."""
    if not body.strip():
        raise S3Error("MalformedXML")
    try:
        element: ET.Element = SafeET.fromstring(body, forbid_dtd=True)
    except (ET.ParseError, DefusedXmlException, ValueError):
        raise S3Error("MalformedXML") from None
    if local(element) != root:
        raise S3Error("MalformedXML")
    return element


def local(element: ET.Element) -> str:
    return element.tag.rpartition("}")[2]


def children(element: ET.Element, name: str) -> list[ET.Element]:
    return [c for c in element if local(c) == name]


def text(element: ET.Element, name: str) -> str | None:
    found = children(element, name)
    return (found[0].text or "").strip() if found else None
