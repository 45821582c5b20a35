"""A storage node: the object, container and account servers over this node's devices,
and its daemons (account reporter, updater, object and database replicators, expirer,
auditor)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from starlette.applications import Starlette

from tinystack.object_store.ring.layout import Rings
from tinystack.object_store.storage import db_server, object_server
from tinystack.object_store.storage.auditor import Auditor
from tinystack.object_store.storage.db_replicator import DbReplicator
from tinystack.object_store.storage.db_server import container_stats
from tinystack.object_store.storage.expirer import Expirer
from tinystack.object_store.storage.replicator import ObjectReplicator
from tinystack.object_store.storage.updates import AccountReporter, PendingUpdater


@dataclass
class StorageNode:
    object_app: Starlette
    container_app: Starlette
    account_app: Starlette
    reporter: AccountReporter
    updater: PendingUpdater
    replicator: ObjectReplicator
    db_replicators: tuple[DbReplicator, ...]
    expirer: Expirer
    auditor: Auditor

    def start(self, servers: bool = True, daemons: bool = True) -> None:
        """The threads of the container server (its account reporter) and, with
        ``daemons``, the node's daemons (they may run in another process)."""
        if servers:
            self.reporter.start()
        if daemons:
            self.auditor.start()
            self.expirer.start()
            self.updater.start()
            self.replicator.start()
            for replicator in self.db_replicators:
                replicator.start()

    def stop(self) -> None:
        self.auditor.stop()
        self.expirer.stop()
        self.reporter.stop()
        self.updater.stop()
        self.replicator.stop()
        for replicator in self.db_replicators:
            replicator.stop()


def build(
    devices: Path, rings: Rings, hash_suffix: str, ip: str, object_port: int,
    replicate_every: float,
    audit_every: float,
) -> StorageNode:  # fmt: skip
    """The servers of the node at ``ip``; its devices are the object ring's devices at
    ``ip:object_port`` whose directories are under ``devices``."""
    local = {(ip, object_port, d.name) for d in devices.iterdir()} if devices.is_dir() else set()
    names = {(ip, device) for _, _, device in local}
    reporter = AccountReporter(lambda: rings.account, container_stats)
    return StorageNode(
        object_app=object_server.create_app(devices, hash_suffix),
        container_app=db_server.create_app("container", devices, hash_suffix, reporter),
        account_app=db_server.create_app("account", devices, hash_suffix, None),
        reporter=reporter,
        updater=PendingUpdater(devices),
        replicator=ObjectReplicator(devices, rings.object, local, replicate_every),
        expirer=Expirer(devices),
        auditor=Auditor(devices, audit_every),
        db_replicators=(
            DbReplicator("container", devices, rings.container, names, replicate_every),
            DbReplicator("account", devices, rings.account, names, replicate_every),
        ),
    )
