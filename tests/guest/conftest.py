"""Fixtures for the guest image tests: the host's busybox for the shell parts, one build."""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from pathlib import Path

import pytest

from tinystack.guest import build, hostdeps, scripts


@pytest.fixture(scope="session")
def busybox_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory holding only busybox applet links, to be the whole PATH of a test shell."""
    busybox = hostdeps.busybox_path()
    if busybox is None:
        pytest.skip("busybox is not installed (Debian package busybox-static)")
    bindir = tmp_path_factory.mktemp("tsguest-bb")
    subprocess.run([str(busybox), "--install", "-s", str(bindir)], check=True)
    if not (bindir / "sh").exists():
        (bindir / "sh").symlink_to(busybox)
    return bindir


class Shell:
    """Runs snippets under busybox sh with the guest's functions.sh sourced."""

    def __init__(self, bindir: Path, workdir: Path) -> None:
        self.bindir = bindir
        self.workdir = workdir
        self.functions = workdir / "functions.sh"
        self.functions.write_text(scripts.FUNCTIONS)
        #: files sourced before the snippet (busybox sh runs its own applets whatever PATH
        #: says, so stand-ins for commands must be shell functions)
        self.preludes: list[Path] = []

    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        env = {
            "PATH": str(self.bindir),
            "HOME": str(self.workdir),
            "TS_STATE": str(self.workdir / "state"),
            "TS_ETC": str(self.workdir / "etc"),
            "TS_WWW": str(self.workdir / "www"),
            "TS_LOG_DIR": str(self.workdir / "log"),
        }
        env.update(extra or {})
        return env

    def run(
        self, snippet: str, env: Mapping[str, str] | None = None, timeout: float = 30
    ) -> subprocess.CompletedProcess[str]:
        sources = "".join(f". {p}\n" for p in [self.functions, *self.preludes])
        code = f"{sources}{snippet}"
        return subprocess.run(
            [str(self.bindir / "sh"), "-c", code],
            capture_output=True,
            text=True,
            env=self.env(env),
            cwd=self.workdir,
            timeout=timeout,
        )

    def out(self, snippet: str, env: Mapping[str, str] | None = None) -> str:
        proc = self.run(snippet, env)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout


@pytest.fixture
def sh(busybox_bin: Path, tmp_path: Path) -> Shell:
    return Shell(busybox_bin, tmp_path)


@pytest.fixture(scope="session")
def built_image(tmp_path_factory: pytest.TempPathFactory) -> build.BuildResult:
    """The test image, built once per session (installing the packages when root)."""
    try:
        hostdeps.ensure_packages(hostdeps.BUILD_PACKAGES)
    except hostdeps.MissingHostPackages as exc:
        pytest.skip(str(exc))
    return build.build_test_image(tmp_path_factory.mktemp("tsguest-image"))
