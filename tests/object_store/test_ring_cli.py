"""``tinystack object-store ring create/add/rebalance/show``."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from tinystack.cli import app
from tinystack.object_store.ring.layout import ring_path
from tinystack.object_store.ring.ring import Ring


def test_ring_cli_round_trip(tmp_path: Path) -> None:
    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(app, ["object-store", "ring", *args, "--ring-dir", str(tmp_path)])
        assert result.exit_code == 0, result.output
        return result.output

    run("create", "object", "6", "3", "1")
    for zone in (1, 2, 3):
        run("add", "object", "--region", "1", "--zone", str(zone), "--ip", "127.0.0.1",
            "--port", "6200", "--device", f"d{zone}", "--weight", "100")  # fmt: skip
    assert "reassigned 192 replicas" in run("rebalance", "object")
    shown = run("show", "object")
    assert "64 partitions, 3 replicas, 3 devices" in shown and "dispersion 0" in shown
    assert len(Ring(ring_path(tmp_path, "object"), "", "s", 0).primaries(5)) == 3
    bad = runner.invoke(app, ["object-store", "ring", "show", "nope", "--ring-dir", str(tmp_path)])
    assert bad.exit_code == 1 and "unknown ring" in bad.output
