"""Horizon's configuration from the cloud (no Horizon needed): the secret key is made
once and readable by its owner only, and local_settings.py names the cloud."""

from __future__ import annotations

import ast
import stat
from pathlib import Path

from tinystack.dashboard.horizon import launcher


def _setup(tmp_path: Path) -> launcher.HorizonSetup:
    return launcher.HorizonSetup(
        directory=str(tmp_path / "horizon"),
        host="127.0.0.1",
        port=8001,
        keystone_url="http://127.0.0.1:5000/v3",
        default_domain="Default",
        static_root=str(tmp_path / "static"),
        ca_file="/etc/ca.pem",
    )


def test_settings_are_written_from_the_cloud(tmp_path: Path) -> None:
    setup = _setup(tmp_path)
    directory = launcher.prepare(setup)
    key_file = directory / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = key_file.read_text()
    settings_file = directory / "local" / "local_settings.py"
    assert stat.S_IMODE(settings_file.stat().st_mode) == 0o600
    tree = ast.parse(settings_file.read_text())
    values = {
        node.targets[0].id: ast.literal_eval(node.value)  # type: ignore[attr-defined]
        for node in tree.body
        if isinstance(node, ast.Assign)
    }
    assert values["SECRET_KEY"] == key and len(key) > 40
    assert values["OPENSTACK_KEYSTONE_URL"] == "http://127.0.0.1:5000/v3"
    assert values["OPENSTACK_SSL_CACERT"] == "/etc/ca.pem"
    assert values["STATIC_ROOT"] == values["COMPRESS_ROOT"] == setup.static_root
    assert values["COMPRESS_OFFLINE"] is True
    assert values["SESSION_FILE_PATH"] == str(directory / "sessions")

    launcher.prepare(setup)  # a restart keeps the key (sessions stay valid)
    assert key_file.read_text() == key
    assert setup.url == "http://127.0.0.1:8001/"
