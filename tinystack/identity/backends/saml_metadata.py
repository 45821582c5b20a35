"""SAML 2.0 identity providers trusted through their published metadata, as Shibboleth's
``MetadataProvider url=...`` does for a Keystone service provider.

``[federation] saml2_idp_metadata_url`` names metadata documents (a keystone IdP's
``/v3/OS-FEDERATION/saml2/metadata``); each ``EntityDescriptor`` with an
``IDPSSODescriptor`` makes its ``entityID`` a trusted issuer whose assertions must be
signed by the certificate its signing ``KeyDescriptor`` publishes. Documents are cached
and re-read after ``ttl`` seconds, or sooner (at most every ``min_refresh`` seconds)
when an assertion names an issuer they do not list — how a new or re-keyed identity
provider becomes known without a restart.
"""

from __future__ import annotations

import textwrap
import threading
import time
from collections.abc import Sequence

import httpx
from lxml import etree

MD = "urn:oasis:names:tc:SAML:2.0:metadata"
DS = "http://www.w3.org/2000/09/xmldsig#"
TIMEOUT = 10.0
CACHE_SECONDS = 300.0
MIN_REFRESH_SECONDS = 10.0


class MetadataError(Exception):
    """A metadata document could not be read or names no identity provider."""


def _pem(body: str) -> str:
    compact = "".join(body.split())
    lines = "\n".join(textwrap.wrap(compact, 64))
    return f"-----BEGIN CERTIFICATE-----\n{lines}\n-----END CERTIFICATE-----\n"


def parse(document: bytes) -> dict[str, str]:
    """entity id -> PEM signing certificate of every identity provider ``document`` lists."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    try:
        root = etree.fromstring(document, parser=parser)
    except etree.XMLSyntaxError as err:
        raise MetadataError(f"not XML: {err}") from err
    descriptors = [root] if root.tag == f"{{{MD}}}EntityDescriptor" else []
    descriptors += list(root.iter(f"{{{MD}}}EntityDescriptor"))
    found: dict[str, str] = {}
    for descriptor in descriptors:
        entity_id = descriptor.get("entityID") or ""
        idp = descriptor.find(f"{{{MD}}}IDPSSODescriptor")
        if not entity_id or idp is None:
            continue
        for key in idp.iter(f"{{{MD}}}KeyDescriptor"):
            if key.get("use", "signing") != "signing":
                continue
            cert = key.findtext(f"{{{DS}}}KeyInfo/{{{DS}}}X509Data/{{{DS}}}X509Certificate")
            if cert and cert.strip():
                found[entity_id] = _pem(cert)
                break
    return found


class MetadataTrust:
    """The issuers the configured metadata documents vouch for; safe to share between
    threads."""

    def __init__(
        self, ttl: float = CACHE_SECONDS, min_refresh: float = MIN_REFRESH_SECONDS
    ) -> None:
        self.ttl = ttl
        self.min_refresh = min_refresh
        self._lock = threading.Lock()
        #: url -> (read at, entity id -> PEM)
        self._read: dict[str, tuple[float, dict[str, str]]] = {}

    def certificate(self, urls: Sequence[str], issuer: str) -> str | None:
        """The signing certificate ``issuer`` publishes in one of ``urls`` (None: none
        lists it, or none can be read)."""
        for url in urls:
            for refresh in (False, True):
                try:
                    entities = self._entities(url, refresh)
                except MetadataError:
                    break
                if issuer in entities:
                    return entities[issuer]
        return None

    def _entities(self, url: str, refresh: bool) -> dict[str, str]:
        now = time.monotonic()
        with self._lock:
            hit = self._read.get(url)
        if hit is not None:
            age = now - hit[0]
            if age < self.ttl and not (refresh and age >= self.min_refresh):
                return hit[1]
        try:
            with httpx.Client(timeout=TIMEOUT) as http:
                response = http.get(url)
                response.raise_for_status()
        except httpx.HTTPError as exc:
            raise MetadataError(f"{url}: {exc}") from exc
        entities = parse(response.content)
        with self._lock:
            self._read[url] = (now, entities)
        return entities
