"""Block Storage v3 (Cinder): volumes, types, QoS, quotas, snapshots, backups, attachments.

volume-api -> (RPC) volume scheduler -> (RPC) volume manager -> volume driver
(``drivers/``: ``file`` qcow2/raw files under the state directory, exported to remote
compute hosts by ``qemu-storage-daemon`` NBD; ``rbd`` RBD images in a Ceph pool, cloned
copy-on-write from the image service's rbd snapshots, attached by compute through librbd).

Layout (the one shape, ARCHITECTURE.md):

- ``service.py`` the composition root: options, app, bootstrap (the ``__DEFAULT__``
  type), the scheduler and manager workers; ``conf.py`` ``Options``;
  ``exception.py`` upstream's exceptions; ``models.py`` + ``migrations/``;
  ``policies/`` upstream's rules (entry point ``tinystack.volume``).
- ``api/``: ``router.py`` (``MODULES``: one module per resource, each with its
  ``router``), ``microversion.py`` (3.0-3.71, project ids in URLs optional),
  ``versions.py``, ``deps.py``, ``schemas.py``, ``views.py``, ``rendering.py``.
- ``services/``: ``deps.py`` (``Deps``), ``records.py``, ``_rows.py`` (rows into
  records, shared loaders), one module per resource (``volumes``, ``volume_list``,
  ``volume_metadata``, ``volume_actions``, ``volume_types``, ``default_types``,
  ``qos_specs``, ``quotas``, ``messages``, ``os_services``, ``hosts``, ``group_types``,
  ``groups``, ``group_snapshots``, ``type_encryption``, ``manageable``, ``clusters``,
  ``reimage``, ``cleanup``, ``extend_completion`` — an extend of an attached file only
  the guest's QEMU can grow waits for compute's ``os-extend_volume_completion``), the
  workers' side (``volume_ops``, ``scheduling``, ``workers``).
- ``rpcapi.py`` (``SchedulerAPI``, ``VolumeAPI``) carrying ``payloads.py``; workers see the
  caller as ``common.rpc.context.CallContext``.
- ``scheduler/`` (filters and weighers over the pools managers report),
  ``manager/`` (one per backend: runs the driver, heartbeats, restart recovery;
  ``snapshots.py``, ``backup_devices.py``, ``manageable.py``, ``reimage.py`` and
  ``recovery.CleanupManager`` are endpoints served beside it).
- ``backup/``: the ``cinder-backup`` service (``worker.py``, ``manager.py``,
  ``recovery.py``; ``rpcapi.BackupAPI``) over the chunked backup driver
  (``chunked.py``, ``posix.py``); it reads and writes volumes through exports their
  manager makes for it (``connector.py`` opens them).

Creating a volume: ``api/volumes.py`` → ``services/volumes.py`` (quota, type, zone, the
row in ``creating``) → ``SchedulerAPI.create_volume`` → ``scheduler/manager.py`` (a pool
``host@backend#pool``) → ``VolumeAPI.create_volume`` → ``manager/manager.py`` → driver
``create_volume`` → ``available`` (or ``error`` with a user message).

Attaching a volume (Nova's 3.44 flow): ``api/attachments.py`` → ``services/attachments.py``
(the volume ``reserved``, an attachment ``reserved``) → with the host's connector
``VolumeAPI.attachment_update`` (an RPC call) → ``manager/attachments.py`` → driver
``initialize_connection(volume, connector, attachment_id)`` (the file itself for the
storage host, an NBD export per attachment for others) → the connection info with the
type's front-end QoS specs, ``attaching``; ``os-complete`` → ``in-use``; delete removes
the export, then the attachment. The legacy actions (``os-reserve``, ``os-attach``, ...)
are ``api/attach_actions.py`` → ``services/attach_actions.py``.

Backing up a volume: ``api/backups.py`` → ``services/backups.py`` (quota, parent of an
incremental, a backup service that is up; the backup ``creating``, the volume
``backing-up``) → ``BackupAPI.create_backup`` → ``backup/manager.py`` →
``VolumeAPI.attach_device`` (``manager/backup_devices.py``: an export for the backup
host) → the chunked driver writes the objects → ``detach_device`` →
``services/backup_ops.backed_up`` (``available``, the volume back where it was).
"""
