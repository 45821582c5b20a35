"""The cloud's generated passwords (``<state_dir>/secrets.json``)."""

from __future__ import annotations

import json
import secrets
import stat
from pathlib import Path

import pytest

from tinystack.deploy import secrets as cloud_secrets


def test_passwords_are_kept_private_and_never_start_with_a_dash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # token_urlsafe starts one in 64 with "-", which `openstack --os-password -x...`
    # reads as an option (a CI run of the trust CLI test failed so)
    drawn = iter(["-leading-dash", "_fine-one", "plain"])
    monkeypatch.setattr(secrets, "token_urlsafe", lambda n: next(drawn))
    made = cloud_secrets.load_or_create(tmp_path, [])
    assert made == {"admin": "_fine-one", "demo": "plain"}
    path = tmp_path / "secrets.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text()) == made
    # kept: asked again, nothing new is drawn (the iterator is spent)
    assert cloud_secrets.load_or_create(tmp_path, []) == made
