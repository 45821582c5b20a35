"""Choosing and building the QEMU driver from tinystack.conf (no guest is started here)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tinystack.common import config
from tinystack.compute import conf as compute_conf
from tinystack.compute.virt.fake import FakeDriver
from tinystack.compute.virt.qemu import factory
from tinystack.compute.virt.qemu.driver import QemuDriver
from tinystack.compute.virt.qemu.imagecache import ServiceImageSource


@dataclass
class FakeDeps:
    conf: Any
    image: Any = None

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
    settings = factory.settings_from_conf(deps.conf)
    assert settings.instances == tmp_path / "instances"
    assert settings.image_cache == tmp_path / "image-cache"
    assert settings.accel_cache_file == tmp_path / "accel-probe.json"
    assert settings.accel_probe_image == tmp_path / "bootstrap-images" / "tinystack-test.qcow2"
    assert (settings.accel, settings.force_config_drive) == ("tcg", True)
    assert (settings.vnc_port_min, settings.image_cache_max_age) == (6000, 5.0)
    assert settings.host_namespace == ""
    namespaced = factory.settings_from_conf(make_deps(tmp_path, host_namespace="host-b").conf)
    assert namespaced.host_namespace == "host-b"


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
