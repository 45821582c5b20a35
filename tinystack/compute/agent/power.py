"""Power and life-cycle operations: stop, start, reboot, pause, suspend, rescue, and friends."""

from __future__ import annotations

from tinystack.common.rpc.context import CallContext
from tinystack.compute import states
from tinystack.compute.agent.context import AgentContext
from tinystack.compute.objects import ImageMeta

T = states.Task


class PowerOps:
    """Power and life-cycle operations."""

    def __init__(self, agent: AgentContext) -> None:
        self.agent = agent

    def stop_instance(
        self, ctx: CallContext, instance_uuid: str, clean_shutdown: bool = True
    ) -> None:
        with self.agent.operation(ctx, instance_uuid, "compute_stop_instance") as ctx:
            inst = self.agent.load(instance_uuid)
            self.agent.driver.power_off(ctx, inst.meta, timeout=60 if clean_shutdown else 0)
            self.agent.finish_operation(
                ctx,
                instance_uuid,
                {"vm_state": states.STOPPED, "power_state": self.agent.power_state(ctx, inst)},
                [T.POWERING_OFF],
            )

    def start_instance(self, ctx: CallContext, instance_uuid: str) -> None:
        with self.agent.operation(ctx, instance_uuid, "compute_start_instance") as ctx:
            inst = self.agent.load(instance_uuid)
            self.agent.driver.power_on(ctx, inst.meta, inst.vifs)
            self.agent.finish_operation(
                ctx,
                instance_uuid,
                {"vm_state": states.ACTIVE, "power_state": self.agent.power_state(ctx, inst)},
                [T.POWERING_ON],
            )

    def reboot_instance(self, ctx: CallContext, instance_uuid: str, reboot_type: str) -> None:
        hard = reboot_type.upper() == "HARD"
        with self.agent.operation(ctx, instance_uuid, "compute_reboot_instance") as ctx:
            started = T.REBOOT_STARTED_HARD if hard else T.REBOOT_STARTED
            pending = (
                [T.REBOOTING_HARD, T.REBOOT_PENDING_HARD]
                if hard
                else [
                    T.REBOOTING,
                    T.REBOOT_PENDING,
                ]
            )
            inst = self.agent.save(
                instance_uuid, {"task_state": started}, expected_task_state=pending
            )
            self.agent.driver.reboot(ctx, inst.meta, inst.vifs, hard)
            self.agent.finish_operation(
                ctx,
                instance_uuid,
                {"vm_state": states.ACTIVE, "power_state": self.agent.power_state(ctx, inst)},
                [started],
            )

    def _simple(
        self,
        ctx: CallContext,
        uuid: str,
        event: str,
        call: str,
        vm_state: str,
        task_state: str,
    ) -> None:
        with self.agent.operation(ctx, uuid, event) as ctx:
            inst = self.agent.load(uuid)
            method = getattr(self.agent.driver, call)
            if call in ("resume",):
                method(ctx, inst.meta, inst.vifs)
            else:
                method(ctx, inst.meta)
            self.agent.finish_operation(
                ctx,
                uuid,
                {"vm_state": vm_state, "power_state": self.agent.power_state(ctx, inst)},
                [task_state],
            )

    def pause_instance(self, ctx: CallContext, instance_uuid: str) -> None:
        self._simple(
            ctx, instance_uuid, "compute_pause_instance", "pause", states.PAUSED, T.PAUSING
        )

    def unpause_instance(self, ctx: CallContext, instance_uuid: str) -> None:
        self._simple(
            ctx, instance_uuid, "compute_unpause_instance", "unpause", states.ACTIVE, T.UNPAUSING
        )

    def suspend_instance(self, ctx: CallContext, instance_uuid: str) -> None:
        self._simple(
            ctx,
            instance_uuid,
            "compute_suspend_instance",
            "suspend",
            states.SUSPENDED,
            T.SUSPENDING,
        )

    def resume_instance(self, ctx: CallContext, instance_uuid: str) -> None:
        self._simple(
            ctx, instance_uuid, "compute_resume_instance", "resume", states.ACTIVE, T.RESUMING
        )

    def rescue_instance(
        self,
        ctx: CallContext,
        instance_uuid: str,
        rescue_password: str | None = None,
        rescue_image_ref: str | None = None,
        rescue_image: ImageMeta | None = None,
    ) -> None:
        with self.agent.operation(ctx, instance_uuid, "compute_rescue_instance") as ctx:
            inst = self.agent.load(instance_uuid)
            image = rescue_image or (ImageMeta(id=rescue_image_ref) if rescue_image_ref else None)
            self.agent.driver.rescue(ctx, inst.meta, inst.vifs, image, rescue_password)
            self.agent.finish_operation(
                ctx,
                instance_uuid,
                {"vm_state": states.RESCUED, "power_state": self.agent.power_state(ctx, inst)},
                [T.RESCUING],
            )

    def unrescue_instance(self, ctx: CallContext, instance_uuid: str) -> None:
        self._simple(
            ctx,
            instance_uuid,
            "compute_unrescue_instance",
            "unrescue",
            states.ACTIVE,
            T.UNRESCUING,
        )

    def trigger_crash_dump(self, ctx: CallContext, instance_uuid: str) -> None:
        with self.agent.operation(
            ctx, instance_uuid, "compute_trigger_crash_dump", revert_task_state=False
        ) as ctx:
            inst = self.agent.load(instance_uuid)
            self.agent.driver.trigger_crash_dump(ctx, inst.meta)

    def set_admin_password(self, ctx: CallContext, instance_uuid: str, new_pass: str) -> None:
        with self.agent.operation(
            ctx, instance_uuid, "compute_set_admin_password", reraise=True
        ) as ctx:
            inst = self.agent.load(instance_uuid)
            self.agent.driver.set_admin_password(ctx, inst.meta, new_pass)
            self.agent.finish_operation(ctx, instance_uuid, {}, [T.UPDATING_PASSWORD])
