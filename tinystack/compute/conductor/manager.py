"""The conductor's RPC endpoint."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from tinystack.common.rpc import Target
from tinystack.compute import exception, models, rpcapi, states
from tinystack.compute.conductor.tasks.build import BuildFlow, fail_builds
from tinystack.compute.conductor.tasks.migrate import MigrationFlow, UnshelveFlow
from tinystack.compute.context import CallContext
from tinystack.compute.services.common import Deps, utcnow

LOG = logging.getLogger(__name__)


class ConductorManager:
    target = Target(rpcapi.CONDUCTOR_TOPIC, version=rpcapi.CONDUCTOR_VERSION)

    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    def build_instances(
        self,
        ctxt: dict[str, Any],
        instance_uuids: list[str],
        request_spec: dict[str, Any],
        host_lists: list[list[dict[str, Any]]] | None = None,
        attempt: int = 1,
    ) -> None:
        flow = BuildFlow(self.deps, CallContext.from_dict(ctxt))
        if host_lists is None:
            flow.run(instance_uuids, request_spec)
        else:
            flow.retry(instance_uuids, request_spec, host_lists, attempt)

    def migrate_server(
        self,
        ctxt: dict[str, Any],
        instance_uuid: str,
        request_spec: dict[str, Any],
        new_flavor: dict[str, Any] | None,
        migration_type: str,
    ) -> None:
        MigrationFlow(self.deps, CallContext.from_dict(ctxt)).run(
            instance_uuid, request_spec, new_flavor, migration_type
        )

    def unshelve_instance(
        self, ctxt: dict[str, Any], instance_uuid: str, request_spec: dict[str, Any]
    ) -> None:
        UnshelveFlow(self.deps, CallContext.from_dict(ctxt)).run(instance_uuid, request_spec)

    # -- start-up recovery ---------------------------------------------------------------------
    def recover(self, older_than: float) -> int:
        """Fail builds that never reached a host (their conductor died); returns how many."""
        cutoff = utcnow() - timedelta(seconds=older_than)
        with self.deps.db.reader() as session:
            stuck = list(
                session.scalars(
                    select(models.Instance.uuid).where(
                        models.Instance.deleted.is_(False),
                        models.Instance.vm_state == states.BUILDING,
                        models.Instance.host.is_(None),
                        models.Instance.created_at <= cutoff,
                    )
                )
            )
        if stuck:
            LOG.warning("failing %d build(s) interrupted by a restart", len(stuck))
            error = exception.NoValidHost(
                "The compute service restarted while the instance was being scheduled."
            )
            fail_builds(
                self.deps,
                CallContext.internal(),
                stuck,
                error,
                event="conductor_schedule_and_build_instances",
            )
        return len(stuck)
