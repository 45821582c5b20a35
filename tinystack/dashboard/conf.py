"""The dashboard's options (``[dashboard]``) and their typed form, :class:`Options`.

``port`` (default 8000) is registered for every service by the deployment; it is read here
too, so that the dashboard knows where it is served.
"""

from __future__ import annotations

from dataclasses import dataclass

from oslo_config import cfg

GROUP = "dashboard"

OPTS = [
    cfg.IntOpt(
        "session_seconds",
        default=3600,
        min=60,
        help="How long a console session (its signed cookie) lasts without being renewed.",
    ),
    cfg.IntOpt(
        "session_renew_seconds",
        default=1800,
        min=0,
        help="A session with less than this left is renewed by the next request.",
    ),
    cfg.StrOpt("default_domain", default="Default", help="The domain a login without one uses."),
    cfg.StrOpt(
        "console_path",
        default="",
        help="Directory of the console's static bundles (default: the installed "
        "skyline-console package's).",
    ),
    cfg.StrOpt("policy_file", default="", help="A policy.yaml overriding the defaults."),
    cfg.PortOpt(
        "horizon_port",
        default=8001,
        help="Port of upstream Horizon, served when it is installed (`pip install "
        "tinystack[horizon]`); 0 turns it off.",
    ),
    cfg.ListOpt(
        "horizon_plugins",
        default=[],
        help="Horizon plugins: directories holding a plugin's Python packages and its "
        "`enabled/` files (as the Horizon docs' openstack_dashboard/local/enabled/).",
    ),
    cfg.StrOpt(
        "horizon_static_root",
        default="",
        help="Where Horizon's collected and compressed static files go (default: "
        "<state_dir>/horizon/static); rebuilt when Horizon or the plugins change.",
    ),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(OPTS, group=GROUP)


@dataclass(frozen=True, slots=True)
class Options:
    """``[dashboard]``, typed; the only reader of ``conf.dashboard``."""

    port: int = 8000
    region: str = "RegionOne"
    session_seconds: int = 3600
    session_renew_seconds: int = 1800
    default_domain: str = "Default"
    console_path: str = ""
    policy_file: str = ""
    horizon_port: int = 8001
    horizon_plugins: tuple[str, ...] = ()
    horizon_static_root: str = ""

    @classmethod
    def from_conf(cls, conf: cfg.ConfigOpts) -> Options:
        group = conf.dashboard
        return cls(
            port=int(group.port),
            region=str(conf.region),
            session_seconds=int(group.session_seconds),
            session_renew_seconds=int(group.session_renew_seconds),
            default_domain=str(group.default_domain),
            console_path=str(group.console_path),
            policy_file=str(group.policy_file),
            horizon_port=int(group.horizon_port),
            horizon_plugins=tuple(str(p) for p in group.horizon_plugins),
            horizon_static_root=str(group.horizon_static_root),
        )
