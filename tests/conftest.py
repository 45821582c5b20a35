"""How the suite is split between pytest-xdist workers (``make test`` runs ``-n 4 --dist
loadscope --no-loadscope-reorder``).

Most of the suite's time is spent waiting (guests booting under TCG, migrations copying,
timeouts a kill round must outlast), so workers overlap well even on two cores. What must
not overlap is host state that is not named per test: each *host lane* runs its
directories one module after the other on one worker. ``host-qemu``: the QEMU driver's
harness (fixed ``tapc0ffee`` VIFs, VNC ranges, export ports, one libvirtd); ``host-net``:
the Linux data plane (namespaces, bridges, chains and VXLAN ports named per cloud tag, but
the e2e modules' fixed VNC ranges and underlay); ``host-ceph``: the Ceph cluster, the
guest image's own boots and the volume data path (``tgt``, export ports of 21100-21199).
Every other module is a scope of its own, so a module-scoped cloud is built once, on one
worker. The lanes come first in collection order, so the first three workers take them;
the others share the rest, and the lanes' workers join when their lane is done.

The lanes are scopes of ``LaneScheduling``, xdist's scope scheduler with its own scope
function (xdist's ``xdist_group`` marks rename node ids, which pytest 9 no longer
allows) and a worker crash that fails the one test it was running, not the run.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

import pytest

pytest_plugins = ["tests.watchdog"]

HOST_LANES = {
    "host-qemu": ("compute_qemu",),
    "host-net": ("network_e2e", "network_dataplane", "chaos", "load_balancer"),
    "host-ceph": ("ceph", "guest", "volume_driver"),
}


def scope_of(nodeid: str) -> tuple[int, str]:
    """(rank, scope) of a test: the lanes rank in their order, any other module after
    them (its own scope). ``nodeid`` is relative to the repository
    (``tests/<dir>/test_x.py::...``)."""
    path = nodeid.split("::", 1)[0]
    parts = PurePosixPath(path).parts
    for rank, (lane, directories) in enumerate(HOST_LANES.items()):
        if len(parts) > 2 and parts[1] in directories:
            return rank, lane
    return len(HOST_LANES), path


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The lanes first (each in collection order), then every other module."""
    ranked = sorted(enumerate(items), key=lambda pair: (scope_of(pair[1].nodeid)[0], pair[0]))
    items[:] = [item for _, item in ranked]


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    if config.getvalue("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class LaneScheduling(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            return scope_of(nodeid)[1]

        def remove_node(self, node: Any) -> str | None:
            """xdist's, except that the test a crashed worker was running counts as done
            (xdist queued it again with the rest of its scope, so the next worker crashed
            on it too, and the run then waited for ever)."""
            workload = self.assigned_work.pop(node)
            pending: list[tuple[str, str]] = [
                (scope, nodeid)
                for scope, unit in workload.items()
                for nodeid, done in unit.items()
                if not done
            ]
            if not pending:
                return None
            scope, crashed = pending[0]
            workload[scope][crashed] = True
            self.workqueue.update({s: u for s, u in workload.items() if not all(u.values())})
            for other in self.assigned_work:
                self._reschedule(other)
            return crashed

    return LaneScheduling(config, log)
