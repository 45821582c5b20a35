"""Live migration between two libvirtds: libvirt's own peer-to-peer migration (upstream's
libvirt driver is the model).

The checks are the QEMU driver's (a probe file in ``instances_path`` tells shared storage;
the source sends its definition, the paused state, its local disks' sizes and its config
drive). The destination prepares and defines nothing in libvirt: it makes the instance
directory, the disks a block migration fills (empty, of the source's sizes, the root an
overlay of its own cached base image), the taps, the volumes' libvirt secrets, a VNC
port, and the domain XML it would start the guest with (its metadata names the
destination host); it answers with that XML and the URI its libvirtd is reached at by
peers (``[compute] libvirt_live_migration_uri``, ``%s`` its
``live_migration_inbound_addr``).

The source migrates the running domain with ``virDomainMigrateToURI3`` (``PEER2PEER``,
``LIVE``, ``PERSIST_DEST``, ``UNDEFINE_SOURCE``; ``NON_SHARED_INC`` for a block migration,
which copies the listed local disks over libvirt's NBD, the root overlay's own clusters
only), its memory to ``tcp://<the destination's inbound address>``. The destination
XML is the source's live XML with the destination's paths, ports and metadata
(:mod:`.migration_xml`), so the guest's devices and addresses stay as they are. While
libvirt copies, ``jobStats()`` feeds the progress callback; an abort is
``virDomainAbortJob``; a force-complete pauses the guest (upstream does so unless
post-copy is permitted, which tinystack does not offer). The completed job's figures
(downtime included) are read from the destination's domain afterwards.

On shared storage libvirt's own safety check would refuse the migration of disks with
host-cached I/O on a filesystem it does not know as shared; the probe file proved both
hosts see the same files, so the migration is flagged ``UNSAFE`` there (as the operator
does with ``virsh migrate --unsafe``).

A failure or an abort leaves the guest running on the source: libvirt keeps it and
drops the destination's domain; the source resumes it if it was paused for the
switch-over. Afterwards the source's domain is gone (undefined by libvirt); the source
removes its runtime files (and its disks unless shared), the destination records itself
as the disks' owner on shared storage.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from tinystack.common.rpc.context import CallContext
from tinystack.common.rpc.payload import JSON
from tinystack.compute.objects import (
    VIF,
    InstanceMeta,
    LiveMigrateData,
    MigrationProgress,
)
from tinystack.compute.virt.driver import DriverError, InstanceNotOnHost, MigrationAborted
from tinystack.compute.virt.libvirt import connection
from tinystack.compute.virt.libvirt.machine import LibvirtMachines
from tinystack.compute.virt.libvirt.migration_xml import updated_guest_xml
from tinystack.compute.virt.qemu.definition import Definition
from tinystack.compute.virt.qemu.live_migration import TIMEOUT, LiveMigrationMixin

LOG = logging.getLogger(__name__)
POLL = 0.1
#: the bandwidth given when none is configured, in MiB/s (as the QEMU driver's)
UNLIMITED_MIB = 8 * 1024
#: seconds the watch waits for the migration's thread after it failed itself
ABORT_WAIT = 30.0
#: libvirt's job types (``VIR_DOMAIN_JOB_*``) of a job still under way
JOB_RUNNING = (1, 2)


def url_host(address: str) -> str:
    """``address`` as the host part of a URI (IPv6 in brackets)."""
    return f"[{address}]" if ":" in address and not address.startswith("[") else address


class LibvirtLiveMigrationMixin(LiveMigrationMixin):
    """The libvirt driver's live migration (before the QEMU driver's in the MRO)."""

    machines: LibvirtMachines
    #: the URI (``%s``: the inbound address) this host's libvirtd is reached at by peers
    migration_uri: str

    def _peer_uri(self) -> str:
        return self.migration_uri.replace("%s", url_host(self.settings.migration_address))

    # -- the destination -----------------------------------------------------------------------
    def _await_incoming(
        self, defn: Definition, directory: Path, data: LiveMigrateData
    ) -> LiveMigrateData:
        """libvirt defines and starts the guest itself: only its domain XML, and the
        URI of this host's libvirtd, go back to the source."""
        xml = self.machines.prepare_incoming(defn)
        address = url_host(self.settings.migration_address)
        target: dict[str, JSON] = {"uri": self._peer_uri(), "xml": xml}
        return replace(data, incoming_uri=f"tcp://{address}", target=target)

    def post_live_migration_at_destination(
        self,
        context: CallContext,
        instance: InstanceMeta,
        network_info: list[VIF],
        data: LiveMigrateData,
    ) -> None:
        uuid = instance.uuid
        with self.vm.locked(uuid):
            defn = self.vm.load(uuid)
            dom = self.machines.domain(uuid)
            if dom is None or not dom.isActive():
                raise DriverError(f"instance {uuid} did not arrive on {self.vm.hostname}")
            if connection.metadata_host(dom) != self.vm.hostname:
                self.machines.set_metadata(defn)
            if data.shared_storage:  # the guest runs from the shared disks here now
                self.vm.claim_disks(uuid)
            if not data.source.get("paused") and self.vm.status(defn) == "paused":
                self.vm.cont(defn)  # paused by a force-complete on the source
            defn.save(self.vm.dir(uuid))

    def rollback_live_migration_at_destination(
        self,
        context: CallContext,
        instance: InstanceMeta,
        network_info: list[VIF],
        data: LiveMigrateData,
    ) -> None:
        if not data.incoming_uri:  # nothing was prepared here
            return
        with self.vm.locked(instance.uuid):
            if self.vm.dir(instance.uuid).exists() or self.machines.domain(instance.uuid):
                self._destroy_locked(
                    instance.uuid, network_info, not data.shared_storage, keep_root=True
                )
        self.vm.forget_lock(instance.uuid)

    # -- the source ----------------------------------------------------------------------------
    def live_migration(
        self,
        context: CallContext,
        instance: InstanceMeta,
        data: LiveMigrateData,
        progress: Callable[[MigrationProgress], None],
    ) -> MigrationProgress:
        uuid = instance.uuid
        defn = self.vm.running(uuid)
        dom = self.machines.domain(uuid)
        if dom is None:
            raise InstanceNotOnHost(f"instance {uuid} has no domain on {self.vm.hostname}")
        peer, dest_xml = str(data.target.get("uri") or ""), str(data.target.get("xml") or "")
        if not peer or not dest_xml or not data.incoming_uri:
            raise DriverError("the destination sent no libvirt URI and domain XML")
        lib = connection.bindings()
        self.migration_requests.pop(uuid, None)
        try:
            live = dom.XMLDesc(lib.VIR_DOMAIN_XML_MIGRATABLE | lib.VIR_DOMAIN_XML_SECURE)
            xml = updated_guest_xml(live, dest_xml)
            params, flags = self._migrate_params(defn, live, xml, data)
        except lib.libvirtError as exc:
            raise DriverError(f"libvirt: {exc}") from exc
        run = _Job(self, dom, defn, progress)
        try:
            run.start(peer, params, flags)
            final = run.watch()
        finally:
            self.migration_requests.pop(uuid, None)
        return _completed(peer, self.machines.name(uuid), final)

    def _migrate_params(
        self, defn: Definition, live: str, xml: str, data: LiveMigrateData
    ) -> tuple[dict[str, Any], int]:
        lib = connection.bindings()
        flags = (
            lib.VIR_MIGRATE_LIVE
            | lib.VIR_MIGRATE_PEER2PEER
            | lib.VIR_MIGRATE_PERSIST_DEST
            | lib.VIR_MIGRATE_UNDEFINE_SOURCE
        )
        params: dict[str, Any] = {
            lib.VIR_MIGRATE_PARAM_URI: data.incoming_uri,
            lib.VIR_MIGRATE_PARAM_DEST_XML: xml,
            lib.VIR_MIGRATE_PARAM_PERSIST_XML: xml,
        }
        # always given: without it QEMU keeps the cap of the guest's previous migration
        # (an aborted one at 4 MiB/s made the next one run for ever under load)
        params[lib.VIR_MIGRATE_PARAM_BANDWIDTH] = (
            int(self.settings.migration_bandwidth_mib) or UNLIMITED_MIB
        )
        local = local_disk_targets(live, defn.disk_dir(self.vm.dir(defn.uuid)))
        if data.block_migration and local:
            flags |= lib.VIR_MIGRATE_NON_SHARED_INC
            params[lib.VIR_MIGRATE_PARAM_MIGRATE_DISKS] = local
        elif data.shared_storage:
            flags |= lib.VIR_MIGRATE_UNSAFE  # the probe proved the files shared
        return params, flags


