"""The volume service's exceptions: upstream Cinder's names, messages and HTTP statuses.

Each class formats its ``template`` with the keyword arguments it is raised with
(``VolumeNotFound(volume_id=...)``); an explicit message wins.
"""

from __future__ import annotations

from tinystack.common import exceptions


class _Templated(exceptions.TinystackError):
    template = ""

    def __init__(self, message: str | None = None, **kwargs: object) -> None:
        if message is None and self.template:
            message = self.template.format(**kwargs)
        super().__init__(message)


class NotFound(_Templated, exceptions.NotFound):
    template = "Resource could not be found."


class Invalid(_Templated, exceptions.BadRequest):
    template = "Unacceptable parameters."


class Conflict(_Templated, exceptions.Conflict):
    template = "Conflict."


class Forbidden(_Templated, exceptions.Forbidden):
    template = "Not authorized."


class VolumeNotFound(NotFound):
    template = "Volume {volume_id} could not be found."


class SnapshotNotFound(NotFound):
    template = "Snapshot {snapshot_id} could not be found."


class BackupNotFound(NotFound):
    template = "Backup {backup_id} could not be found."


class MessageNotFound(NotFound):
    template = "Message {message_id} could not be found."


class VolumeMetadataNotFound(NotFound):
    template = "Volume {volume_id} has no metadata with key {metadata_key}."


class VolumeTypeNotFound(NotFound):
    template = "Volume type {volume_type_id} could not be found."


class VolumeTypeNotFoundByName(VolumeTypeNotFound):
    template = "Volume type with name {volume_type_name} could not be found."


class VolumeTypeAccessNotFound(NotFound):
    template = "Volume type access not found for {volume_type_id} / {project_id} combination."


class VolumeTypeExtraSpecsNotFound(NotFound):
    template = "Volume Type {volume_type_id} has no extra specs with key {extra_specs_key}."


class VolumeTypeProjectDefaultNotFound(NotFound):
    template = "Default type for project {project_id} not found."


class QoSSpecsNotFound(NotFound):
    template = "No such QoS spec {specs_id}."


class QoSSpecsKeyNotFound(NotFound):
    template = "QoS spec {specs_id} has no spec with key {specs_key}."


class ServiceNotFound(NotFound):
    template = "Service {service_id} could not be found."


class HostNotFound(NotFound):
    template = "Host {host} could not be found."


class ImageNotFound(NotFound):
    template = "Image {image_id} could not be found."


class ProjectQuotaNotFound(NotFound):
    template = "Quota for project {project_id} could not be found."


class QuotaClassNotFound(NotFound):
    template = "Quota class {class_name} could not be found."


class VolumeAttachmentNotFound(NotFound):
    template = "Volume attachment could not be found with filter: {filter}."


class InvalidVolumeAttachMode(Invalid):
    template = "Invalid attaching mode '{mode}' for volume {volume_id}."


class ResourceConflict(Conflict):
    template = "Resource conflict: {reason}"


class ConflictNovaUsingAttachment(Conflict):
    template = "Detach volume from instance {instance_id} using the Compute API"


class InvalidInput(Invalid):
    template = "Invalid input received: {reason}"


class InvalidVolume(Invalid):
    template = "Invalid volume: {reason}"


class InvalidHost(Invalid):
    template = "Invalid host: {reason}"


class InvalidVolumeType(Invalid):
    template = "Invalid volume type: {reason}"


class InvalidAvailabilityZone(Invalid):
    template = "Availability zone '{az}' is invalid."


class InvalidQoSSpecs(Invalid):
    template = "Invalid qos specs: {reason}"


class InvalidQuotaValue(Invalid):
    template = "Change would make usage less than 0 for the following resources: {unders}"


class VolumeTypeDefaultDeletionError(Invalid):
    template = "The volume type {volume_type_id} is a default volume type and cannot be deleted."


class VolumeTypeInUse(Invalid):
    template = (
        "Volume Type {volume_type_id} deletion is not allowed with volumes present with the type."
    )


class VolumeTypeExists(Conflict):
    template = "Volume Type {id} already exists."


class VolumeTypeAccessExists(Conflict):
    template = "Volume type access for {volume_type_id} / {project_id} combination already exists."


class QoSSpecsExists(Conflict):
    template = "QoS Specs {specs_id} already exists."


