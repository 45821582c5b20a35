"""The shared cloud: one ``tinystack up`` per test session, driven with the real CLI and SDK."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cloudproc import CloudProcess


@pytest.fixture(scope="session")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CloudProcess]:
    only = os.environ.get("TINYSTACK_TEST_SERVICES")
    proc = CloudProcess(Path(tmp_path_factory.mktemp("cloud")), only.split(",") if only else None)
    proc.start()
    try:
        yield proc
    finally:
        proc.stop()
