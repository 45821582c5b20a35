"""Block Storage v3 (Cinder): volumes, types, QoS, quotas, snapshots, backups, attachments.

volume-api -> (RPC) volume scheduler -> (RPC) volume manager -> volume driver
(``drivers/``: ``file`` qcow2/raw files under the state directory, exported to remote
compute hosts by ``qemu-storage-daemon`` NBD).

Layout (the one shape, ARCHITECTURE.md):

- ``service.py`` the composition root: options, app, bootstrap (the ``__DEFAULT__``
  type), the scheduler and manager workers; ``conf.py`` ``Options``;
  ``exception.py`` upstream's exceptions; ``models.py`` + ``migrations/``;
  ``policies/`` upstream's rules (entry point ``tinystack.volume``).
- ``api/``: ``router.py`` (``MODULES``: one module per resource, each with its
  ``router``), ``microversion.py`` (3.0-3.71, project ids in URLs optional),
  ``versions.py``, ``deps.py``, ``schemas.py``, ``views.py``, ``rendering.py``.
- ``services/``: ``deps.py`` (``Deps``), ``records.py``, one module per resource.
- ``rpcapi.py`` (``SchedulerAPI``, ``VolumeAPI``) carrying ``payloads.py``;
  ``context.py`` the caller as workers see it.
- ``scheduler/`` (filters and weighers over the pools managers report),
  ``manager/`` (one per backend: runs the driver, heartbeats, restart recovery;
  ``snapshots.py`` and ``backup_devices.py`` are endpoints served beside it).
- ``backup/``: the ``cinder-backup`` service (``worker.py``, ``manager.py``,
  ``recovery.py``; ``rpcapi.BackupAPI``) over the chunked backup driver
  (``chunked.py``, ``posix.py``); it reads and writes volumes through exports their
  manager makes for it (``connector.py`` opens them).

Creating a volume: ``api/volumes.py`` → ``services/volumes.py`` (quota, type, zone, the
row in ``creating``) → ``SchedulerAPI.create_volume`` → ``scheduler/manager.py`` (a pool
``host@backend#pool``) → ``VolumeAPI.create_volume`` → ``manager/manager.py`` → driver
``create_volume`` → ``available`` (or ``error`` with a user message).

Backing up a volume: ``api/backups.py`` → ``services/backups.py`` (quota, parent of an
incremental, a backup service that is up; the backup ``creating``, the volume
``backing-up``) → ``BackupAPI.create_backup`` → ``backup/manager.py`` →
``VolumeAPI.attach_device`` (``manager/backup_devices.py``: an export for the backup
host) → the chunked driver writes the objects → ``detach_device`` →
``services/backup_ops.backed_up`` (``available``, the volume back where it was).
"""
