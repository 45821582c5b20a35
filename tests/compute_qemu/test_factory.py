"""Choosing and building the QEMU driver from tinystack.conf (no guest is started here)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tinystack.common import config
from tinystack.common.rpc.context import CallContext
from tinystack.compute import conf as compute_conf
from tinystack.compute import service as compute_service
from tinystack.compute.virt.fake import FakeDriver
from tinystack.compute.virt.qemu import factory
from tinystack.compute.virt.qemu.driver import QemuDriver
from tinystack.compute.virt.qemu.imagecache import ServiceImageSource
from tinystack.image import conf as image_conf


@dataclass
class FakeDeps:
    """What the factory reads of compute's ``Deps``."""

    conf: Any
    image: Any = None
    bootstrap_image_dir: Path | None = None

    @property
    def opts(self) -> compute_conf.Options:
        return compute_conf.Options.from_conf(self.conf)


def make_deps(tmp_path: Path, **compute: Any) -> FakeDeps:
    conf = config.make_conf([])
    conf.set_override("state_dir", str(tmp_path))
    compute_conf.register_opts(conf)
    for name, value in compute.items():
        conf.set_override(name, value, group="compute")
    return FakeDeps(conf, image=object())


def test_settings_from_conf(tmp_path: Path) -> None:
    deps = make_deps(
        tmp_path, accel="tcg", force_config_drive=True, vnc_port_min=6000, image_cache_max_age=5
    )
    settings = factory.settings_of(deps)
    assert settings.instances == tmp_path / "instances"
    assert settings.image_cache == tmp_path / "image-cache"
    assert settings.accel_cache_file == tmp_path / "accel-probe.json"
    assert settings.accel_probe_image == tmp_path / "bootstrap-images" / "tinystack-test.qcow2"
    assert (settings.accel, settings.force_config_drive) == ("tcg", True)
    assert (settings.vnc_port_min, settings.image_cache_max_age) == (6000, 5.0)
    assert settings.host_namespace == ""
    namespaced = factory.settings_of(make_deps(tmp_path, host_namespace="host-b"))
    assert namespaced.host_namespace == "host-b"
    elsewhere = FakeDeps(deps.conf, bootstrap_image_dir=tmp_path / "images")
    assert factory.settings_of(elsewhere).accel_probe_image == (
        tmp_path / "images" / "tinystack-test.qcow2"
    )


def test_the_composition_root_reads_the_image_services_bootstrap_dir(tmp_path: Path) -> None:
    """Compute reads ``[image] bootstrap_image_dir`` when the image service's options are
    registered in its process, and the image service's default otherwise."""
    conf = config.make_conf([])
    conf.set_override("state_dir", str(tmp_path))
    assert compute_service.bootstrap_image_dir(conf) == tmp_path / "bootstrap-images"
    image_conf.register_opts(conf)
    conf.set_override("bootstrap_image_dir", str(tmp_path / "boot"), group="image")
    assert compute_service.bootstrap_image_dir(conf) == tmp_path / "boot"


def test_auto_falls_back_to_fake_without_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    driver = factory.auto_driver(make_deps(tmp_path), "host-a")
    assert isinstance(driver, FakeDriver) and driver.hostname == "host-a"
    assert "fake driver, because not running as root" in caplog.text
    with pytest.raises(Exception, match="cannot run here"):
        factory.qemu_driver(make_deps(tmp_path), "host-a")


def test_auto_falls_back_to_fake_without_qemu(tmp_path: Path) -> None:
    deps = make_deps(tmp_path, qemu_binary="")
    usable, why = factory.available("")
    driver = factory.auto_driver(deps, "host-b")
    assert isinstance(driver, QemuDriver if usable else FakeDriver), why


def test_auto_picks_qemu_as_root_with_qemu(tmp_path: Path) -> None:
    usable, why = factory.available()
    if not usable:
        pytest.skip(why)
    driver = factory.auto_driver(make_deps(tmp_path), "host-c")
    assert isinstance(driver, QemuDriver) and driver.hostname == "host-c"
    assert isinstance(driver.cache.source, ServiceImageSource)


def test_libvirt_is_chosen_only_when_configured(tmp_path: Path) -> None:
    """``compute_driver = libvirt`` builds the libvirt driver with its options (auto never
    does: it stays QEMU-direct); without a libvirtd it says why instead."""
    from tinystack.compute.virt.libvirt import factory as libvirt_factory
    from tinystack.compute.virt.libvirt.driver import LibvirtDriver

    drivers = compute_service.ComputeService._drivers
    auto = drivers(make_deps(tmp_path), "host-d")[0][0]  # type: ignore[arg-type]
    assert not isinstance(auto, LibvirtDriver)
    deps = make_deps(
        tmp_path,
        compute_driver="libvirt",
        libvirt_uri="qemu:///system",
        libvirt_domain_prefix="tslv-f-",
    )
    usable, why = libvirt_factory.available("qemu:///system")
    if not usable:
        with pytest.raises(Exception, match="cannot run here"):
            drivers(deps, "host-d")  # type: ignore[arg-type]
        return
    (driver,), names = drivers(deps, "host-d")  # type: ignore[arg-type]
    assert isinstance(driver, LibvirtDriver) and names == ["host-d"]
    assert (driver.machines.uri, driver.machines.prefix) == ("qemu:///system", "tslv-f-")
    assert driver.list_instances(CallContext.internal()) == []
