"""Throwaway RabbitMQ and MariaDB servers the broker and database fault tests may
restart at will (the machine's shared ones serve other tests): each on free ports, with
a data directory under the test's own, started in a session of its own and stopped by
its process group. Skips the test when the binaries are missing."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from tests.cloudproc import free_port

RABBIT = "/usr/lib/rabbitmq/bin/rabbitmq-server"


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


class Server:
    """A server process (and its children) in a process group of its own."""

    def __init__(self, directory: Path, port: int) -> None:
        self.directory = directory
        self.port = port
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = directory / "server.log"

    def command(self) -> tuple[list[str], dict[str, str]]:
        raise NotImplementedError

    def start(self, timeout: float = 180) -> float:
        """Start and wait until the port answers; the seconds it took."""
        argv, env = self.command()
        started = time.monotonic()
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                argv,
                env={**os.environ, **env},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        while not _listening(self.port):
            if self.proc.poll() is not None or time.monotonic() - started > timeout:
                self.stop()
                raise RuntimeError(f"{argv[0]} did not start: {self.log.read_text()[-2000:]}")
            time.sleep(0.1)
        return time.monotonic() - started

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, sig)
            self.proc.wait(60)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.proc = None
        deadline = time.monotonic() + 30
        while _listening(self.port) and time.monotonic() < deadline:
            time.sleep(0.1)


class RabbitServer(Server):
    """``rabbitmq-server`` as the invoking user (no ``su``: its process group is ours)."""

    def __init__(self, directory: Path) -> None:
        if not os.path.exists(RABBIT):
            pytest.skip("rabbitmq-server is not installed")
        super().__init__(directory, free_port())
        self.dist_port = free_port()
        self.node = f"tsch-{uuid.uuid4().hex[:8]}@localhost"
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "plugins").write_text("[].\n")
        (directory / "rabbitmq.conf").write_text(
            f"listeners.tcp.default = {self.port}\nloopback_users = none\n"
        )

    @property
    def url(self) -> str:
        return f"rabbit://guest:guest@127.0.0.1:{self.port}/"

    def command(self) -> tuple[list[str], dict[str, str]]:
        d = self.directory
        env = {
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(d / "mnesia"),
            "RABBITMQ_LOG_BASE": str(d / "log"),
            "RABBITMQ_PID_FILE": str(d / "pid"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(d / "plugins"),
            "RABBITMQ_CONFIG_FILE": str(d / "rabbitmq"),
            "RABBITMQ_FEATURE_FLAGS_FILE": str(d / "feature_flags"),
            "HOME": str(d),  # the Erlang cookie
        }
        return [RABBIT], env


class MariaServer(Server):
    """``mariadbd`` on a data directory ``mariadb-install-db`` made, without grant
    tables (anyone is root: it listens on loopback for one test only)."""

    def __init__(self, directory: Path) -> None:
        if shutil.which("mariadbd") is None or shutil.which("mariadb-install-db") is None:
            pytest.skip("mariadbd is not installed")
        super().__init__(directory, free_port())
        self.data = directory / "data"
        directory.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["mariadb-install-db", "--no-defaults", f"--datadir={self.data}", "--user=root",
             "--auth-root-authentication-method=normal", "--skip-test-db"],
            check=True, capture_output=True, timeout=300,
        )  # fmt: skip

    def url(self, database: str) -> str:
        return f"mysql+pymysql://root@127.0.0.1:{self.port}/{database}"

    def command(self) -> tuple[list[str], dict[str, str]]:
        d = self.directory
        return [
            "mariadbd", "--no-defaults", f"--datadir={self.data}", f"--port={self.port}",
            "--bind-address=127.0.0.1", f"--socket={d / 'mysqld.sock'}", "--user=root",
            f"--pid-file={d / 'mysqld.pid'}", "--skip-grant-tables", "--skip-name-resolve",
            "--innodb-buffer-pool-size=32M", "--innodb-log-file-size=16M",
            "--innodb-flush-log-at-trx-commit=2", "--max-connections=500",
        ], {}  # fmt: skip

    def create_database(self, name: str) -> str:
        import sqlalchemy as sa

        engine = sa.create_engine(self.url(""), isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.execute(sa.text(f"CREATE DATABASE {name}"))
        finally:
            engine.dispose()
        return self.url(name)
