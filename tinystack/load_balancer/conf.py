"""The load balancer service's options (``[load_balancer]``) and their typed form."""

from __future__ import annotations

from dataclasses import dataclass

from oslo_config import cfg

GROUP = "load_balancer"
PROVIDERS = ("haproxy", "noop_driver")

OPTS = [
    cfg.StrOpt("policy_file", default="", help="A policy.yaml overriding the defaults."),
    cfg.StrOpt("host", default="", help="This host's name (the network host holding VIP ports)."),
    cfg.StrOpt(
        "dataplane",
        default="auto",
        choices=["auto", "linux", "none"],
        help="Run HAProxy in namespaces (linux), never (none), or when root (auto). Without "
        "a data plane only the noop_driver provider is enabled.",
    ),
    cfg.StrOpt(
        "default_provider",
        default="",
        help="Provider of a load balancer that names "
        "none (empty: haproxy with a data plane, else noop_driver).",
    ),
    cfg.StrOpt(
        "namespace_prefix", default="qlbaas-", help="Prefix of the namespace of each load balancer."
    ),
    cfg.StrOpt("haproxy_binary", default="haproxy", help="The HAProxy executable."),
    cfg.FloatOpt(
        "health_interval",
        default=1.0,
        min=0.2,
        help="Seconds between reads of each HAProxy's stats socket.",
    ),
    cfg.IntOpt("default_load_balancer_quota", default=-1, help="-1: unlimited."),
    cfg.IntOpt("default_listener_quota", default=-1, help="-1: unlimited."),
    cfg.IntOpt("default_pool_quota", default=-1, help="-1: unlimited."),
    cfg.IntOpt("default_member_quota", default=-1, help="-1: unlimited."),
    cfg.IntOpt("default_health_monitor_quota", default=-1, help="-1: unlimited."),
    cfg.IntOpt("default_l7policy_quota", default=-1, help="-1: unlimited."),
    cfg.IntOpt("default_l7rule_quota", default=-1, help="-1: unlimited."),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(OPTS, group=GROUP)


@dataclass(frozen=True, slots=True)
class Options:
    """``[load_balancer]``, typed; the only reader of ``conf.load_balancer``."""

    policy_file: str = ""
    host: str = ""
    dataplane: str = "auto"
    default_provider: str = ""
    namespace_prefix: str = "qlbaas-"
    haproxy_binary: str = "haproxy"
    health_interval: float = 1.0
    quotas: tuple[tuple[str, int], ...] = ()

    @classmethod
    def from_conf(cls, conf: cfg.ConfigOpts) -> Options:
        group = conf.load_balancer
        quotas = tuple(
            (name, int(getattr(group, f"default_{name}_quota")))
            for name in (
                "load_balancer",
                "listener",
                "pool",
                "member",
                "health_monitor",
                "l7policy",
                "l7rule",
            )
        )
        return cls(
            policy_file=str(group.policy_file),
            host=str(group.host),
            dataplane=str(group.dataplane),
            default_provider=str(group.default_provider),
            namespace_prefix=str(group.namespace_prefix),
            haproxy_binary=str(group.haproxy_binary),
            health_interval=float(group.health_interval),
            quotas=quotas,
        )
