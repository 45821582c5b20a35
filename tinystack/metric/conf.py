"""The metric service's options (``[metric]``) and their typed form, :class:`Options`."""

from __future__ import annotations

from dataclasses import dataclass

from oslo_config import cfg

GROUP = "metric"

OPTS = [
    cfg.ListOpt(
        "default_aggregation_methods",
        default=["mean", "min", "max", "sum", "std", "count"],
        help="Aggregation methods of an archive policy created without any (Gnocchi's "
        "[archive_policy] default_aggregation_methods).",
    ),
    cfg.BoolOpt(
        "notification_agent",
        default=True,
        help="Run the notification agent: resources created, updated and ended from the "
        "services' notifications on the bus.",
    ),
    cfg.StrOpt("policy_file", default="", help="A policy.yaml overriding the defaults."),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(OPTS, group=GROUP)


@dataclass(frozen=True, slots=True)
class Options:
    """``[metric]``, typed; the only reader of ``conf.metric``."""

    default_aggregation_methods: tuple[str, ...] = ("mean", "min", "max", "sum", "std", "count")
    notification_agent: bool = True
    policy_file: str = ""

    @classmethod
    def from_conf(cls, conf: cfg.ConfigOpts) -> Options:
        group = conf[GROUP]
        return cls(
            default_aggregation_methods=tuple(group.default_aggregation_methods),
            notification_agent=bool(group.notification_agent),
            policy_file=str(group.policy_file),
        )
