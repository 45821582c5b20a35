"""Configuration: one ``tinystack.conf`` with a section per service (oslo.config).

Options shared by every service live here; a service registers its own group
through :func:`register_service_opts` plus whatever extra options it needs.
Nothing is read at import time: callers build a :class:`cfg.ConfigOpts` with
:func:`make_conf` and pass it down explicitly.
"""

from __future__ import annotations

import os
from pathlib import Path

from oslo_config import cfg

#: what server-side fetches of user-given URLs never reach by default: loopback,
#: unspecified, link-local (``common/outbound.py``)
OUTBOUND_DENIED = ["127.0.0.0/8", "::1/128", "0.0.0.0/8", "::/128", "169.254.0.0/16", "fe80::/10"]

DEFAULT_OPTS = [
    cfg.StrOpt(
        "state_dir",
        default=os.environ.get("TINYSTACK_STATE_DIR", "~/.local/share/tinystack"),
        help="Directory holding databases, keys, images and runtime files.",
    ),
    cfg.StrOpt("bind_host", default="127.0.0.1", help="Address the API servers listen on."),
    cfg.StrOpt(
        "public_host",
        default="",
        help="Host name or address used in catalog URLs (defaults to bind_host).",
    ),
    cfg.StrOpt("region", default="RegionOne", help="Region name used in the catalog."),
    cfg.StrOpt(
        "transport_url",
        default="inproc://",
        help="RPC transport: inproc:// (embedded) or rabbit://user:pass@host:5672/.",
    ),
    cfg.ListOpt(
        "enabled_services",
        default=[],
        help="Services run by `tinystack up` (empty: every installed service).",
    ),
    cfg.IntOpt("api_threads", default=64, help="Worker threads for sync API handlers."),
    cfg.BoolOpt(
        "access_log",
        default=True,
        help="Log one line per API request (service, method, path, status, duration, "
        "request id, project) at INFO on the logger tinystack.access.",
    ),
    cfg.IntOpt(
        "max_request_body_size",
        default=114688,
        min=0,
        help="Largest request body (bytes) a JSON API accepts; larger ones get a 413. "
        "Image data and object uploads stream and are exempt. 0: no limit.",
    ),
    cfg.StrOpt(
        "tls_cert_file",
        default="",
        help="PEM certificate (and chain) every API listener serves over TLS; with it the "
        "catalog and clouds.yaml use https.",
    ),
    cfg.StrOpt("tls_key_file", default="", secret=True, help="PEM private key of tls_cert_file."),
    cfg.StrOpt(
        "tls_ca_file",
        default="",
        help="CA bundle clients (clouds.yaml's cacert, service-to-service calls) trust for "
        "the APIs (defaults to tls_cert_file, for a self-signed certificate).",
    ),
    cfg.ListOpt(
        "outbound_allowed_networks",
        default=[],
        help="CIDRs server-side fetches of user-given URLs (image web-download) may reach; "
        "empty: any address not denied.",
    ),
    cfg.ListOpt(
        "outbound_denied_networks",
        default=OUTBOUND_DENIED,
        help="CIDRs such fetches never reach unless allowed explicitly (loopback, "
        "unspecified and link-local by default: the host's own services, cloud metadata).",
    ),
    cfg.FloatOpt(
        "gil_switch_interval",
        default=0.0005,
        min=0.0001,
        help="Seconds a thread may hold Python's GIL while others wait for it "
        "(sys.setswitchinterval). Python's 0.005 makes the threads of I/O-bound requests "
        "queue behind each other; 0.0005 raised small-object GETs by ~40 % under load.",
    ),
    cfg.IntOpt(
        "client_socket_timeout",
        default=900,
        min=1,
        help="Seconds an idle keep-alive connection to an API stays open (upstream's "
        "client_socket_timeout). It must outlast clients' polling intervals: with "
        "uvicorn's 5 s, a CLI polling every 5 s raced the close and got 'connection reset'.",
    ),
    cfg.StrOpt(
        "auth_url",
        default="",
        help="Identity v3 URL, for services running without identity in their process "
        "(defaults to the identity port on public_host).",
    ),
]

TOKEN_OPTS = [
    cfg.IntOpt("expiration", default=3600, help="Token lifetime in seconds."),
    cfg.StrOpt(
        "key_repository",
        default="",
        help="Fernet key repository (defaults to <state_dir>/fernet-keys).",
    ),
    cfg.IntOpt("max_active_keys", default=3, min=2, help="Keys kept by rotation."),
    cfg.IntOpt(
        "allow_expired_window",
        default=172800,
        help="Seconds an expired token may still be fetched with allow_expired.",
    ),
]

#: oslo.messaging's notification options, read by ``common/notifier.py``
NOTIFICATION_OPTS = [
    cfg.StrOpt(
        "driver",
        default="messagingv2",
        choices=["messagingv2", "noop"],
        help="messagingv2: services publish notifications on the RPC transport; noop: none.",
    ),
    cfg.ListOpt("topics", default=["notifications"], help="Topics notifications go to."),
]


def register_common_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(DEFAULT_OPTS)
    conf.register_opts(TOKEN_OPTS, group="token")
    conf.register_opts(NOTIFICATION_OPTS, group="oslo_messaging_notifications")


def register_service_opts(conf: cfg.ConfigOpts, service: str, default_port: int) -> None:
    """Register the options every service has: its port and its database."""
    opts = [
        cfg.PortOpt("port", default=default_port, help=f"Port of the {service} API."),
        cfg.StrOpt(
            "connection",
            default="",
            secret=True,
            help=f"SQLAlchemy URL of the {service} database "
            f"(defaults to SQLite in the state directory).",
        ),
    ]
    conf.register_opts(opts, group=service)


def make_conf(args: list[str] | None = None, config_file: str | None = None) -> cfg.ConfigOpts:
    conf = cfg.ConfigOpts()
    register_common_opts(conf)
    files = [config_file] if config_file else []
    conf(args or [], project="tinystack", default_config_files=files, validate_default_values=True)
    return conf


def state_dir(conf: cfg.ConfigOpts) -> Path:
    path = Path(os.path.expanduser(conf.state_dir))
    path.mkdir(parents=True, exist_ok=True)
    return path


def key_repository(conf: cfg.ConfigOpts) -> Path:
    if conf.token.key_repository:
        return Path(os.path.expanduser(conf.token.key_repository))
    return state_dir(conf) / "fernet-keys"


def public_host(conf: cfg.ConfigOpts) -> str:
    host: str = conf.public_host or conf.bind_host
    if host in ("0.0.0.0", "::"):
        host = "127.0.0.1"
    return host


def api_scheme(conf: cfg.ConfigOpts) -> str:
    """``https`` when the API listeners serve TLS, else ``http``."""
    return "https" if conf.tls_cert_file else "http"


def tls_ca_file(conf: cfg.ConfigOpts) -> str:
    """The CA bundle that verifies the APIs' certificate ("" without TLS)."""
    return str(conf.tls_ca_file or conf.tls_cert_file or "")


def database_url(conf: cfg.ConfigOpts, service: str) -> str:
    url: str = getattr(conf, service).connection
    if url:
        return url
    return f"sqlite:///{state_dir(conf) / (service + '.sqlite')}"
