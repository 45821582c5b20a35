"""Authorization as the service layer sees it: the ``Check`` the API hands in.

When the resource must be loaded before it can be authorized, the service calls
``check(x)`` with what the rule needs: the loaded record (update, delete, actions) or a
small target naming what the load revealed (``PortTarget``: the network's owner; ``Owner``:
a router's owner). The API builds the check from upstream's rule names and applies
Neutron's attribute rules to its rendered view (``api/enforcement.py``). The service's own
work (agents' RPC, the bootstrap) runs with :func:`internal_context` and :func:`allow_all`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from tinystack.common.auth.context import RequestContext
from tinystack.common.auth.tokens import TokenPayload

T = TypeVar("T")
#: a policy check on what the service loaded (a record or a small target)
Check = Callable[[T], None]


@dataclass(frozen=True, slots=True)
class Owner:
    """The owner of a loaded resource an action is authorized on (router interfaces)."""

    project_id: str


def internal_context(project_id: str | None = None) -> RequestContext:
    """An admin context for the service's own work (RPC from agents, bootstrap)."""
    payload = TokenPayload(
        user_id="network-internal",
        methods=("internal",),
        expires_at=time.time() + 86400 * 365,
        project_id=project_id,
        roles=(("admin", "admin"), ("member", "member"), ("reader", "reader")),
    )
    return RequestContext(request_id="req-network-internal", payload=payload)


def allow_all(target: object) -> None:
    """A policy check that allows everything (the service acting on its own)."""
