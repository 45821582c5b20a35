"""The front door: the README's quick-start commands, run verbatim against a running cloud.

The cloud is left as ``make up`` leaves it: its state in ``~/.local/share/tinystack`` (``HOME``
is a temporary directory here), ``.venv`` in the working directory (the suite's own
virtualenv, linked), the bootstrap image ``tinystack-test`` registered. The commands are
read from the README's text (the fenced blocks of "Using it with the openstack CLI"),
continuation lines joined, and run by one ``bash -e`` as a user pasting them would.
Servers run on the fake driver (no root needed), so the console log is the fake's.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cloudproc import ROOT, CloudProcess
from tests.image import imagefiles

pytestmark = pytest.mark.cli

SECTION = "## Using it with the openstack CLI"
SERVICES = ["identity", "placement", "image", "compute", "network"]


def quick_start() -> list[str]:
    """The shell commands of the README's quick-start blocks (every ```bash block of the
    section), continuation lines joined."""
    text = (ROOT / "README.md").read_text()
    section = text[text.index(SECTION) :]
    section = section[: section.index("\n## ", len(SECTION))]
    blocks = re.findall(r"```bash\n(.*?)```", section, re.S)
    assert blocks, "no ```bash block in the README's quick start"
    joined = "".join(blocks).replace("\\\n", " ")
    return [line for line in joined.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, CloudProcess]]:
    home = tmp_path_factory.mktemp("home")
    state = home / ".local" / "share" / "tinystack"
    (state / "bootstrap-images").mkdir(parents=True)
    image = state / "bootstrap-images" / "tinystack-test.qcow2"
    image.write_bytes(imagefiles.qcow2(16 * 1024 * 1024))
    (home / ".venv").symlink_to(Path(sys.prefix))
    proc = CloudProcess(state, SERVICES)
    proc.start(timeout=120)
    try:
        yield home, proc
    finally:
        proc.stop()


def test_readme_quick_start_runs_verbatim(home: tuple[Path, CloudProcess]) -> None:
    directory, proc = home
    commands = quick_start()
    assert commands[0] == ". .venv/bin/activate"
    assert any(c.startswith("export OS_CLIENT_CONFIG_FILE=~/") for c in commands)
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("OS_", "VIRTUAL_ENV", "PYTHON"))
    }
    env.update(HOME=str(directory), PATH="/usr/local/bin:/usr/bin:/bin")
    script = "\n".join(["set -e", *(f"echo '+ {c}' >&2; {c}" for c in commands)])
    result = subprocess.run(
        ["bash", "-c", script],
        cwd=directory,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, f"{result.stderr[-3000:]}\n{result.stdout[-2000:]}"
    assert "vm1" in result.stdout and "172.24.4." in result.stdout
    assert f"http://127.0.0.1:{proc.console_ports['novncproxy']}/vnc_lite.html?path=" in (
        result.stdout
    )
    assert f"ws://127.0.0.1:{proc.console_ports['serialproxy']}/?token=" in result.stdout
    # `tinystack up` told the user where things are and how to log in
    log = proc.log_file.read_text()
    assert (
        f"novncproxy     http://127.0.0.1:{proc.console_ports['novncproxy']}/vnc_lite.html" in log
    )
    # not on a terminal: the logins are named, their passwords stay in secrets.json
    assert "logins: admin, demo (passwords in secrets.json)" in log
    for user in ("admin", "demo"):
        assert proc.password(user) not in log
