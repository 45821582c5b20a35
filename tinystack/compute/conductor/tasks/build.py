"""The build flow: schedule (claiming in placement), assign hosts, hand over to the agents."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.orm import Session

from tinystack.common.clients.session import ClientError
from tinystack.common.rpc import MessagingTimeout, RemoteError
from tinystack.common.rpc.context import CallContext
from tinystack.common.timeutils import utcnow
from tinystack.compute import exception, states
from tinystack.compute.conductor.tasks.base import Task
from tinystack.compute.objects import Destinations, HostList, RequestSpec, ScheduledEvent
from tinystack.compute.services import instance_actions, instances
from tinystack.compute.services.deps import Deps

LOG = logging.getLogger(__name__)
SCHEDULE_EVENT = "conductor_schedule_and_build_instances"
RETRY_EVENT = "conductor_build_instances"


def fail_builds(
    deps: Deps,
    ctx: CallContext,
    uuids: list[str],
    error: BaseException,
    *,
    event: str,
    started: datetime | None = None,
    host: str | None = None,
) -> None:
    """Put instances in ERROR with a fault and close their create action."""
    for uuid in uuids:

        def write(session: Session, uuid: str = uuid) -> None:
            try:
                instances.save_in(
                    session,
                    uuid,
                    {"vm_state": states.ERROR, "task_state": None, "host": host, "node": None},
                )
            except exception.InstanceNotFound:
                return
            instances.add_fault(session, uuid, error, host=host)
            instance_actions.event_finish_in(
                session, ctx, uuid, event, error=error, started=started, finish_action=True
            )

        deps.db.write(write)
        deps.changed(uuid)
        try:
            deps.placement.delete_allocations(uuid)
        except ClientError as exc:
            LOG.warning("cannot remove the allocations of failed build %s: %s", uuid, exc)


def remote_reason(exc: BaseException) -> BaseException:
    """The scheduler's NoValidHost as a local exception (RPC errors arrive as RemoteError)."""
    if isinstance(exc, RemoteError) and exc.exc_type in ("NoValidHost", "MaxRetriesExceeded"):
        message = exc.message.removeprefix("No valid host was found.").strip()
        return exception.NoValidHost(message)
    if isinstance(exc, MessagingTimeout):
        return exception.NoValidHost("The scheduler did not answer in time.")
    return exc


class ScheduleTask(Task[Destinations]):
    """Ask the scheduler for hosts; it claims them in placement."""

    def __init__(self, deps: Deps, ctx: CallContext, uuids: list[str], spec: RequestSpec):
        self.deps, self.ctx, self.uuids, self.spec = deps, ctx, uuids, spec

    def _execute(self) -> Destinations:
        return self.deps.scheduler.select_destinations(self.ctx, self.spec, self.uuids)


class CastBuildTask(Task[None]):
    """Hand the instance to the chosen host's agent.

    The agent records the placement (host, node, zone) together with this
    scheduling event in its first write, so a build costs one write fewer; if the
    instance went away meanwhile the agent drops the claimed allocation.
    """

    def __init__(
        self,
        deps: Deps,
        ctx: CallContext,
        uuid: str,
        spec: RequestSpec,
        host_list: HostList,
        attempt: int,
        scheduled: ScheduledEvent,
    ) -> None:
        self.deps, self.ctx, self.uuid, self.spec = deps, ctx, uuid, spec
        self.host_list, self.attempt, self.scheduled = host_list, attempt, scheduled

    def _execute(self) -> None:
        chosen, *alternates = self.host_list.selections
        self.deps.agents.build_and_run_instance(
            self.ctx,
            chosen.host,
            self.uuid,
            self.spec,
            HostList(tuple(alternates)),
            attempt=self.attempt,
            node=chosen.nodename,
            scheduled=self.scheduled,
        )

    def rollback(self, exc: Exception) -> None:
        try:
            self.deps.placement.delete_allocations(self.uuid)
        except ClientError as err:
            LOG.warning("cannot remove the allocations of %s: %s", self.uuid, err)


def _scheduled(event: str, started: datetime, host: str) -> ScheduledEvent:
    return ScheduledEvent(event=event, started=started, finished=utcnow(), host=host)


class BuildFlow:
    """Schedule then cast ``build_and_run_instance`` for a batch of new instances."""

    def __init__(self, deps: Deps, ctx: CallContext) -> None:
        self.deps = deps
        self.ctx = ctx

    def run(self, uuids: list[str], spec: RequestSpec) -> None:
        started = utcnow()
        try:
            selections = ScheduleTask(self.deps, self.ctx, uuids, spec).execute()
        except Exception as exc:
            reason = remote_reason(exc)
            LOG.info("no host for %s: %s", ", ".join(uuids), reason)
            fail_builds(self.deps, self.ctx, uuids, reason, event=SCHEDULE_EVENT, started=started)
            return
        scheduled = _scheduled(SCHEDULE_EVENT, started, self.deps.host)
        for uuid, host_list in zip(uuids, selections.host_lists, strict=True):
            try:
                CastBuildTask(self.deps, self.ctx, uuid, spec, host_list, 1, scheduled).execute()
            except Exception as exc:
                fail_builds(self.deps, self.ctx, [uuid], exc, event=SCHEDULE_EVENT, started=started)

    def retry(
        self,
        uuids: list[str],
        spec: RequestSpec,
        host_lists: Destinations,
        attempt: int,
    ) -> None:
        """Rebuild on an alternate host (the previous host failed the build)."""
        for uuid, alternates in zip(uuids, host_lists.host_lists, strict=True):
            started = utcnow()
            remaining = list(alternates.selections)
            chosen = None
            while remaining:
                candidate = remaining.pop(0)
                try:
                    ok = self.deps.placement.claim(
                        uuid,
                        dict(candidate.allocations),
                        project_id=spec.project_id,
                        user_id=spec.user_id,
                    )
                except ClientError as exc:
                    LOG.warning("claim on alternate %s failed: %s", candidate.host, exc)
                    ok = False
                if ok:
                    chosen = candidate
                    break
            if chosen is None:
                error = exception.MaxRetriesExceeded(
                    f"Exceeded maximum number of retries. Exhausted all hosts available for "
                    f"retrying build failures for instance {uuid}."
                )
                fail_builds(self.deps, self.ctx, [uuid], error, event=RETRY_EVENT, started=started)
                continue
            scheduled = _scheduled(RETRY_EVENT, started, self.deps.host)
            try:
                host_list = HostList((chosen, *remaining))
                CastBuildTask(
                    self.deps, self.ctx, uuid, spec, host_list, attempt, scheduled
                ).execute()
            except Exception as exc:
                fail_builds(self.deps, self.ctx, [uuid], exc, event=RETRY_EVENT, started=started)
