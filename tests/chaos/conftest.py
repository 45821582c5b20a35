"""The chaos tests' figures start afresh with each run that includes them."""

from __future__ import annotations

import pytest

from tests.chaos import figures


@pytest.fixture(scope="session", autouse=True)
def fresh_figures() -> None:
    for section in ("chaos", "soak"):
        (figures.directory() / f"{section}.json").unlink(missing_ok=True)
