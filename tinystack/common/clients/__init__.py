"""REST clients a service uses to call other services, keystone-session style.

:class:`~tinystack.common.clients.session.Session` holds one pooled ``httpx.Client``,
a cached service token (re-issued before it expires or after a 401) and endpoint
lookup from the deployment's catalog. The typed clients (``placement``, ``image``,
``network``, ``volume``, ``object_store``) are thin and thread-safe; they raise
:class:`~tinystack.common.clients.session.ClientError` subclasses and import
nothing from the web framework.
"""

from tinystack.common.clients.session import (
    ClientConflict,
    ClientError,
    ClientNotFound,
    EndpointNotFound,
    Session,
)

__all__ = ["ClientConflict", "ClientError", "ClientNotFound", "EndpointNotFound", "Session"]