def local_disk_targets(live_xml: str, disk_dir: Path) -> list[str]:
    """The target devices of the guest's writable local disks (in ``disk_dir``): what a
    block migration copies (volumes and the read-only config drive stay)."""
    found = []
    for disk in ET.fromstring(live_xml).iter("disk"):
        source, target = disk.find("source"), disk.find("target")
        if disk.get("type") != "file" or source is None or target is None:
            continue
        if disk.find("readonly") is not None or disk.get("device") != "disk":
            continue
        if Path(source.get("file", "")).parent == disk_dir:
            found.append(target.get("dev", ""))
    return found


def _report(stats: dict[str, Any]) -> MigrationProgress:
    def value(key: str) -> int:
        return int(stats.get(key) or 0)

    downtime = stats.get("downtime")
    return MigrationProgress(
        memory_total=value("memory_total"),
        memory_processed=value("memory_processed"),
        memory_remaining=value("memory_remaining"),
        disk_total=value("disk_total"),
        disk_processed=value("disk_processed"),
        disk_remaining=value("disk_remaining"),
        downtime_ms=int(downtime) if downtime is not None else None,
    )


def _completed(peer: str, name: str, last: MigrationProgress) -> MigrationProgress:
    """The destination's figures of the completed migration (libvirt keeps them there,
    with the downtime); ``last`` (the source's last reading) when they cannot be read."""
    lib = connection.bindings()
    try:
        conn = connection.open_connection(peer)
    except DriverError as exc:
        LOG.info("cannot read the completed migration's figures: %s", exc)
        return replace(last, downtime_ms=None)
    try:
        stats = conn.lookupByName(name).jobStats(lib.VIR_DOMAIN_JOB_STATS_COMPLETED)
    except lib.libvirtError as exc:
        LOG.info("cannot read the completed migration's figures: %s", exc)
        return replace(last, downtime_ms=None)
    finally:
        connection.close_quietly(conn)
    done = _report(stats)
    return replace(
        done,
        disk_total=done.disk_total or last.disk_total,
        disk_processed=done.disk_processed or last.disk_processed,
        disk_remaining=0,
    )


