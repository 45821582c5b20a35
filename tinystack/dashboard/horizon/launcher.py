"""Horizon's configuration from the cloud, and its child process (started and stopped by
the dashboard service)."""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import secrets
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

LOG = logging.getLogger(__name__)


def installed() -> bool:
    """Whether Horizon (``openstack_dashboard``) can be imported here."""
    return importlib.util.find_spec("openstack_dashboard") is not None


@dataclass(frozen=True, slots=True)
class HorizonSetup:
    """What the child needs: where it lives, where it listens, the cloud it talks to."""

    directory: str
    host: str
    port: int
    keystone_url: str
    default_domain: str
    static_root: str
    plugins: tuple[str, ...] = ()
    ca_file: str = ""
    cert_file: str = ""
    key_file: str = ""

    @property
    def url(self) -> str:
        scheme = "https" if self.cert_file else "http"
        return f"{scheme}://{self.host}:{self.port}/"


def secret_key(directory: Path) -> str:
    """Django's SECRET_KEY: made once, kept in ``secret_key`` readable by the owner only."""
    path = directory / "secret_key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(48))
    os.chmod(path, 0o600)
    return path.read_text().strip()


def local_settings(setup: HorizonSetup, key: str) -> str:
    """Horizon's ``local_settings.py`` for this cloud (imported after Horizon's defaults)."""
    values = {
        "DEBUG": False,
        "ALLOWED_HOSTS": ["*"],
        "SECRET_KEY": key,
        "WEBROOT": "/",
        "OPENSTACK_HOST": setup.host,
        "OPENSTACK_KEYSTONE_URL": setup.keystone_url,
        "OPENSTACK_KEYSTONE_DEFAULT_DOMAIN": setup.default_domain,
        "OPENSTACK_KEYSTONE_DEFAULT_ROLE": "member",
        "OPENSTACK_ENDPOINT_TYPE": "publicURL",
        "OPENSTACK_SSL_CACERT": setup.ca_file or None,
        "AVAILABLE_REGIONS": [],
        # one process: a local cache (Horizon's default names a memcached)
        "CACHES": {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}},
        # sessions in files of the state directory: they outlive a restart
        "SESSION_ENGINE": "django.contrib.sessions.backends.file",
        "SESSION_FILE_PATH": str(Path(setup.directory) / "sessions"),
        "SESSION_COOKIE_SECURE": bool(setup.cert_file),
        "CSRF_COOKIE_SECURE": bool(setup.cert_file),
        "STATIC_ROOT": setup.static_root,
        "COMPRESS_ROOT": setup.static_root,
        "COMPRESS_ENABLED": True,
        "COMPRESS_OFFLINE": True,
        # one theme: the offline compression compiles each theme's SCSS
        "AVAILABLE_THEMES": [("default", "Default", "themes/default")],
        "DEFAULT_THEME": "default",
        "LOGGING": {
            "version": 1,
            "disable_existing_loggers": False,
            "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
            "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "plain"}},
            "root": {"handlers": ["stderr"], "level": "WARNING"},
            "loggers": {"django.request": {"level": "ERROR"}, "horizon": {"level": "WARNING"}},
        },
    }
    lines = ['"""Written by tinystack on every start (edits are lost)."""', ""]
    lines += [f"{name} = {value!r}" for name, value in values.items()]
    return "\n".join(lines) + "\n"


def prepare(setup: HorizonSetup) -> Path:
    """Write the child's files: ``local/local_settings.py``, ``server.json``, the key."""
    directory = Path(setup.directory)
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    (directory / "sessions").mkdir(mode=0o700, exist_ok=True)
    package = directory / "local"
    package.mkdir(exist_ok=True)
    (package / "__init__.py").write_text("")
    settings = package / "local_settings.py"
    settings.write_text(local_settings(setup, secret_key(directory)))
    os.chmod(settings, 0o600)  # it holds the secret key
    (directory / "server.json").write_text(json.dumps(asdict(setup)))
    return directory


class HorizonProcess:
    """The child serving Horizon; its output goes to ``<directory>/horizon.log``."""

    def __init__(self, setup: HorizonSetup) -> None:
        self.setup = setup
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def log_path(self) -> Path:
        return Path(self.setup.directory) / "horizon.log"

    def start(self) -> None:
        directory = prepare(self.setup)
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "tinystack.dashboard.horizon.server", str(directory)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        LOG.info("horizon: starting on %s (pid %d)", self.setup.url, self.proc.pid)

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
