"""Serve the image API under uvicorn for tests that need a real server process.

``python -m tests.image.serve STATE_DIR INFO_FILE``: binds an ephemeral port on
127.0.0.1 and writes ``{"port": ..., "token": ..., "admin_token": ...}`` to
INFO_FILE once the server is ready.
"""

from __future__ import annotations

import asyncio
import json
import socket
import sys
from pathlib import Path

import uvicorn

from tests.support import make_runtime, make_token
from tinystack.image.service import SERVICE


def main() -> None:
    state_dir, info_file = Path(sys.argv[1]), Path(sys.argv[2])
    runtime = make_runtime(state_dir, SERVICE)
    app = SERVICE.create_app(runtime)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(
        app, log_level="warning", access_log=False, lifespan="off", http="httptools"
    )
    server = uvicorn.Server(config)
    info = {
        "port": sock.getsockname()[1],
        "token": make_token(runtime, roles=["member"], project_id="project-a"),
        "admin_token": make_token(runtime, roles=["admin"], project_id="admin-project"),
    }

    async def run() -> None:
        task = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started:
            await asyncio.sleep(0.01)
        tmp = info_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(info))
        tmp.replace(info_file)
        await task

    asyncio.run(run())


if __name__ == "__main__":
    main()
