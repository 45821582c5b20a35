"""States, microversions and the driver interface: the tables and contracts themselves."""

from __future__ import annotations

import abc
import inspect
from dataclasses import fields

import pytest
from oslo_config import cfg

from tinystack.common import config
from tinystack.compute import conf as compute_conf
from tinystack.compute import states
from tinystack.compute.api import microversion as mv
from tinystack.compute.virt.driver import ComputeDriver
from tinystack.compute.virt.fake import FakeDriver


@pytest.mark.parametrize(
    ("vm_state", "task_state", "status"),
    [
        ("active", None, "ACTIVE"),
        ("active", "rebooting", "REBOOT"),
        ("active", "rebooting_hard", "HARD_REBOOT"),
        ("active", "resize_prep", "RESIZE"),
        ("building", "scheduling", "BUILD"),
        ("stopped", None, "SHUTOFF"),
        ("stopped", "rebuilding", "REBUILD"),
        ("resized", None, "VERIFY_RESIZE"),
        ("resized", "resize_reverting", "REVERT_RESIZE"),
        ("paused", None, "PAUSED"),
        ("suspended", None, "SUSPENDED"),
        ("rescued", None, "RESCUE"),
        ("error", None, "ERROR"),
        ("error", "rebuilding", "REBUILD"),
        ("shelved_offloaded", None, "SHELVED_OFFLOADED"),
        ("nonsense", None, "UNKNOWN"),
    ],
)
def test_status_mapping(vm_state: str, task_state: str | None, status: str) -> None:
    assert states.status(vm_state, task_state) == status


def test_deleted_wins() -> None:
    assert states.status("active", None, deleted=True) == "DELETED"


def test_status_filters_map_back() -> None:
    vms, tasks, any_task = states.states_for_statuses(["active"])
    assert vms == {"active"} and any_task
    vms, tasks, any_task = states.states_for_statuses(["REBOOT"])
    assert vms == {"active"} and not any_task
    assert tasks == {"rebooting", "reboot_pending", "reboot_started"}
    assert states.states_for_statuses(["BOGUS"])[0] == set()


def test_versions_are_sequential_without_gaps_or_duplicates() -> None:
    parsed = [mv.Version.parse(v) for v in mv.VERSIONS]
    assert parsed == sorted(parsed)
    assert len(set(parsed)) == len(parsed)
    for a, b in zip(parsed, parsed[1:], strict=False):
        assert (b.major, b.minor) == (a.major, a.minor + 1), (a, b)
    assert mv.MIN_VERSION == (2, 1)
    assert mv.MAX_VERSION >= (2, 96)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, (2, 1)),
        ({"openstack-api-version": "compute 2.50"}, (2, 50)),
        ({"x-openstack-nova-api-version": "2.20"}, (2, 20)),
        ({"openstack-api-version": "compute latest"}, mv.MAX_VERSION),
        ({"openstack-api-version": "placement 1.2, compute 2.60"}, (2, 60)),
        (
            {"openstack-api-version": "compute 2.30", "x-openstack-nova-api-version": "2.10"},
            (2, 30),
        ),
    ],
)
def test_negotiation(headers: dict[str, str], expected: tuple[int, int]) -> None:
    assert mv.negotiate(headers) == expected


@pytest.mark.parametrize(
    ("header", "status"),
    [
        ("compute 3.0", 406),
        ("compute 2.0", 406),
        ("compute 2.999", 406),
        ("compute 2.a", 400),
        ("compute two", 400),
        ("compute 2.01", 400),
    ],
)
def test_bad_versions(header: str, status: int) -> None:
    with pytest.raises(mv.VersionError) as caught:
        mv.negotiate({"openstack-api-version": header})
    assert caught.value.status == status


def test_fake_driver_implements_the_whole_interface() -> None:
    abstract = {
        name
        for name, member in vars(ComputeDriver).items()
        if getattr(member, "__isabstractmethod__", False)
    }
    assert abstract, "the driver interface declares abstract methods"
    assert not getattr(FakeDriver, "__abstractmethods__", set())
    for name in abstract:
        params = list(inspect.signature(getattr(ComputeDriver, name)).parameters)
        assert params[:2] == ["self", "context"], f"{name} must take context first"
        fake_params = list(inspect.signature(getattr(FakeDriver, name)).parameters)
        assert fake_params == params, f"FakeDriver.{name} changes the signature"
    assert isinstance(ComputeDriver, abc.ABCMeta)


