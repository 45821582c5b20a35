"""A compute host standing in a network namespace (``[compute] host_namespace``): its taps
are created there and its QEMU runs there, on a real guest (the test image under TCG)."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import subprocess
import uuid as uuidlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.compute_qemu.conftest import (
    READY,
    TEST_NETNS_PREFIX,
    TEST_TAP_PREFIX,
    Harness,
    kill_qemus_under,
)
from tinystack.common.qmp import command as qmp
from tinystack.compute import states
from tinystack.compute.objects import VIF
from tinystack.compute.virt.driver import DriverError
from tinystack.compute.virt.qemu import net, process
from tinystack.compute.virt.qemu.definition import Definition
from tinystack.compute.virt.qemu.driver import QemuDriver

PORT_1 = TEST_TAP_PREFIX[3:] + "-3333-5678-9abc-def012345678"
PORT_2 = TEST_TAP_PREFIX[3:] + "-4444-5678-9abc-def012345678"
TAP_1, TAP_2 = "tap" + PORT_1[:11], "tap" + PORT_2[:11]
VIF_1 = VIF(id=PORT_1, address="fa:16:3e:33:33:33", network_id="net-test")
VIF_2 = VIF(id=PORT_2, address="fa:16:3e:44:44:44", network_id="net-test")


def ip_json(namespace: str, *args: str) -> list[dict[str, object]]:
    out = subprocess.run(
        ["ip", "-n", namespace, "-j", *args], capture_output=True, text=True, check=True
    ).stdout
    return list(json.loads(out)) if out.strip() else []


def links(namespace: str) -> dict[str, str]:
    """Device name -> MAC address in ``namespace``."""
    return {str(d["ifname"]): str(d.get("address", "")) for d in ip_json(namespace, "link")}


def in_root(tap: str) -> bool:
    return (Path("/sys/class/net") / tap).exists()


@pytest.fixture
def host_ns(harness: Harness) -> Iterator[str]:
    """A namespace standing for a second host; deleted (its QEMUs killed) whatever happens."""
    name = f"{TEST_NETNS_PREFIX}-{os.getpid()}"
    subprocess.run(["ip", "netns", "delete", name], capture_output=True)
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True)
        yield name
    finally:
        kill_qemus_under(harness.state)
        subprocess.run(["ip", "netns", "delete", name], capture_output=True)
        assert not Path("/run/netns", name).exists()


def ns_driver(h: Harness, namespace: str) -> QemuDriver:
    settings = dataclasses.replace(h.settings(), host_namespace=namespace)
    driver = QemuDriver("qemu-ns-host", settings, h.source)
    driver.init_host(h.ctx, "qemu-ns-host")
    return driver


def test_missing_namespace_is_refused(harness: Harness) -> None:
    settings = dataclasses.replace(harness.settings(), host_namespace=TEST_NETNS_PREFIX + "-none")
    driver = QemuDriver("qemu-ns-host", settings, harness.source)
    with pytest.raises(DriverError, match="network namespace .* does not exist"):
        driver.init_host(harness.ctx, "qemu-ns-host")


def test_guest_and_taps_live_in_the_host_namespace(
    harness: Harness, host_ns: str, caplog: pytest.LogCaptureFixture
) -> None:
    h = harness
    driver = ns_driver(h, host_ns)
    uuid = str(uuidlib.uuid4())
    inst = h.instance(uuid, "tsq-ns")
    h.driver = driver  # h.console / h.wait_console read through it
    driver.spawn(h.ctx, inst, [VIF_1], None)
    pid = driver.qemu_pid(uuid)
    try:
        # the tap is in the host's namespace, with its MAC, and not in the root namespace
        assert links(host_ns).get(TAP_1) == "fe:16:3e:33:33:33"
        assert net.exists(TAP_1, host_ns) and not net.exists(TAP_1)
        assert not in_root(TAP_1)
        # QEMU runs in that namespace (TUNSETIFF found the tap there by name)
        assert pid is not None and process.is_ours(pid, uuid)
        assert os.stat(f"/proc/{pid}/ns/net").st_ino == os.stat(f"/run/netns/{host_ns}").st_ino
        inside = subprocess.run(
            ["ip", "netns", "exec", host_ns, "stat", "-L", "-c", "%i", "/proc/self/ns/net"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        assert int(inside) == os.stat(f"/proc/{pid}/ns/net").st_ino
        assert os.stat(f"/proc/{pid}/ns/net").st_ino != os.stat("/proc/self/ns/net").st_ino
        assert f"ifname={TAP_1}" in " ".join(process.cmdline(pid))
        cmdline = (driver.settings.instances / uuid / "qemu.cmdline").read_text()
        assert cmdline.startswith(f"ip netns exec {host_ns} ")
        # QMP (a unix socket: a file) answers from the root namespace
        defn = Definition.load(driver.settings.instances / uuid)
        assert defn is not None
        assert qmp(defn.qmp_socket, "query-status")["status"] == "running"
        assert driver.get_info(h.ctx, inst).power_state == states.RUNNING

        # hot plug: the second tap is made in the namespace too (the guest's ACPI must be up)
        h.wait_console(inst, READY, timeout=60)
        driver.attach_interface(h.ctx, inst, VIF_2)
        assert links(host_ns).get(TAP_2) == "fe:16:3e:44:44:44" and not in_root(TAP_2)
        macs = {f["main-mac"] for f in qmp(defn.qmp_socket, "query-rx-filter")}
        assert macs == {"fa:16:3e:33:33:33", "fa:16:3e:44:44:44"}
        driver.detach_interface(h.ctx, inst, VIF_2)
        assert TAP_2 not in links(host_ns) and not in_root(TAP_2)

        # a restarted agent adopts the running QEMU and finds its tap in the namespace
        fresh = ns_driver(h, host_ns)
        with caplog.at_level(logging.WARNING, logger="tinystack.compute.virt.qemu.driver"):
            fresh.recover_instance(h.ctx, inst, states.RUNNING)
        assert "is missing" not in caplog.text
        assert fresh.qemu_pid(uuid) == pid
        assert fresh.get_info(h.ctx, inst).power_state == states.RUNNING
        driver = h.driver = fresh

        # a power cycle starts QEMU in the namespace again
        driver.power_off(h.ctx, inst, timeout=0)
        assert driver.qemu_pid(uuid) is None
        driver.power_on(h.ctx, inst, [VIF_1])
        pid = driver.qemu_pid(uuid)
        assert pid is not None
        assert os.stat(f"/proc/{pid}/ns/net").st_ino == os.stat(f"/run/netns/{host_ns}").st_ino
    finally:
        with contextlib.suppress(Exception):
            driver.destroy(h.ctx, inst, [VIF_1])
    assert pid is not None and not process.is_ours(pid, uuid)
    assert TAP_1 not in links(host_ns) and not in_root(TAP_1)
    assert not (driver.settings.instances / uuid).exists()
