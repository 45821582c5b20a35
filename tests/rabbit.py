"""A RabbitMQ virtual host of a test's own (clouds in several processes share a bus)."""

from __future__ import annotations

import shutil
import subprocess
import threading

from tests.common.test_rpc_rabbit import rabbit_listening


def rabbit_vhost(name: str) -> str | None:
    """A RabbitMQ virtual host named ``name``; None when that cannot be made here."""
    if not rabbit_listening() or shutil.which("rabbitmqctl") is None:
        return None
    for cmd in (
        ["rabbitmqctl", "add_vhost", name],
        ["rabbitmqctl", "set_permissions", "-p", name, "guest", ".*", ".*", ".*"],
    ):
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        if proc.returncode != 0:
            return None
    return f"rabbit://guest:guest@127.0.0.1:5672/{name}"


def delete_vhost_later(vhost: str) -> None:
    """Delete ``vhost`` in the background: rabbitmqctl takes seconds (the thread only
    waits for the command, which outlives the test process if need be)."""
    threading.Thread(target=_delete_vhost, args=(vhost,), daemon=True).start()


def _delete_vhost(vhost: str) -> None:
    subprocess.run(["rabbitmqctl", "delete_vhost", vhost], capture_output=True, timeout=60)
