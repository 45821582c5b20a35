"""The stores of a deployment: Glance's ``enabled_backends``, the default one and staging.

``[image] enabled_backends = fast:file,cheap:file`` makes two file stores, each in
its own directory (``backend_dirs`` or ``<store_dir>/<id>``); without it there is
the one store ``file`` in ``store_dir``, as before multi-store. Each driver type
maps to a factory in :data:`FACTORIES`: ``file``, ``cinder`` (a volume per image in
the Block Storage service, reached with the service's own credentials: the spec
carries the service's :class:`Session`), ``swift`` (an object per image in the object
store's account of the service, the same way), ``rbd`` (an RBD image per image in a
Ceph pool, with the protected snapshot ``snap`` others clone), ``http``. A read-only
``http`` store is always there for locations that point at a web server; it is
not listed among the stores one may import into.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from tinystack.common.ceph import ClusterSpec
from tinystack.common.clients.object_store import ObjectStoreClient
from tinystack.common.clients.session import Session
from tinystack.common.outbound import AddressFilter
from tinystack.image.store.base import Store, StoreError
from tinystack.image.store.cinder import CinderStore
from tinystack.image.store.file import FileStore
from tinystack.image.store.http import HttpStore
from tinystack.image.store.rbd import RbdStore
from tinystack.image.store.swift import SwiftStore


@dataclass(frozen=True, slots=True)
class BackendSpec:
    """One configured backend: its id, driver type and driver settings."""

    id: str
    type: str
    directory: Path
    description: str
    weight: int
    chunk_size: int
    #: cinder: the volume type of new volumes, this host's name in attachment
    #: connectors, how long a volume may take to change state
    volume_type: str = ""
    connector_host: str = ""
    state_timeout: float = 300.0
    #: swift: the container, whether an upload creates it, the size beyond which an
    #: image is a large object and the size of its segments (bytes)
    container: str = "glance"
    create_container_on_put: bool = True
    large_object_size: int = 5120 * 1024 * 1024
    large_object_chunk_size: int = 200 * 1024 * 1024
    #: rbd: the pool, the cephx user, the cluster's ceph.conf, the read size (bytes)
    rbd_pool: str = "images"
    rbd_user: str = "glance"
    rbd_ceph_conf: str = "/etc/ceph/ceph.conf"
    rbd_chunk_size: int = 8 * 1024 * 1024
    #: the service's session (credentials and catalog), for stores in other services
    session: Session | None = None
    #: http: the addresses its locations (and their redirects) may reach
    outbound: AddressFilter | None = None


def _file_store(spec: BackendSpec) -> Store:
    return FileStore(
        spec.directory,
        chunk_size=spec.chunk_size,
        store_id=spec.id,
        description=spec.description,
        weight=spec.weight,
    )


def _cinder_store(spec: BackendSpec) -> Store:
    if spec.session is None:
        raise ValueError(f"store {spec.id}: the cinder store needs the service's credentials")
    return CinderStore(
        spec.session,
        store_id=spec.id,
        spool_dir=spec.directory,
        description=spec.description,
        weight=spec.weight,
        volume_type=spec.volume_type,
        connector_host=spec.connector_host,
        state_timeout=spec.state_timeout,
        chunk_size=spec.chunk_size,
    )


def _swift_store(spec: BackendSpec) -> Store:
    if spec.session is None:
        raise ValueError(f"store {spec.id}: the swift store needs the service's credentials")
    client = ObjectStoreClient(spec.session)
    if not client.available():
        raise ValueError(f"store {spec.id}: the swift store needs an object store in the cloud")
    return SwiftStore(
        client,
        store_id=spec.id,
        description=spec.description,
        weight=spec.weight,
        container=spec.container,
        create_container_on_put=spec.create_container_on_put,
        large_object_size=spec.large_object_size,
        chunk_size=spec.large_object_chunk_size,
        io_chunk_size=spec.chunk_size,
    )


def _rbd_store(spec: BackendSpec) -> Store:
    return RbdStore(
        ClusterSpec(spec.rbd_ceph_conf, spec.rbd_user),
        pool=spec.rbd_pool,
        store_id=spec.id,
        description=spec.description,
        weight=spec.weight,
        chunk_size=spec.rbd_chunk_size,
    )


def _http_store(spec: BackendSpec) -> Store:
    return HttpStore(
        store_id=spec.id, description=spec.description, weight=spec.weight, outbound=spec.outbound
    )


#: driver type -> factory; a new store driver registers here
FACTORIES: dict[str, Callable[[BackendSpec], Store]] = {
    "file": _file_store,
    "cinder": _cinder_store,
    "swift": _swift_store,
    "rbd": _rbd_store,
    "http": _http_store,
}


class UnknownStore(StoreError):
    pass


class StoreSet:
    """The enabled stores by id, the default one, staging, and a reader for any location."""

    def __init__(
        self,
        stores: list[Store],
        default_id: str,
        staging: Store,
        *,
        multi: bool,
        outbound: AddressFilter | None = None,
    ) -> None:
        self._stores = {s.id: s for s in stores}
        if default_id not in self._stores:
            raise ValueError(f"default store {default_id!r} is not enabled")
        self.default_id = default_id
        self.staging = staging
        #: whether enabled_backends is configured (multi-store API semantics)
        self.multi = multi
        #: reads http(s) locations when no http backend is enabled
        self._http = HttpStore(store_id="http", outbound=outbound)

    @classmethod
    def build(
        cls, specs: list[BackendSpec], default_id: str, staging_dir: Path, *, multi: bool
    ) -> StoreSet:
        stores = []
        for spec in specs:
            factory = FACTORIES.get(spec.type)
            if factory is None:
                raise ValueError(f"store {spec.id}: unknown store type {spec.type!r}")
            stores.append(factory(spec))
        chunk = specs[0].chunk_size if specs else 1024 * 1024
        staging = FileStore(staging_dir, chunk_size=chunk, store_id="os_glance_staging_store")
        outbound = specs[0].outbound if specs else None
        return cls(stores, default_id, staging, multi=multi, outbound=outbound)

    def __iter__(self) -> Iterator[Store]:
        return iter(self._stores.values())

    def ids(self) -> list[str]:
        return list(self._stores)

    def writable_ids(self) -> list[str]:
        return [s.id for s in self._stores.values() if not s.read_only]

    @property
    def default(self) -> Store:
        return self._stores[self.default_id]

    @property
    def local(self) -> Store:
        """The store bootstrap registers images in: the default one when it is a file
        store, else the first file store (the cloud's other services, a swift or cinder
        store needs, do not answer before the servers start; a Ceph cluster may not either)."""
        if self.default.type == "file":
            return self.default
        return next((s for s in self._stores.values() if s.type == "file"), self.default)

    def get(self, store_id: str) -> Store:
        try:
            return self._stores[store_id]
        except KeyError:
            raise UnknownStore(store_id) from None

    def by_weight(self, store_ids: str) -> str:
        """A comma-separated list of store ids, heaviest first (as the image's ``stores``
        attribute shows them); equal weights keep their order."""
        ids = [i for i in store_ids.split(",") if i]
        weights = {s.id: s.weight for s in self._stores.values()}
        return ",".join(sorted(ids, key=lambda i: -weights.get(i, 0)))

    def known(self, store_id: str) -> bool:
        return store_id in self._stores

    def for_location(self, url: str, store_id: str | None = None) -> Store:
        """The store that reads ``url`` (its recorded store first, else by its scheme)."""
        if store_id and store_id in self._stores and self._stores[store_id].handles(url):
            return self._stores[store_id]
        for store in self._stores.values():
            if store.handles(url):
                return store
        if self._http.handles(url):
            return self._http
        raise UnknownStore(url)
