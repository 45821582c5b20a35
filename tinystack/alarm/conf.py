"""The alarm service's options (``[alarm]``) and their typed form, :class:`Options`."""

from __future__ import annotations

from dataclasses import dataclass

from oslo_config import cfg

from tinystack.common.outbound import AddressFilter

GROUP = "alarm"

OPTS = [
    cfg.FloatOpt(
        "evaluation_interval",
        default=60.0,
        min=0.1,
        help="Seconds between two evaluations of every threshold and composite alarm "
        "(Aodh's [DEFAULT] evaluation_interval).",
    ),
    cfg.BoolOpt("evaluator", default=True, help="Run the threshold/composite evaluator."),
    cfg.BoolOpt(
        "event_alarms",
        default=True,
        help="Run the event listener: event alarms fire on the services' notifications.",
    ),
    cfg.BoolOpt("record_history", default=True, help="Record alarm changes in history."),
    cfg.IntOpt(
        "alarm_max_actions",
        default=-1,
        help="Most actions per state of an alarm; non-positive: no limit.",
    ),
    cfg.IntOpt("user_alarm_quota", default=-1, help="Most alarms of a user (-1: no limit)."),
    cfg.IntOpt("project_alarm_quota", default=-1, help="Most alarms of a project (-1: no limit)."),
    cfg.FloatOpt(
        "rest_notifier_timeout",
        default=10.0,
        min=0.1,
        help="Seconds a webhook (http/https alarm action) may take to answer.",
    ),
    cfg.IntOpt(
        "rest_notifier_max_retries",
        default=0,
        min=0,
        help="Times a webhook that could not be reached is tried again.",
    ),
    cfg.BoolOpt(
        "rest_notifier_ssl_verify",
        default=True,
        help="Verify the certificate of https webhooks (an action's "
        "aodh-alarm-ssl-verify=0 query parameter turns it off for that action).",
    ),
    cfg.IntOpt(
        "additional_ingestion_lag",
        default=0,
        min=0,
        max=86400,
        help="Seconds added to each threshold evaluation window for late measures.",
    ),
    cfg.StrOpt("policy_file", default="", help="A policy.yaml overriding the defaults."),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(OPTS, group=GROUP)


@dataclass(frozen=True, slots=True)
class Options:
    """``[alarm]``, typed; the only reader of ``conf.alarm``."""

    evaluation_interval: float = 60.0
    evaluator: bool = True
    event_alarms: bool = True
    record_history: bool = True
    alarm_max_actions: int = -1
    user_alarm_quota: int = -1
    project_alarm_quota: int = -1
    rest_notifier_timeout: float = 10.0
    rest_notifier_max_retries: int = 0
    rest_notifier_ssl_verify: bool = True
    additional_ingestion_lag: int = 0
    policy_file: str = ""
    #: ``[DEFAULT] outbound_*_networks``: where webhooks may be sent
    outbound: AddressFilter = AddressFilter()

    @classmethod
    def from_conf(cls, conf: cfg.ConfigOpts) -> Options:
        group = conf[GROUP]
        return cls(
            evaluation_interval=float(group.evaluation_interval),
            evaluator=bool(group.evaluator),
            event_alarms=bool(group.event_alarms),
            record_history=bool(group.record_history),
            alarm_max_actions=int(group.alarm_max_actions),
            user_alarm_quota=int(group.user_alarm_quota),
            project_alarm_quota=int(group.project_alarm_quota),
            rest_notifier_timeout=float(group.rest_notifier_timeout),
            rest_notifier_max_retries=int(group.rest_notifier_max_retries),
            rest_notifier_ssl_verify=bool(group.rest_notifier_ssl_verify),
            additional_ingestion_lag=int(group.additional_ingestion_lag),
            policy_file=str(group.policy_file),
            outbound=AddressFilter.from_conf(conf),
        )
