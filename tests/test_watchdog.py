"""The suite's watchdog (tests/watchdog.py) in a pytest of its own: a hung test is
interrupted with its stacks printed and the run goes on; a run past its deadline stops with
its summary."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

CONFTEST = 'pytest_plugins = ["tests.watchdog"]\n'
TESTS = textwrap.dedent(
    """
    import os
    import signal
    import time


    def test_hangs_in_python():
        time.sleep(60)


    def test_hangs_where_signals_do_not_reach():
        if os.environ.get("HANG_DEAF"):
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR2})
            time.sleep(60)


    def test_after_the_hang():
        assert True
    """
)


def run(tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    (tmp_path / "conftest.py").write_text(CONFTEST)
    (tmp_path / "test_hang.py").write_text(TESTS)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", str(tmp_path)],
        env={**os.environ, "PYTHONPATH": str(REPO), **env},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_hung_test_is_interrupted_and_the_run_goes_on(tmp_path: Path) -> None:
    result = run(tmp_path, {"TINYSTACK_TEST_TIMEOUT": "2", "TINYSTACK_SUITE_DEADLINE": ""})
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "test_hangs_in_python still running after 2s: interrupting" in output
    assert "in test_hangs_in_python" in output  # the stack
    assert "FAILED test_hang.py::test_hangs_in_python (call," in output  # live
    assert "TestTimeout: test outlived TINYSTACK_TEST_TIMEOUT=2s" in output
    assert "1 failed, 2 passed" in output


def test_a_run_past_its_deadline_stops_with_its_summary(tmp_path: Path) -> None:
    result = run(tmp_path, {"TINYSTACK_TEST_TIMEOUT": "", "TINYSTACK_SUITE_DEADLINE": "2"})
    output = result.stdout + result.stderr
    assert result.returncode == 2, output  # pytest's "interrupted"
    assert "TINYSTACK_SUITE_DEADLINE=2s passed; still running:" in output
    assert "test_hang.py::test_hangs_in_python (2s)" in output
    assert "KeyboardInterrupt" in output


def test_a_test_deaf_to_the_interrupt_ends_its_process(tmp_path: Path) -> None:
    env = {"TINYSTACK_TEST_TIMEOUT": "2", "TINYSTACK_SUITE_DEADLINE": "", "HANG_DEAF": "1"}
    result = run(tmp_path, env)
    output = result.stdout + result.stderr
    assert result.returncode == 3, output
    assert "test_hangs_where_signals_do_not_reach ignored the interrupt for 2s" in output
    assert "in test_hangs_where_signals_do_not_reach" in output


def test_a_crashed_worker_fails_its_test_and_the_rest_runs(tmp_path: Path) -> None:
    """The lanes' scheduler (tests/conftest.py) after a worker dies mid-module: the test
    it ran fails once, the module's other tests run on another worker, the run ends."""
    (tmp_path / "conftest.py").write_text(
        "from tests.conftest import pytest_xdist_make_scheduler  # noqa: F401\n"
    )
    (tmp_path / "test_crash.py").write_text(
        "import os\n\n\ndef test_one():\n    pass\n\n\ndef test_crashes():\n    os._exit(3)\n"
        "\n\ndef test_after_the_crash():\n    pass\n"
    )
    (tmp_path / "test_other.py").write_text("def test_other():\n    pass\n")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-n", "2"]
        + ["--dist", "loadscope", "--no-loadscope-reorder", str(tmp_path)],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert (
        "worker 'gw" in output and "crashed while running 'test_crash.py::test_crashes'" in output
    )
    assert "1 failed, 3 passed" in output
