"""What the provider agent reads and writes, as a protocol: ``services/provider_store.py``
implements it structurally, so the agent imports no models, services or database."""

from __future__ import annotations

from typing import Protocol

from tinystack.load_balancer.specs import HealthReport, LoadBalancerSpec


class ProviderStore(Protocol):
    def spec(self, lb_id: str) -> LoadBalancerSpec | None:
        """What the load balancer should run (None: it is gone)."""

    def applied(self, lb_id: str) -> None:
        """The data plane matches the spec: pending objects become ACTIVE (or go)."""

    def failed(self, lb_id: str, reason: str) -> None:
        """Building it failed: the load balancer and its pending objects become ERROR."""

    def deleted(self, lb_id: str) -> None:
        """The data plane is gone: release the VIP port (if the LB made it), drop the rows."""

    def hosted(self, host: str, provider: str) -> list[str]:
        """Ids of the load balancers of ``provider`` on ``host`` (not being deleted)."""

    def deleting(self, host: str, provider: str) -> list[str]:
        """Ids of the load balancers of ``provider`` on ``host`` being deleted (PENDING_DELETE:
        a delete the agent never finished, its process killed or the cast lost)."""

    def release_orphans(self, host: str, before: float) -> list[str]:
        """VIP ports of ``host`` older than ``before`` whose load balancer was never
        committed, deleted or released; their ids."""

    def report(self, lb_id: str, report: HealthReport) -> None:
        """Member health and listener counters read from HAProxy."""
