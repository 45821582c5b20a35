"""``Deps``: everything identity's service layer needs, built once per process."""

from __future__ import annotations

from dataclasses import dataclass, field

from tinystack.common.auth.keys import KeyRepository
from tinystack.common.auth.revocation import RevocationList
from tinystack.common.auth.tokens import TokenCodec
from tinystack.common.db import Database
from tinystack.common.notifier import Notifier
from tinystack.common.timeutils import TTLCache
from tinystack.identity.backends.ldap import Directory
from tinystack.identity.backends.oidc import OidcVerifier
from tinystack.identity.backends.saml_metadata import MetadataTrust
from tinystack.identity.conf import Options
from tinystack.identity.services.records import AppCredRef, CatalogService, NameRef

#: Token renderings (names, the catalog) are cached this long; identity's own writes clear
#: the caches, the TTL bounds staleness when several identity processes share one database.
CACHE_TTL = 5.0
CACHE_MAX_ENTRIES = 10000


@dataclass
class Deps:
    opts: Options
    db: Database
    codec: TokenCodec
    revocations: RevocationList
    #: notifications (``identity.project.created``, Keystone's basic format)
    notifier: Notifier = field(default_factory=lambda: Notifier.disabled("identity"))
    #: users, projects and domains as tokens name them, by (kind, id)
    names: TTLCache[NameRef] = field(default_factory=lambda: TTLCache(CACHE_TTL, CACHE_MAX_ENTRIES))
    #: the token catalog (one entry)
    catalog_cache: TTLCache[tuple[CatalogService, ...]] = field(
        default_factory=lambda: TTLCache(CACHE_TTL, CACHE_MAX_ENTRIES)
    )
    #: application credentials as tokens name them, by id
    app_creds: TTLCache[AppCredRef] = field(
        default_factory=lambda: TTLCache(CACHE_TTL, CACHE_MAX_ENTRIES)
    )
    #: the endpoint ids of projects with endpoint filters (OS-EP-FILTER), by project id
    endpoint_filters: TTLCache[frozenset[str]] = field(
        default_factory=lambda: TTLCache(CACHE_TTL, CACHE_MAX_ENTRIES)
    )
    #: Fernet keys of credential blobs ([credential] key_repository), not the token keys
    credential_keys: KeyRepository = field(init=False)

    def __post_init__(self) -> None:
        self.credential_keys = KeyRepository(self.opts.credential_key_repository)

    #: the LDAP directory of a domain (None inside: the domain's identities are in SQL)
    directories: TTLCache[tuple[Directory | None]] = field(
        default_factory=lambda: TTLCache(CACHE_TTL, CACHE_MAX_ENTRIES)
    )
    #: verifies OpenID Connect tokens for federated authentication (caches issuers' keys)
    oidc: OidcVerifier = field(default_factory=OidcVerifier)
    #: SAML 2.0 identity providers trusted through their metadata URLs
    saml_metadata: MetadataTrust = field(default_factory=MetadataTrust)

    def clear_caches(self) -> None:
        """Forget every cached rendering (after a write that may change one)."""
        self.names.clear()
        self.catalog_cache.clear()
        self.app_creds.clear()
        self.directories.clear()
        self.endpoint_filters.clear()
