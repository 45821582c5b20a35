"""The Horizon child: ``python -m tinystack.dashboard.horizon.server <directory>``.

Sets Horizon up from the files ``launcher.prepare`` wrote (``local/local_settings.py`` is
Horizon's own hook, imported as ``local.local_settings``; each plugin's ``enabled/`` joins
``openstack_dashboard.local.enabled``), collects and compresses the static files when
Horizon or a plugin changed, then serves Django (a thread pool, through a2wsgi) and the
static files with uvicorn.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.metadata
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

from tinystack.dashboard.horizon.launcher import HorizonSetup


def _load(directory: Path) -> HorizonSetup:
    raw: dict[str, Any] = json.loads((directory / "server.json").read_text())
    raw["plugins"] = tuple(raw.get("plugins", ()))
    return HorizonSetup(**raw)


def _install_plugins(directory: Path, plugins: tuple[str, ...]) -> None:
    """Make ``local.local_settings`` and every plugin importable, and each plugin's
    ``enabled/`` files part of ``openstack_dashboard.local.enabled``."""
    sys.path[:0] = [str(directory), *plugins]
    import openstack_dashboard.local.enabled as local_enabled

    for plugin in plugins:
        enabled = Path(plugin) / "enabled"
        if enabled.is_dir():
            local_enabled.__path__.append(str(enabled))


def _fingerprint(plugins: tuple[str, ...]) -> str:
    """Horizon's version and every plugin file's path and mtime: what the static files
    are built from."""
    digest = hashlib.sha256(importlib.metadata.version("horizon").encode())
    for plugin in plugins:
        for path in sorted(Path(plugin).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(f"{path}:{path.stat().st_mtime_ns}".encode())
    return digest.hexdigest()


def _build_static(static_root: Path, plugins: tuple[str, ...]) -> None:
    """collectstatic and compress (offline), once per fingerprint; a lock serialises
    the children sharing a static root."""
    from django.core.management import call_command

    static_root.mkdir(parents=True, exist_ok=True)
    stamp = static_root / ".tinystack-built"
    wanted = _fingerprint(plugins)
    with open(static_root.with_name(static_root.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if stamp.exists() and stamp.read_text() == wanted:
            return
        print("horizon: collecting and compressing static files", flush=True)
        call_command("collectstatic", interactive=False, verbosity=0, clear=True)
        call_command("compress", force=True, verbosity=0)
        stamp.write_text(wanted)


def _exit_with_parent() -> None:
    """The cloud that started this child is gone (killed, not stopped): stop too."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(2)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def main(directory: Path) -> None:
    _exit_with_parent()
    setup = _load(directory)
    _install_plugins(directory, setup.plugins)
    os.environ["DJANGO_SETTINGS_MODULE"] = "openstack_dashboard.settings"
    import django

    django.setup()
    _build_static(Path(setup.static_root), setup.plugins)

    import uvicorn
    from a2wsgi import WSGIMiddleware
    from django.conf import settings
    from django.core.wsgi import get_wsgi_application
    from starlette.applications import Starlette
    from starlette.routing import Mount
    from starlette.staticfiles import StaticFiles

    app = Starlette(
        routes=[
            Mount(settings.STATIC_URL.rstrip("/"), StaticFiles(directory=setup.static_root)),
            Mount("/", WSGIMiddleware(get_wsgi_application(), workers=16)),  # type: ignore[arg-type]
        ]
    )
    print(f"horizon: serving {setup.url}", flush=True)
    uvicorn.run(
        app,
        host=setup.host,
        port=setup.port,
        log_level="info",
        lifespan="off",
        ssl_certfile=setup.cert_file or None,
        ssl_keyfile=setup.key_file or None,
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]))
