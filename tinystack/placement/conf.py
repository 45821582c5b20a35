"""Placement's options (``[placement]``) and their typed form, :class:`Options`."""

from __future__ import annotations

from dataclasses import dataclass

from oslo_config import cfg

GROUP = "placement"
_NO_ID = "00000000-0000-0000-0000-000000000000"

OPTS = [
    cfg.StrOpt(
        "incomplete_consumer_project_id",
        default=_NO_ID,
        help="Project recorded for allocations written before microversion 1.8 (no project).",
    ),
    cfg.StrOpt(
        "incomplete_consumer_user_id",
        default=_NO_ID,
        help="User recorded for allocations written before microversion 1.8 (no user).",
    ),
    cfg.IntOpt(
        "allocation_conflict_retry_count",
        default=10,
        min=1,
        help="How many times a write that lost a generation race is retried before a 409.",
    ),
    cfg.IntOpt(
        "max_allocation_candidates",
        default=-1,
        help="Most allocation candidates computed for one request (-1: no limit).",
    ),
    cfg.BoolOpt(
        "randomize_allocation_candidates",
        default=False,
        help="Shuffle allocation candidates (and sample randomly when a limit is given).",
    ),
    cfg.StrOpt("policy_file", default="", help="A policy.yaml overriding the defaults."),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(OPTS, group=GROUP)


@dataclass(frozen=True, slots=True)
class Options:
    """``[placement]``, typed; the only reader of ``conf.placement``."""

    incomplete_project_id: str = _NO_ID
    incomplete_user_id: str = _NO_ID
    conflict_retries: int = 10
    max_candidates: int = -1
    randomize_candidates: bool = False
    policy_file: str = ""

    @classmethod
    def from_conf(cls, conf: cfg.ConfigOpts) -> Options:
        group = conf.placement
        return cls(
            incomplete_project_id=str(group.incomplete_consumer_project_id),
            incomplete_user_id=str(group.incomplete_consumer_user_id),
            conflict_retries=int(group.allocation_conflict_retry_count),
            max_candidates=int(group.max_allocation_candidates),
            randomize_candidates=bool(group.randomize_allocation_candidates),
            policy_file=str(group.policy_file),
        )
