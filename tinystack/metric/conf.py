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
    cfg.IntOpt(
        "workers",
        default=1,
        min=0,
        help="Metric worker threads of each metric service process (Gnocchi's [metricd] "
        "workers): they aggregate the measures the API queued. 0: this process only "
        "queues them (another process's workers, or a read's refresh, aggregate them).",
    ),
    cfg.FloatOpt(
        "processing_delay",
        default=0.5,
        min=0.01,
        help="Seconds a metric worker sleeps when nothing is queued (Gnocchi's [metricd] "
        "metric_processing_delay); measures posted to the same process wake it at once.",
    ),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(OPTS, group=GROUP)


@dataclass(frozen=True, slots=True)
class Options:
    """``[metric]``, typed; the only reader of ``conf.metric``."""

    default_aggregation_methods: tuple[str, ...] = ("mean", "min", "max", "sum", "std", "count")
    notification_agent: bool = True
    policy_file: str = ""
    workers: int = 1
    processing_delay: float = 0.5

    @classmethod
    def from_conf(cls, conf: cfg.ConfigOpts) -> Options:
        group = conf[GROUP]
        return cls(
            default_aggregation_methods=tuple(group.default_aggregation_methods),
            notification_agent=bool(group.notification_agent),
            policy_file=str(group.policy_file),
            workers=int(group.workers),
            processing_delay=float(group.processing_delay),
        )