class _Job:
    """One running outgoing migration: ``virDomainMigrateToURI3`` in a thread, watched
    (progress, abort, force-complete, timeout) from the caller's."""

    def __init__(
        self,
        driver: LibvirtLiveMigrationMixin,
        dom: Any,
        defn: Definition,
        progress: Callable[[MigrationProgress], None],
    ) -> None:
        self.driver, self.dom, self.defn, self.progress = driver, dom, defn, progress
        self.uuid = defn.uuid
        self.was_running = driver.vm.status(defn) == "running"
        self.paused = self.aborted = self.configured = False
        self.error: BaseException | None = None
        self.thread: threading.Thread | None = None
        self.last = MigrationProgress()

    def start(self, peer: str, params: dict[str, Any], flags: int) -> None:
        """``virDomainMigrateToURI3`` in a thread, on a libvirt connection of its own:
        with the watch's calls on the same connection, libvirt's client (9.0) once left
        a call of the watch unsent while the migration's call waited on the socket, and
        both waited for ever."""
        lib = connection.bindings()
        own = connection.open_connection(self.driver.machines.uri)
        try:
            dom = own.lookupByUUIDString(self.dom.UUIDString())
        except lib.libvirtError as exc:
            connection.close_quietly(own)
            raise DriverError(f"libvirt: {exc}") from exc

        def migrate() -> None:
            try:
                dom.migrateToURI3(peer, params, flags)
            except BaseException as exc:
                self.error = exc
            finally:
                connection.close_quietly(own)

        self.thread = threading.Thread(
            target=migrate, name=f"libvirt-live-migration-{self.uuid}", daemon=True
        )
        self.thread.start()

    def watch(self) -> MigrationProgress:
        assert self.thread is not None
        deadline = time.monotonic() + TIMEOUT
        while self.thread.is_alive():
            try:
                self._requests()
                self._poll()
            except BaseException:
                # the caller's progress callback (or a request) failed: the migration
                # must not run on unwatched
                self._abort()
                self.thread.join(ABORT_WAIT)
                raise
            now = time.monotonic()
            if now > deadline and not self.aborted:
                LOG.warning("live migration of %s did not converge: aborting", self.uuid)
                self._abort()
            self.thread.join(POLL)
        if self.error is None:
            return self.last
        self._resume()
        lib = connection.bindings()
        code = self.error.get_error_code() if isinstance(self.error, lib.libvirtError) else None
        if self.aborted or code == lib.VIR_ERR_OPERATION_ABORTED:
            raise MigrationAborted(f"live migration of {self.uuid} aborted: {self.error}")
        raise DriverError(f"live migration failed: {self.error}")

    def _requests(self) -> None:
        asked = self.driver.migration_requests.pop(self.uuid, None)
        if asked == "abort" and not self.aborted:
            self._abort()
        elif asked == "complete" and not self.paused:
            LOG.info("live migration of %s: pausing the guest to complete", self.uuid)
            try:
                self.dom.suspend()
                self.paused = True
            except connection.bindings().libvirtError as exc:
                LOG.warning("cannot pause %s to complete its migration: %s", self.uuid, exc)

    def _abort(self) -> None:
        self.aborted = True
        try:
            self.dom.abortJob()
        except connection.bindings().libvirtError as exc:
            if self.thread is not None and self.thread.is_alive():
                # not started yet: the request stays until libvirt's job is there
                self.aborted = False
                self.driver.migration_requests[self.uuid] = "abort"
                LOG.debug("abort of %s's migration deferred: %s", self.uuid, exc)

    def _poll(self) -> None:
        lib = connection.bindings()
        try:
            stats = self.dom.jobStats(0)
        except lib.libvirtError:
            return  # the domain is gone here: migrated
        if int(stats.get("type") or 0) not in JOB_RUNNING:
            return
        if not self.configured:
            self.configured = True
            downtime = max(10, int(self.driver.settings.migration_downtime_ms))
            with contextlib.suppress(lib.libvirtError):
                self.dom.migrateSetMaxDowntime(downtime, 0)
        report = _report(stats)
        if report.memory_total or report.disk_total:  # none before libvirt has figures
            self.last = report
            self.progress(report)

    def _resume(self) -> None:
        """The guest stays here: run it on if it was running (paused for a switch-over)."""
        lib = connection.bindings()
        with contextlib.suppress(lib.libvirtError, DriverError):
            dom = self.driver.machines.domain(self.uuid)
            if dom is not None and self.was_running and dom.state()[0] == lib.VIR_DOMAIN_PAUSED:
                dom.resume()
