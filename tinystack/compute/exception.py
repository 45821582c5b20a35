"""Compute's domain exceptions, with the status and message the Compute API documents."""

from __future__ import annotations

from tinystack.common.exceptions import (
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    ServiceUnavailable,
    TinystackError,
)


class InstanceNotFound(NotFound):
    def __init__(self, instance_id: str) -> None:
        super().__init__(f"Instance {instance_id} could not be found.")


class FlavorNotFound(NotFound):
    def __init__(self, flavor_id: str) -> None:
        super().__init__(f"Flavor {flavor_id} could not be found.")


class ImageNotFound(NotFound):
    def __init__(self, image_id: str) -> None:
        super().__init__(f"Image {image_id} could not be found.")


class KeypairNotFound(NotFound):
    def __init__(self, name: str, user_id: str | None) -> None:
        super().__init__(f"Keypair {name} not found for user {user_id}")


class InstanceInvalidState(Conflict):
    def __init__(self, action: str, uuid: str, attr: str, state: str | None) -> None:
        super().__init__(f"Cannot '{action}' instance {uuid} while it is in {attr} {state}")


class InstanceIsLocked(Conflict):
    def __init__(self, uuid: str) -> None:
        super().__init__(f"Instance {uuid} is locked")


class UnexpectedTaskState(Conflict):
    """An optimistic save found another task_state than expected."""

    def __init__(self, uuid: str, expected: object, actual: str | None) -> None:
        super().__init__(
            f"Conflict updating instance {uuid}. Expected: {{'task_state': {expected!r}}}. "
            f"Actual: {{'task_state': {actual!r}}}"
        )
        self.actual = actual


class UnexpectedDeleting(UnexpectedTaskState):
    pass


class QuotaExceeded(Forbidden):
    pass


class NoValidHost(TinystackError):
    status = 500
    title = "No valid host"

    def __init__(self, reason: str = "") -> None:
        super().__init__(f"No valid host was found. {reason}".strip())


class MaxRetriesExceeded(NoValidHost):
    def __init__(self, reason: str = "") -> None:
        TinystackError.__init__(self, reason)


class RescheduledBuild(TinystackError):
    """A build failed on its host in a way another host may not: try an alternate."""

    status = 500


class InvalidSharedStorage(TinystackError):
    """An evacuation said the disks are on shared storage; the destination does not see them."""

    status = 500


class BuildAbort(TinystackError):
    """A build failed in a way no other host can fix."""

    status = 500


class ServiceNotFound(NotFound):
    def __init__(self, service_id: str) -> None:
        super().__init__(f"Service {service_id} could not be found.")


class ComputeHostNotFound(NotFound):
    def __init__(self, host: str) -> None:
        super().__init__(f"Compute host {host} could not be found.")


class HypervisorNotFound(NotFound):
    def __init__(self, hypervisor_id: str) -> None:
        super().__init__(f"Hypervisor {hypervisor_id} could not be found.")


class AggregateNotFound(NotFound):
    def __init__(self, aggregate_id: object) -> None:
        super().__init__(f"Aggregate {aggregate_id} could not be found.")


class ServerGroupNotFound(NotFound):
    def __init__(self, group_id: str) -> None:
        super().__init__(f"Instance group {group_id} could not be found.")


class MigrationNotFound(NotFound):
    def __init__(self, migration_id: object) -> None:
        super().__init__(f"Migration {migration_id} could not be found.")


class ActionNotFound(NotFound):
    def __init__(self, request_id: str, instance_uuid: str) -> None:
        super().__init__(
            f"Action for request_id {request_id} on instance {instance_uuid} not found"
        )


class NetworkError(BadRequest):
    pass


class NetworkAmbiguous(Conflict):
    def __init__(self) -> None:
        super().__init__("Multiple possible networks found, use a Network ID to be more specific.")


class ConsoleTypeUnavailable(BadRequest):
    def __init__(self, console_type: str) -> None:
        super().__init__(f"Unavailable console type {console_type}.")


class ComputeUnavailable(ServiceUnavailable):
    pass


# -- volumes ----------------------------------------------------------------------------------
class VolumeNotFound(NotFound):
    def __init__(self, volume_id: str) -> None:
        super().__init__(f"Volume {volume_id} could not be found.")


class SnapshotNotFound(NotFound):
    def __init__(self, snapshot_id: str) -> None:
        super().__init__(f"Snapshot {snapshot_id} could not be found.")


class VolumeBDMNotFound(NotFound):
    def __init__(self, volume_id: str) -> None:
        super().__init__(f"No volume Block Device Mapping with id {volume_id}.")


class InvalidVolume(BadRequest):
    def __init__(self, reason: str) -> None:
        super().__init__(f"Invalid volume: {reason}")


class InvalidDevicePath(BadRequest):
    def __init__(self, path: str) -> None:
        super().__init__(f"The supplied device path ({path}) is invalid.")


class DevicePathInUse(Conflict):
    def __init__(self, path: str) -> None:
        super().__init__(f"The supplied device path ({path}) is in use.")


class InvalidBDM(BadRequest):
    """A block device mapping of a create request that cannot be honoured."""

    def __init__(self, message: str = "Block Device Mapping is Invalid.") -> None:
        super().__init__(message)


class VolumeTaggedAttachNotSupported(BadRequest):
    def __init__(self, shelved: bool = False) -> None:
        where = "shelved-offloaded instances" if shelved else "this server instance"
        super().__init__(f"Tagged volume attachment is not supported for {where}.")


class MultiattachNotSupported(BadRequest):
    pass


class MigrationPreCheckError(BadRequest):
    def __init__(self, reason: str) -> None:
        super().__init__(f"Migration pre-check error: {reason}")
