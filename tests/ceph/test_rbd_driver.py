"""The rbd image store and volume driver on their own against the session's cluster, as
the services' cephx users (``client.glance``, ``client.cinder``): the clone chains, the
delete orders that leave nothing behind, capacity, raw I/O."""

from __future__ import annotations

import uuid

import pytest

from tests.ceph_cluster import CephCluster
from tinystack.image.store.rbd import RbdStore
from tinystack.volume.drivers.base import Connector, SnapshotRef, VolumeRef
from tinystack.volume.drivers.errors import VolumeBusy, VolumeNotFound
from tinystack.volume.drivers.rbd import RbdDriver

GiB = 1024**3


@pytest.fixture
def store(ceph_cluster: CephCluster) -> RbdStore:
    return RbdStore(ceph_cluster.spec("glance"))


@pytest.fixture
def driver(ceph_cluster: CephCluster) -> RbdDriver:
    made = RbdDriver(ceph_cluster.spec("cinder"), "ceph", secret_uuid="s-uuid", max_clone_depth=1)
    made.do_setup()
    return made


def _ref(size: int = 1) -> VolumeRef:
    return VolumeRef(str(uuid.uuid4()), size)


def test_store_round_trip_and_in_use(
    store: RbdStore, driver: RbdDriver, ceph_cluster: CephCluster
) -> None:
    writer = store.open_writer("img-1")
    writer.write([b"A" * 1000, b"B" * (70 << 20)])
    location = writer.commit()
    assert location.endswith("/images/img-1/snap") and store.handles(location)
    assert store.size(location) == 1000 + (70 << 20)
    reader = store.open_reader(location, offset=990, length=20)
    assert reader.read() == b"A" * 10 + b"B" * 10
    reader.close()
    aborted = store.open_writer("img-2")
    aborted.write([b"x" * 10])
    aborted.abort()

    volume = _ref()
    assert not driver.clone_image(volume, [location], "qcow2")  # only raw images clone
    assert driver.clone_image(volume, ["rbd://other-fsid/images/img-1/snap", location], "raw")
    assert store.in_use(location)
    with driver.open_volume(volume, write=False) as f:
        assert f.read(1001) == b"A" * 1000 + b"B"
    driver.delete_volume(volume)
    assert not store.in_use(location)
    store.delete(location)
    usage = ceph_cluster.pool_usage()
    assert usage == {p: [] for p in usage}
    with pytest.raises(Exception, match="rbd image"):
        store.open_reader(location)


def test_clone_chains_and_delete_orders(driver: RbdDriver, ceph_cluster: CephCluster) -> None:
    source = _ref()
    driver.create_volume(source)
    with driver.open_volume(source, write=True) as f:
        f.write(b"SOURCE")
    snap = SnapshotRef(str(uuid.uuid4()), source.id, 1)
    driver.create_snapshot(snap)
    from_snap = _ref(2)
    driver.create_volume_from_snapshot(from_snap, snap)
    # a volume of a volume clones a .clone_snap, flattened beyond max_clone_depth (1)
    copy = _ref()
    driver.create_cloned_volume(copy, source)
    second = _ref()
    driver.create_cloned_volume(second, from_snap)  # depth 2 > 1: flattened
    for volume in (from_snap, copy, second):
        with driver.open_volume(volume, write=False) as f:
            assert f.read(6) == b"SOURCE"
    # upstream's delete orders: nothing is copied. A snapshot with clones is busy...
    with pytest.raises(VolumeBusy, match="dependent"):
        driver.delete_snapshot(snap)
    with pytest.raises(VolumeBusy, match="snapshot"):  # ...and so is its volume
        driver.delete_volume(source)
    driver.delete_volume(from_snap)
    driver.delete_snapshot(snap)
    # a volume whose .clone_snap has a clone stays, renamed, until the clone goes
    driver.delete_volume(source)
    with driver._io() as ioctx:
        assert f"volume-{source.id}.deleted" in driver._rbd.RBD().list(ioctx)
    assert source.id not in driver.volume_ids()
    for volume in (copy, second):
        with driver.open_volume(volume, write=False) as f:
            assert f.read(6) == b"SOURCE"
        driver.extend_volume(volume, 3)
        driver.delete_volume(volume)
    usage = ceph_cluster.pool_usage()
    assert usage == {p: [] for p in usage}
    driver.delete_volume(source)  # idempotent
    assert driver.volume_ids() == []
    with pytest.raises(VolumeNotFound):
        driver.initialize_connection(source, Connector("h"), "a")


def test_connection_and_capacity(driver: RbdDriver, ceph_cluster: CephCluster) -> None:
    volume = _ref()
    driver.create_volume(volume)
    info = driver.initialize_connection(volume, Connector("h"), "a")
    assert info.driver_volume_type == "rbd"
    assert info.data["name"] == f"volumes/volume-{volume.id}"
    assert info.data["auth_username"] == "cinder" and info.data["secret_uuid"] == "s-uuid"
    assert info.data["hosts"] == ["127.0.0.1"]
    assert info.data["ports"] == [str(ceph_cluster.mon_port)]
    assert ceph_cluster.key("cinder") not in str(info)
    stats = driver.get_volume_stats({"ceph": 1})
    (pool,) = stats.pools
    assert 1 < pool.total_capacity_gb <= 5 and 0 < pool.free_capacity_gb <= pool.total_capacity_gb
    driver.delete_volume(volume)
    usage = ceph_cluster.pool_usage()
    assert usage == {p: [] for p in usage}
