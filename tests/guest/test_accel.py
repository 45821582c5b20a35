"""KVM or TCG: the decision logic and its cache (the real probe runs in test_boot)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tinystack.guest import accel

OK = (True, "/dev/kvm is usable")


def never() -> accel.Verdict:
    raise AssertionError("must not probe")


@pytest.mark.parametrize("setting", ["kvm", "tcg"])
def test_configured_setting_wins(setting: str) -> None:
    d = accel.decide(setting, device=(False, "no kvm"), cached=None, probe=never)
    assert (d.accel, d.source) == (setting, "configured")


def test_bad_setting() -> None:
    with pytest.raises(ValueError, match="auto, kvm, tcg"):
        accel.decide("hvf", device=OK, cached=None, probe=never)


def test_auto_without_kvm_device_is_tcg() -> None:
    d = accel.decide("auto", device=(False, "/dev/kvm does not exist"), cached=None, probe=never)
    assert (d.accel, d.source, d.reason) == ("tcg", "fallback", "/dev/kvm does not exist")


def test_auto_uses_the_cache() -> None:
    cached = accel.Decision("tcg", "hung", "probe", "k", 15.0)
    d = accel.decide("auto", device=OK, cached=cached, probe=never, key="k")
    assert (d.accel, d.source, d.reason) == ("tcg", "cache", "hung")


@pytest.mark.parametrize(("works", "expected"), [(True, "kvm"), (False, "tcg")])
def test_auto_probes(works: bool, expected: str) -> None:
    d = accel.decide("auto", device=OK, cached=None, probe=lambda: (works, "why"), key="k")
    assert (d.accel, d.source, d.reason, d.key) == (expected, "probe", "why", "k")


def test_auto_without_an_image_falls_back() -> None:
    d = accel.decide("auto", device=OK, cached=None, probe=None)
    assert (d.accel, d.source) == ("tcg", "fallback")


@pytest.fixture
def fake_kvm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    device = tmp_path / "kvm"
    device.write_text("")
    monkeypatch.setattr(accel, "qemu_version", lambda: "QEMU emulator version 7.2.0")
    return device


def test_choose_accel_probes_once_then_caches(tmp_path: Path, fake_kvm: Path) -> None:
    image = tmp_path / "img.qcow2"
    image.write_bytes(b"QFI\xfb")
    cache = tmp_path / "state" / accel.CACHE_FILE
    probes: list[tuple[Path, float]] = []

    def prober(img: Path, timeout: float) -> accel.Verdict:
        probes.append((img, timeout))
        return False, "guest did not reach userspace"

    first = accel.choose_accel(
        image=image, cache_file=cache, device=fake_kvm, prober=prober, timeout=3
    )
    assert (first.accel, first.source) == ("tcg", "probe")
    assert probes == [(image, 3)]
    assert json.loads(cache.read_text())["accel"] == "tcg"
    second = accel.choose_accel(image=image, cache_file=cache, device=fake_kvm, prober=prober)
    assert (second.accel, second.source) == ("tcg", "cache")
    assert len(probes) == 1
    # another image (or QEMU, or host kernel) means another probe
    image.write_bytes(b"QFI\xfb and more")
    third = accel.choose_accel(
        image=image, cache_file=cache, device=fake_kvm, prober=lambda i, t: (True, "booted")
    )
    assert (third.accel, third.source) == ("kvm", "probe")
    assert json.loads(cache.read_text())["accel"] == "kvm"


def test_choose_accel_without_device_or_image(tmp_path: Path, fake_kvm: Path) -> None:
    cache = tmp_path / accel.CACHE_FILE
    d = accel.choose_accel(
        image=tmp_path / "absent.qcow2", cache_file=cache, device=fake_kvm, prober=never_probe
    )
    assert (d.accel, d.source) == ("tcg", "fallback")
    d = accel.choose_accel(
        image=None, cache_file=cache, device=tmp_path / "no-kvm", prober=never_probe
    )
    assert (d.accel, d.reason) == ("tcg", f"{tmp_path / 'no-kvm'} does not exist")
    assert accel.choose_accel("kvm", image=None, cache_file=cache).accel == "kvm"
    assert not cache.exists()


def test_corrupt_cache_is_ignored(tmp_path: Path) -> None:
    cache = tmp_path / accel.CACHE_FILE
    cache.write_text("{not json")
    assert accel.load_cached(cache, "k") is None
    cache.write_text(json.dumps({"accel": "kvm", "reason": "", "source": "probe", "key": "x"}))
    assert accel.load_cached(cache, "k") is None
    assert accel.load_cached(cache, "x") == accel.Decision("kvm", "", "probe", "x")


def never_probe(image: Path, timeout: float) -> accel.Verdict:
    raise AssertionError("must not probe")