def test_driver_interface_covers_the_issue_list() -> None:
    wanted = {
        "spawn", "destroy", "reboot", "power_off", "power_on", "pause", "unpause", "suspend",
        "resume", "snapshot", "rescue", "unrescue", "rebuild", "migrate_disk_and_power_off",
        "finish_migration", "confirm_migration", "finish_revert_migration",
        "get_console_output", "get_vnc_console", "attach_interface", "detach_interface",
        "attach_volume", "detach_volume", "get_info", "list_instances",
        "get_available_resource",
    }  # fmt: skip
    assert wanted <= set(dir(ComputeDriver))


@pytest.mark.parametrize(
    ("name", "value", "ok"),
    [
        ("hw:cpu_policy", "dedicated", True),
        ("hw:cpu_policy", "sometimes", False),
        ("hw:numa_nodes", "2", True),
        ("hw:numa_nodes", "0", False),
        ("hw:numa_cpus.0", "0-3,^2", True),
        ("hw:bogus", "x", False),
        ("resources:VCPU", "0", True),
        ("resources1:CUSTOM_GPU", "x", False),
        ("trait:HW_CPU_X86_AVX", "required", True),
        ("trait:HW_CPU_X86_AVX", "wanted", False),
        ("hw_rng:allowed", "True", True),
        ("mine:anything", "goes", True),
        ("plain", "value", True),
    ],
)
def test_extra_spec_validation(name: str, value: str, ok: bool) -> None:
    from tinystack.common.exceptions import BadRequest
    from tinystack.compute.services import extra_specs

    if ok:
        extra_specs.validate(name, value)
    else:
        with pytest.raises(BadRequest):
            extra_specs.validate(name, value)


def test_options_name_every_compute_option() -> None:
    """``Options`` has one typed attribute per ``[compute]`` option, read with its value."""
    conf = cfg.ConfigOpts()
    compute_conf.register_opts(conf)
    conf([])
    conf.set_override("fake_hosts", 7, group="compute")
    conf.set_override("fake_fail_spawn_hosts", ["a", "b"], group="compute")
    groups = {group: {o.name for o in opts} for group, opts in compute_conf.list_opts()}
    assert groups["compute"] <= {f.name for f in fields(compute_conf.Options)}
    assert groups["console"] == {f.name for f in fields(compute_conf.ConsoleOptions)}
    opts = compute_conf.Options.from_conf(conf)
    assert opts.fake_hosts == 7
    assert opts.fake_fail_spawn_hosts == ("a", "b")
    assert opts.max_limit == 1000


def test_console_options_derive_the_links_from_the_public_host() -> None:
    conf = cfg.ConfigOpts()
    config.register_common_opts(conf)
    compute_conf.register_opts(conf)
    conf([])
    conf.set_override("public_host", "cloud.example")
    conf.set_override("serialproxy_port", 7083, group="console")
    opts = compute_conf.ConsoleOptions.from_conf(conf)
    assert opts.novncproxy_base_url == "http://cloud.example:6080/vnc_lite.html"
    assert opts.serialproxy_base_url == "ws://cloud.example:7083/"
    assert opts.proxy_host == conf.bind_host and opts.token_ttl == 600
    conf.set_override("novncproxy_base_url", "https://c/vnc.html", group="console")
    assert compute_conf.ConsoleOptions.from_conf(conf).novncproxy_base_url == "https://c/vnc.html"


def test_a_requested_config_drive_reaches_the_qemu_driver() -> None:
    """``server create --config-drive True`` is stored as "True" on the instance; the
    driver's view carries it, so the QEMU driver writes one without force_config_drive."""
    from types import SimpleNamespace

    from tinystack.compute import models
    from tinystack.compute.services.instances import meta
    from tinystack.compute.virt.qemu.driver import QemuDriver

    flavor = {"flavorid": "1", "name": "m1", "vcpus": 1, "memory_mb": 64, "root_gb": 1}

    def row(config_drive: str) -> models.Instance:
        return models.Instance(
            id=7, uuid="u-1", project_id="p", user_id="u", flavor=flavor, system_metadata={},
            config_drive=config_drive,
        )  # fmt: skip

    asked, plain = meta(row("True")), meta(row(""))
    assert asked.config_drive == "True" and plain.config_drive == ""
    for force, inst, wanted in ((False, asked, True), (False, plain, False), (True, plain, True)):
        driver = SimpleNamespace(settings=SimpleNamespace(force_config_drive=force))
        assert QemuDriver._wants_config_drive(driver, inst) is wanted  # type: ignore[arg-type]
