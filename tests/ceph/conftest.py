"""The one throwaway Ceph cluster every test under ``tests/ceph`` shares (session scope:
it takes ~15-30 s to start), stopped by PID at the end whatever happened. Tests skip
with the reason when Ceph or its Python bindings are not installed."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest

from tests.ceph_cluster import CephCluster, skip_reason
from tests.compute_qemu.conftest import images, test_image

__all__ = [
    "ceph_cluster",
    "ceph_starting",
    "images",
    "test_image",
]  # the guest image fixtures, shared with compute_qemu

SKIP = skip_reason()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/tests/ceph/" in str(item.fspath) and SKIP:
            item.add_marker(pytest.mark.skip(reason=SKIP))


@pytest.fixture(scope="session")
def ceph_starting(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CephCluster]:
    """The cluster, starting in the background (its paths and keyrings are known at once:
    a fixture may build something else before it waits)."""
    cluster = CephCluster(tmp_path_factory.mktemp("ceph")).start_background()
    try:
        yield cluster
    finally:
        with contextlib.suppress(RuntimeError):
            cluster.wait()
        cluster.stop()


@pytest.fixture(scope="session")
def ceph_cluster(ceph_starting: CephCluster) -> CephCluster:
    """The started cluster."""
    cluster = ceph_starting.wait()
    print(f"\nceph cluster up in {cluster.startup:.1f}s")
    return cluster
