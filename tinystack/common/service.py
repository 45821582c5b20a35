"""What a service offers the deployment, and what the deployment gives it.

Each service package has a ``service.py`` exposing ``SERVICE``, an instance of
a :class:`ServiceSpec` subclass. The deployment (``tinystack.deploy``) is the
only code that knows every service; services never import each other.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Any

from oslo_config import cfg
from starlette.types import ASGIApp

from tinystack.common.auth.revocation import RevocationList
from tinystack.common.auth.tokens import TokenCodec
from tinystack.common.cloud import BootstrapInfo, CatalogEntry, ServiceCredentials
from tinystack.common.db import Database
from tinystack.common.rpc.versions import CapReport, RunningVersion

__all__ = [
    "BootstrapInfo",
    "CatalogEntry",
    "Listener",
    "Runtime",
    "ServiceCredentials",
    "ServiceSpec",
]


@dataclass
class Runtime:
    """Everything a running service needs, built by the deployment."""

    conf: cfg.ConfigOpts
    token_codec: TokenCodec
    revocations: RevocationList
    db: Database | None = None
    #: Identity's public v3 URL, for services that call other services.
    auth_url: str = ""
    credentials: ServiceCredentials | None = None
    catalog: list[CatalogEntry] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Listener:
    """A server a service runs next to its API (compute's metadata API, for instance)."""

    name: str
    host: str
    port: int
    app: ASGIApp
    #: how ``tinystack up`` shows its address: ``<scheme>://host:port/<path>``
    scheme: str = "http"
    path: str = ""
    #: whether it serves TLS when the cloud has ``[DEFAULT] tls_cert_file`` (users reach
    #: it); False for a backend only the cloud's own plain-HTTP clients call (the
    #: metadata API behind network's metadata proxy, object storage's servers)
    tls: bool = True


class ServiceSpec(abc.ABC):
    #: the section name in tinystack.conf and the database file name
    name: str
    #: the catalog service type (identity, compute, placement, image, network, ...)
    service_type: str
    #: the upstream code name shown in the catalog (keystone, nova, ...)
    catalog_name: str
    default_port: int
    #: path appended to http://host:port for the catalog URL ("/v3", "", ...)
    url_suffix: str = ""
    #: Python package holding Alembic scripts, or None for a service without tables
    migrations: str | None = None
    #: more (service type, name) pairs the catalog lists at the same URL (volume's
    #: ``volumev3`` beside ``block-storage``)
    catalog_aliases: tuple[tuple[str, str], ...] = ()
    #: whether the catalog lists the service (a dashboard is no API of the cloud)
    in_catalog: bool = True
    #: what ``tinystack status`` GETs to see the API answer (200 or 300 means up)
    health_path: str = "/"
    #: what the API's extra worker processes run (``tinystack serve <name>``: the
    #: service, or one of its roles); see :meth:`api_workers`
    worker_role: str = ""

    def register_opts(self, conf: cfg.ConfigOpts) -> None:  # noqa: B027
        """Register service-specific options (port and connection are registered for you)."""

    @abc.abstractmethod
    def create_app(self, runtime: Runtime) -> ASGIApp:
        """Build the service's ASGI application."""

    def checks_tokens(self, conf: cfg.ConfigOpts) -> bool:
        """Whether this process's servers check tokens (and so follow identity's
        revocation events); a role without an API (object storage's storage hosts) does
        not."""
        return True

    def api_workers(self, conf: cfg.ConfigOpts) -> int:
        """Processes serving the API's port (``SO_REUSEPORT``): the cloud's and N - 1
        children running :attr:`worker_role` (``deploy/workers.py``); 1 by default."""
        return 1

    def extra_listeners(self, runtime: Runtime) -> list[Listener]:
        """Servers to run besides the API (called after :meth:`create_app`); none by default."""
        return []

    def bootstrap(self, runtime: Runtime, info: BootstrapInfo) -> None:  # noqa: B027
        """Idempotently create the service's initial state on first start."""

    def start(self, runtime: Runtime) -> None:  # noqa: B027
        """Start background workers (agents, periodic tasks). Called after bootstrap."""

    def stop(self, runtime: Runtime) -> None:  # noqa: B027
        """Stop what :meth:`start` started."""

    def running_versions(self, conf: cfg.ConfigOpts, db: Database) -> list[RunningVersion]:
        """What the service's registered processes report running (``tinystack upgrade
        check``, ``tinystack db contract``); none for a service without RPC workers."""
        return []

    def version_caps(self, conf: cfg.ConfigOpts, db: Database) -> list[CapReport]:
        """Its ``[upgrade_levels]`` caps: configured and in effect now."""
        return []
