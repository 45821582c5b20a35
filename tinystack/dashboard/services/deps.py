"""Deps: THE dependency bundle of the dashboard (options, the catalog, the Session to
the cloud's services, the session signer, the token validation, the policy enforcers)."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from tinystack.common.auth.revocation import RevocationList
from tinystack.common.auth.tokens import TokenCodec
from tinystack.common.clients.session import Session
from tinystack.common.cloud import CatalogEntry
from tinystack.common.timeutils import TTLCache
from tinystack.dashboard.conf import Options
from tinystack.dashboard.services.policy_checks import Enforcers
from tinystack.dashboard.services.records import Document
from tinystack.dashboard.services.signer import Signer

#: catalog service type -> the name Skyline gives it (its ``service_mapping``)
SKYLINE_NAMES = {
    "identity": "keystone",
    "compute": "nova",
    "block-storage": "cinder",
    "image": "glance",
    "network": "neutron",
    "placement": "placement",
    "object-store": "swift",
    "load-balancer": "octavia",
    "orchestration": "heat",
}


@dataclass
class Deps:
    opts: Options
    session: Session
    signer: Signer
    codec: TokenCodec
    revocations: RevocationList
    catalog: tuple[CatalogEntry, ...]
    #: token -> its identity body (names of user, project, domains), briefly
    token_data: TTLCache[Document]
    #: the pass-through's own connections (raw requests, no service token)
    http: httpx.Client
    enforcers: Enforcers

    def services(self) -> dict[str, CatalogEntry]:
        """Skyline name -> catalog entry of every service the cloud runs."""
        found = {}
        for entry in self.catalog:
            name = SKYLINE_NAMES.get(entry.service_type)
            if name and name not in found:
                found[name] = entry
        return found
