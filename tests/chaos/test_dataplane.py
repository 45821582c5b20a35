"""kill -9 of a cloud on the Linux network data plane (root only): networks with DHCP
subnets (a dnsmasq in a namespace each, a bridge) and their ports being made and deleted
by several threads when the whole process dies. After the restart everything settles;
after everything is deleted, no namespace, bridge or tap of a deleted network or port is
left, and no dnsmasq (or any process naming the state directory) outside the live
cloud's process tree (``tests/invariants.py``'s host checks, which the fake-driver rounds
cannot exercise: they have no data plane)."""

from __future__ import annotations

import json
import os
import signal
import uuid
from pathlib import Path

import pytest

from tests import invariants
from tests.chaos import figures
from tests.chaos.rounds import crash_round, eventually
from tests.chaos.session import Session
from tests.chaos.workload import Workload
from tests.cloudproc import CloudProcess
from tests.network_dataplane.support import PATIENCE, cleanup_tagged, run, tools_missing
from tinystack.network.agents import arp_protect, qos
from tinystack.network.agents.iptables import ChainSet

SERVICES = ["identity", "network"]


def _skip_reason() -> str | None:
    if os.geteuid() != 0:
        return "needs root (namespaces, bridges, dnsmasq)"
    missing = tools_missing()
    return "missing: " + ", ".join(missing) if missing else None


def _remove_kept(tag: str, prefix: str) -> None:
    """What the agents keep for their cloud across a stop (``dataplane_cleanup_on_stop =
    false``), by design not a leak: the physnet bridge and the veth into it, the
    chains and the nft tables."""
    for link in sorted(os.listdir("/sys/class/net")):
        if link.startswith(prefix) or link == f"{tag}-ex":
            run(["ip", "link", "delete", link], check=False)
    for chains in (prefix, prefix + "N"):
        ChainSet(chains).remove_all()
    if arp_protect.available():
        arp_protect.remove(None, arp_protect.table_name(prefix))
        qos.remove(None, qos.table_name(prefix))


def _remove_bridges(state_dir: Path, workload: Workload | None) -> list[str]:
    """The bridges (named by network id, not by the tag) of the networks the workload or
    the L2 agent's state knew; those there were."""
    networks = set(workload.gone()) | {workload.network_id} if workload else set()
    for path in state_dir.rglob("l2-agent.json"):
        networks |= set(json.loads(path.read_text()).get("networks", {}))
    left = [f"brq{net[:11]}" for net in sorted(networks)]
    left = [name for name in left if os.path.exists(f"/sys/class/net/{name}")]
    for name in left:
        run(["ip", "link", "delete", name], check=False)
    return [f"link {name}" for name in left]


@pytest.mark.root
@pytest.mark.skipif(_skip_reason() is not None, reason=str(_skip_reason()))
def test_kill_on_the_linux_data_plane(tmp_path: Path) -> None:
    tag = f"tsch{uuid.uuid4().hex[:4]}"
    prefix = f"T{tag[1:]}"
    # the physnet bridge is the test's own (the default br-ex-ts is any cloud's of this host)
    conf = f"""
[network]
dataplane = linux
router_namespace_prefix = {tag}-qr-
dhcp_namespace_prefix = {tag}-qd-
firewall_chain_prefix = {prefix}
bridge_mappings = public:{tag}-ex
bootstrap_networks = false
dataplane_cleanup_on_stop = false
report_interval = 2
"""
    cloud = CloudProcess(tmp_path / "state", SERVICES, conf)
    seed = int.from_bytes(os.urandom(2), "big")
    name = "data plane kill -9"
    workload: Workload | None = None
    try:
        cloud.start(timeout=120)
        session = Session(cloud.auth_url, cloud.password("admin")).login()
        workload = Workload(session, seed=seed, networks=True)
        workload.setup()

        def checked() -> invariants.Cloud:
            assert cloud.proc is not None
            return invariants.Cloud(session, cloud.state_dir, (cloud.conf_file,),
                                    (cloud.proc.pid,))  # fmt: skip

        # the agents' first sync after a restart rebuilds or removes every namespace,
        # bridge and dnsmasq: under the suite's load it can take more than 30 s
        crash_round(workload, lambda: cloud.stop(signal.SIGKILL),
                    lambda: cloud.start(timeout=120), checked, threads=4,
                    settle=30 * PATIENCE)  # fmt: skip
        assert not workload.server_errors, f"seed {seed}: {workload.server_errors}"
        made = len(workload.created.get("networks", ()))
        assert made > 0, "no network was made before the kill"
        session.client("network").delete(f"/v2.0/networks/{workload.network_id}")
        workload.created.setdefault("networks", set()).add(workload.network_id)
        # its namespace, dnsmasq and bridge go with the agents' next sync
        after = eventually(lambda: invariants.check(checked(), workload.gone()), timeout=90)
        left = [n for n in os.listdir("/run/netns") if tag in n] if os.path.isdir(
            "/run/netns") else []  # fmt: skip
        assert not left, f"namespaces left: {left}"
        assert after.checked.get("host devices", 0) > 0
    except AssertionError:
        figures.record_round(name, 0, 1, 0)
        raise
    finally:
        cloud.stop()
        _remove_kept(tag, prefix)
        stray = cleanup_tagged(tag) + _remove_bridges(cloud.state_dir, workload)
    figures.record_round(name, 1, 0, 0)
    assert not stray, f"left on the host after the cloud stopped: {stray}"
