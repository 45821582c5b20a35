"""Instance states as upstream names them: vm_state, task_state, power_state, API status."""

from __future__ import annotations

# -- vm_state -------------------------------------------------------------------------------
ACTIVE = "active"
BUILDING = "building"
PAUSED = "paused"
SUSPENDED = "suspended"
STOPPED = "stopped"
RESCUED = "rescued"
RESIZED = "resized"
SOFT_DELETED = "soft-delete"
DELETED = "deleted"
ERROR = "error"
SHELVED = "shelved"
SHELVED_OFFLOADED = "shelved_offloaded"


class Task:
    """task_state values."""

    SCHEDULING = "scheduling"
    BLOCK_DEVICE_MAPPING = "block_device_mapping"
    NETWORKING = "networking"
    SPAWNING = "spawning"
    IMAGE_SNAPSHOT = "image_snapshot"
    IMAGE_SNAPSHOT_PENDING = "image_snapshot_pending"
    IMAGE_PENDING_UPLOAD = "image_pending_upload"
    IMAGE_UPLOADING = "image_uploading"
    IMAGE_BACKUP = "image_backup"
    UPDATING_PASSWORD = "updating_password"
    RESIZE_PREP = "resize_prep"
    RESIZE_MIGRATING = "resize_migrating"
    RESIZE_MIGRATED = "resize_migrated"
    RESIZE_FINISH = "resize_finish"
    RESIZE_REVERTING = "resize_reverting"
    RESIZE_CONFIRMING = "resize_confirming"
    REBOOTING = "rebooting"
    REBOOT_PENDING = "reboot_pending"
    REBOOT_STARTED = "reboot_started"
    REBOOTING_HARD = "rebooting_hard"
    REBOOT_PENDING_HARD = "reboot_pending_hard"
    REBOOT_STARTED_HARD = "reboot_started_hard"
    PAUSING = "pausing"
    UNPAUSING = "unpausing"
    SUSPENDING = "suspending"
    RESUMING = "resuming"
    POWERING_OFF = "powering-off"
    POWERING_ON = "powering-on"
    RESCUING = "rescuing"
    UNRESCUING = "unrescuing"
    REBUILDING = "rebuilding"
    REBUILD_BLOCK_DEVICE_MAPPING = "rebuild_block_device_mapping"
    REBUILD_SPAWNING = "rebuild_spawning"
    MIGRATING = "migrating"
    DELETING = "deleting"
    SOFT_DELETING = "soft-deleting"
    RESTORING = "restoring"
    SHELVING = "shelving"
    SHELVING_IMAGE_PENDING_UPLOAD = "shelving_image_pending_upload"
    SHELVING_IMAGE_UPLOADING = "shelving_image_uploading"
    SHELVING_OFFLOADING = "shelving_offloading"
    UNSHELVING = "unshelving"


T = Task

#: task states from which a (soft or hard) reboot may start again
ALLOW_REBOOT: list[str | None] = [
    None,
    T.REBOOTING,
    T.REBOOT_PENDING,
    T.REBOOT_STARTED,
    T.RESUMING,
    T.REBOOTING_HARD,
    T.UNPAUSING,
    T.PAUSING,
    T.SUSPENDING,
]
ALLOW_SOFT_REBOOT = [ACTIVE]
ALLOW_HARD_REBOOT = [ACTIVE, STOPPED, PAUSED, SUSPENDED, ERROR]
ALLOW_TRIGGER_CRASH_DUMP = [ACTIVE, PAUSED, RESCUED, RESIZED, ERROR]

# -- power_state ----------------------------------------------------------------------------
NOSTATE = 0
RUNNING = 1
POWER_PAUSED = 3
SHUTDOWN = 4
CRASHED = 6
POWER_SUSPENDED = 7

POWER_STATE_NAMES = {
    NOSTATE: "pending",
    RUNNING: "running",
    POWER_PAUSED: "paused",
    SHUTDOWN: "shutdown",
    CRASHED: "crashed",
    POWER_SUSPENDED: "suspended",
}

# -- API status -----------------------------------------------------------------------------
_RESIZING: dict[str | None, str] = {
    T.RESIZE_PREP: "RESIZE",
    T.RESIZE_MIGRATING: "RESIZE",
    T.RESIZE_MIGRATED: "RESIZE",
    T.RESIZE_FINISH: "RESIZE",
}
_REBUILDING: dict[str | None, str] = {
    T.REBUILDING: "REBUILD",
    T.REBUILD_BLOCK_DEVICE_MAPPING: "REBUILD",
    T.REBUILD_SPAWNING: "REBUILD",
}
STATUS_MAP: dict[str, dict[str | None, str]] = {
    ACTIVE: {
        None: "ACTIVE",
        T.REBOOTING: "REBOOT",
        T.REBOOT_PENDING: "REBOOT",
        T.REBOOT_STARTED: "REBOOT",
        T.REBOOTING_HARD: "HARD_REBOOT",
        T.REBOOT_PENDING_HARD: "HARD_REBOOT",
        T.REBOOT_STARTED_HARD: "HARD_REBOOT",
        T.UPDATING_PASSWORD: "PASSWORD",
        T.MIGRATING: "MIGRATING",
        **_REBUILDING,
        **_RESIZING,
    },
    BUILDING: {None: "BUILD"},
    STOPPED: {None: "SHUTOFF", **_RESIZING, **_REBUILDING},
    RESIZED: {None: "VERIFY_RESIZE", T.RESIZE_REVERTING: "REVERT_RESIZE"},
    PAUSED: {None: "PAUSED", T.MIGRATING: "MIGRATING"},
    SUSPENDED: {None: "SUSPENDED"},
    RESCUED: {None: "RESCUE"},
    ERROR: {None: "ERROR", **_REBUILDING},
    DELETED: {None: "DELETED"},
    SOFT_DELETED: {None: "SOFT_DELETED"},
    SHELVED: {None: "SHELVED"},
    SHELVED_OFFLOADED: {None: "SHELVED_OFFLOADED"},
}

#: statuses accepted by the ``status`` filter of GET /servers (2.38+ rejects others)
KNOWN_STATUSES = sorted({s for m in STATUS_MAP.values() for s in m.values()} | {"UNKNOWN"})


def status(vm_state: str | None, task_state: str | None, deleted: bool = False) -> str:
    if deleted:
        return "DELETED"
    tasks = STATUS_MAP.get(vm_state or "")
    if tasks is None:
        return "UNKNOWN"
    return tasks.get(task_state, tasks[None])


def states_for_statuses(statuses: list[str]) -> tuple[set[str], set[str | None], bool]:
    """The (vm_states, task_states) a list of API statuses maps to.

    The third item says whether any task state is acceptable with the vm states
    matched through their default status.
    """
    wanted = {s.upper() for s in statuses}
    vms: set[str] = set()
    tasks: set[str | None] = set()
    for vm_state, mapping in STATUS_MAP.items():
        for task_state, name in mapping.items():
            if name in wanted:
                vms.add(vm_state)
                tasks.add(task_state)
    return vms, tasks, None in tasks