class QoSSpecsInUse(Invalid):
    template = "QoS Specs {specs_id} is still associated with entities."


class QoSSpecsAssociateFailed(Invalid):
    template = "Failed to associate qos_specs: {specs_id} with type {type_id}."


class QuotaError(_Templated, exceptions.RequestEntityTooLarge):
    """413 with ``Retry-After: 0``, as upstream's quota errors."""

    template = "Quota exceeded: code={code}"
    headers = {"Retry-After": "0"}


class VolumeSizeExceedsAvailableQuota(QuotaError):
    template = (
        "Requested volume or snapshot exceeds allowed {name} quota. Requested {requested}G, "
        "quota is {quota}G and {consumed}G has been consumed."
    )


class VolumeSizeExceedsLimit(QuotaError):
    template = "Requested volume size {size}G is larger than maximum allowed limit {limit}G."


class VolumeLimitExceeded(QuotaError):
    template = "Maximum number of volumes allowed ({allowed}) exceeded for quota '{name}'."


class SnapshotLimitExceeded(QuotaError):
    template = "Maximum number of snapshots allowed ({allowed}) exceeded"


class BackupLimitExceeded(QuotaError):
    template = "Maximum number of backups allowed ({allowed}) exceeded"


class GroupLimitExceeded(QuotaError):
    template = "Maximum number of groups allowed ({allowed}) exceeded"


class OverQuota(QuotaError):
    template = "Quota exceeded for resources: {overs}"


class NoValidBackend(_Templated, exceptions.TinystackError):
    """The scheduler found no backend for a request (a worker-side failure, not HTTP)."""

    template = "No valid backend was found. {reason}"


class VolumeBackendError(_Templated, exceptions.TinystackError):
    template = "Bad or unexpected response from the storage volume backend API: {data}"


# -- snapshots, backups and transfers -------------------------------------------------------
class InvalidSnapshot(Invalid):
    template = "Invalid snapshot: {reason}"


class InvalidBackup(Invalid):
    template = "Invalid backup: {reason}"


class InvalidAuthKey(Invalid):
    template = "Invalid auth key: {reason}"


class InvalidVolumeMetadata(Invalid):
    template = "Invalid metadata: {reason}"


class InvalidVolumeMetadataSize(_Templated, exceptions.RequestEntityTooLarge):
    template = "Invalid metadata size: {reason}"


class SnapshotMetadataNotFound(NotFound):
    template = "Snapshot {snapshot_id} has no metadata with key {metadata_key}."


class TransferNotFound(NotFound):
    template = "Transfer {transfer_id} could not be found."


class BackupServiceUnavailable(_Templated, exceptions.ServiceUnavailable):
    """No backup service is up (upstream: ServiceNotFound turned into a 503)."""

    template = "Service {service_id} could not be found."


class GroupTypeNotFound(NotFound):
    template = "Group type {group_type_id} could not be found."


class GroupTypeNotFoundByName(GroupTypeNotFound):
    template = "Group type with name {group_type_name} could not be found."


class GroupTypeSpecsNotFound(NotFound):
    template = "Group Type {group_type_id} has no specs with key {group_specs_key}."


class GroupTypeExists(Conflict):
    template = "Group Type {id} already exists."


class GroupNotFound(NotFound):
    template = "Group {group_id} could not be found."


class GroupSnapshotNotFound(NotFound):
    template = "GroupSnapshot {group_snapshot_id} could not be found."


class InvalidGroup(Invalid):
    template = "Invalid Group: {reason}"


class VolumeTypeEncryptionExists(Invalid):
    template = "Volume type encryption for type {type_id} already exists."


class VolumeTypeEncryptionNotFound(NotFound):
    template = "Volume type encryption for type {type_id} does not exist."


class KeyManagerError(Invalid):
    template = (
        "Key manager error: volumes of an encrypted volume type need a key manager, "
        "and this cloud has none."
    )


class InvalidGroupSnapshot(Invalid):
    template = "Invalid GroupSnapshot: {reason}"


class InvalidGroupSnapshotStatus(Invalid):
    template = "Invalid GroupSnapshot Status: {reason}"


class ManageExistingInvalidReference(Invalid):
    template = (
        "Manage existing volume failed due to invalid backend reference {existing_ref}: {reason}"
    )
