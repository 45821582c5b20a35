"""The image build: host packages, idempotency, what lands in the output directory, the CLI."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tinystack.cli import app
from tinystack.guest import build, hostdeps

# --- host packages -----------------------------------------------------------------------


@pytest.fixture
def fake_requirements(monkeypatch: pytest.MonkeyPatch) -> dict[str, bool]:
    present = {"pkg-a": True, "pkg-b": False, "pkg-c": False}

    def check(name: str) -> Callable[[], bool]:
        return lambda: present[name]

    reqs = tuple(hostdeps.Requirement(name, name, check(name)) for name in present)
    monkeypatch.setattr(hostdeps, "REQUIREMENTS", reqs)
    return present


def test_missing_packages(fake_requirements: dict[str, bool]) -> None:
    assert hostdeps.missing_packages(["pkg-a", "pkg-b", "pkg-c", "pkg-b"]) == ["pkg-b", "pkg-c"]
    assert hostdeps.missing_packages(["pkg-a"]) == []


def test_ensure_packages_explains_when_it_cannot_install(
    fake_requirements: dict[str, bool], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert hostdeps.ensure_packages(["pkg-a"]) == []
    with pytest.raises(hostdeps.MissingHostPackages) as err:
        hostdeps.ensure_packages(["pkg-a", "pkg-b"], install=False)
    assert "apt-get install -y --no-install-recommends pkg-b" in str(err.value)
    monkeypatch.setattr(hostdeps, "can_install", lambda: False)
    with pytest.raises(hostdeps.MissingHostPackages, match="not root") as err:
        hostdeps.ensure_packages(["pkg-b", "pkg-c"])
    assert err.value.packages == ["pkg-b", "pkg-c"]


def test_ensure_packages_installs_as_root(
    fake_requirements: dict[str, bool], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[list[str]] = []

    def fake_apt(packages: list[str]) -> object:
        calls.append(packages)
        for p in packages:
            fake_requirements[p] = True
        return type("Done", (), {"returncode": 0})()

    monkeypatch.setattr(hostdeps, "can_install", lambda: True)
    monkeypatch.setattr(hostdeps, "_apt_install", fake_apt)
    logged: list[str] = []
    assert hostdeps.ensure_packages(["pkg-a", "pkg-b", "pkg-c"], log=logged.append) == [
        "pkg-b",
        "pkg-c",
    ]
    assert calls == [["pkg-b", "pkg-c"]]
    assert logged == ["installing pkg-b pkg-c with apt-get"]


def test_the_package_lists() -> None:
    assert hostdeps.BUILD_PACKAGES == (
        "linux-image-cloud-amd64",
        "busybox-static",
        "dropbear-bin",
        "grub-pc-bin",
        "grub-common",
        "xorriso",
        "mtools",
        "qemu-utils",
    )
    assert {r.package for r in hostdeps.REQUIREMENTS} == {
        *hostdeps.BUILD_PACKAGES,
        *hostdeps.BOOT_PACKAGES,
    }


# --- the build ---------------------------------------------------------------------------


def test_build_output(built_image: build.BuildResult) -> None:
    out = built_image.image.parent
    assert built_image.image.name == "tinystack-test.qcow2"
    assert built_image.built
    assert built_image.image.read_bytes()[:4] == b"QFI\xfb"
    # the image service registers every image file of the directory: only the qcow2 is one
    from tinystack.image.services.bootstrap import IMAGE_SUFFIXES

    images = [p.name for p in out.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES]
    assert images == ["tinystack-test.qcow2"]
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == [
        "tinystack-test.qcow2",
        "tinystack-test.stamp",
    ]
    stamp = build.read_stamp(out)
    assert stamp is not None
    assert stamp["inputs_sha256"] == built_image.inputs_sha256
    assert stamp["size"] == built_image.image.stat().st_size
    assert stamp["modules"][:2] == ["virtio_ring", "virtio"]  # type: ignore[index]
    assert built_image.size < 40_000_000


def test_image_service_sees_a_qcow2(built_image: build.BuildResult) -> None:
    from tinystack.image.services import format_inspection

    inspector = format_inspection.StreamInspector()
    with open(built_image.image, "rb") as f:
        while chunk := f.read(1 << 22):
            inspector.feed(chunk)
    inspection = inspector.finish()
    assert inspection.formats == ("qcow2",)
    assert (format_inspection.verdict(inspection, "qcow2", "bare") or 0) > 0


def test_second_build_is_skipped(built_image: build.BuildResult) -> None:
    out = built_image.image.parent
    mtime = built_image.image.stat().st_mtime_ns
    started = time.monotonic()
    again = build.build_test_image(out)
    assert not again.built
    assert again.inputs_sha256 == built_image.inputs_sha256
    assert built_image.image.stat().st_mtime_ns == mtime
    assert time.monotonic() - started < 10


def test_stale_or_broken_stamp_means_rebuild(
    built_image: build.BuildResult, tmp_path: Path
) -> None:
    out = tmp_path / "copy"
    out.mkdir()
    shutil.copy(built_image.image, out)
    shutil.copy(built_image.image.parent / build.STAMP_FILE, out)
    digest = built_image.inputs_sha256
    assert build.is_up_to_date(out, digest)
    assert not build.is_up_to_date(out, "0" * 64)
    with open(out / build.IMAGE_FILE, "ab") as f:
        f.write(b"\0")
    assert not build.is_up_to_date(out, digest)
    (out / build.STAMP_FILE).write_text("not json")
    assert not build.is_up_to_date(out, digest)
    (out / build.IMAGE_FILE).unlink()
    assert not build.is_up_to_date(out, digest)


def test_cli_build_test(built_image: build.BuildResult, tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(
        app, ["image", "build-test", "--output", str(built_image.image.parent), "--no-install"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {
        "image": str(built_image.image),
        "built": False,
    }
    # by default: the image service's bootstrap directory under the state directory
    state = tmp_path / "state"
    target = state / "bootstrap-images"
    target.mkdir(parents=True)
    shutil.copy2(built_image.image, target)
    shutil.copy2(built_image.image.parent / build.STAMP_FILE, target)
    result = runner.invoke(app, ["image", "build-test", "--state-dir", str(state)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout.strip().splitlines()[-1])["image"] == str(
        target / "tinystack-test.qcow2"
    )


def test_cli_reports_missing_packages(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(hostdeps, "missing_packages", lambda packages=(): ["dropbear-bin"])
    result = CliRunner().invoke(
        app, ["image", "build-test", "--output", str(tmp_path), "--no-install"]
    )
    assert result.exit_code == 1
    assert "apt-get install -y --no-install-recommends dropbear-bin" in result.output
