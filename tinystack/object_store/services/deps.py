"""Deps: what the proxy's service layer needs (options, the rings)."""

from __future__ import annotations

from dataclasses import dataclass, field

from tinystack.object_store.conf import Options
from tinystack.object_store.ring.layout import Rings
from tinystack.object_store.services.info_cache import InfoCache
from tinystack.object_store.services.s3.auth import Authenticator
from tinystack.object_store.storage.pool import Pool

#: seconds the proxy trusts what it learnt of a container or an account (Swift's
#: recheck_container_existence / recheck_account_existence, in its memcache)
RECHECK_SECONDS = 10.0


@dataclass(frozen=True)
class Deps:
    opts: Options
    rings: Rings
    #: what the proxy knows of containers and accounts, invalidated in every proxy
    #: process of this host (services/info_cache.py)
    info_cache: InfoCache
    #: keep-alive connections to the storage servers
    pool: Pool = field(default_factory=Pool)
    #: the S3 API's signature checks through identity (None: no S3 API)
    s3_auth: Authenticator | None = None
