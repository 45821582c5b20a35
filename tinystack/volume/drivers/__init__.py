"""Volume drivers: the data path under the volume manager (``base.VolumeDriver``).

Modules: ``base`` the contract; ``errors`` what drivers raise (``VolumeBusy``,
``VolumeNotFound``, ``ImageTooLarge``, ``InvalidReference``, all ``BackendError``);
``file`` the ``file`` driver (qcow2/raw files); ``rbd`` the ``rbd`` driver (RBD images in
a Ceph pool, through ``tinystack.common.ceph``; no exports: compute opens them with
librbd); ``exports`` the file driver's attachments (local files, NBD exports of
``qemu-storage-daemon``, iSCSI targets of ``tgtd`` from ``iscsi``);
``qemu_img``, ``storage_daemon``, ``volume_io`` the tools it drives (the QMP client is
``tinystack.common.qmp``, shared with compute's QEMU driver; the NBD client is
``tinystack.common.nbd``, shared with the image service's cinder store). The image
cache is ``tinystack.volume.image_cache``, backups ``tinystack.volume.backup``.

How the manager uses the file driver:

- start: ``driver = FileDriver(dir, capacity_gb, backend_name, host_address, fmt,
  host=<manager host>, nbd_port=...)``, then ``driver.do_setup()`` (adopts a running
  export daemon, or restarts it with every recorded export), then
  ``driver.reconcile({attachment ids the database has for this backend})``, and
  ``driver.volume_ids()`` / ``snapshot_ids()`` against the database for orphans;
- a volume from an image: ``with image_cache.use(ImageSpec(...), fetch) as img:
  driver.create_volume_from_image(volume, img.path, img.format)`` — the cache's
  ``in_use`` is ``driver.backing_files``, so images that back volumes stay;
- attach: ``initialize_connection(volume, connector, attachment_id)``; detach:
  ``terminate_connection``; both idempotent per attachment id;
- backups: ``with driver.open_volume(volume, write=False) as f: backup_driver.backup(...)``
  (for an in-use volume: snapshot first, then ``driver.open_snapshot``); restores open
  with ``write=True``;
- stop: ``driver.close()`` (stops the export daemons; their exports come back on the
  next ``do_setup``). After a crash nothing is needed: the daemons kept running.
"""
