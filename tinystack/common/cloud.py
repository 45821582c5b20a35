"""What the deployment tells a service about the cloud it runs in: the catalog, the
service users, the first-start facts.

Plain frozen records with no dependencies, so that service layers, workers and the
service-token :class:`~tinystack.common.clients.session.Session` can use them without
importing the web stack or the database (``tinystack.common.service`` re-exports them).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class CatalogEntry:
    """One service in the catalog: its type, name and public URL."""

    service_type: str
    name: str
    url: str
    description: str = ""


@dataclass(frozen=True)
class ServiceCredentials:
    """The service user a service authenticates as when it calls other services."""

    username: str
    password: str = field(repr=False)  # never in a log line
    project_name: str = "service"
    domain_name: str = "Default"


@dataclass(frozen=True)
class BootstrapInfo:
    """What the first start of a cloud needs to know (used by identity's bootstrap)."""

    admin_password: str = field(repr=False)
    demo_password: str = field(repr=False)
    region: str
    catalog: list[CatalogEntry]
    service_users: dict[str, ServiceCredentials]
