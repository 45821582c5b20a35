"""Block Storage v3 (Cinder): volumes, snapshots, backups, attachments.

volume-api -> (RPC) volume scheduler -> (RPC) volume manager -> volume driver
(``drivers/``: ``file`` qcow2/raw files under the state directory, exported to remote
compute hosts by ``qemu-storage-daemon`` NBD).
"""
