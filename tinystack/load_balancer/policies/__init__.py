"""The load balancer policy defaults, with Octavia's rule names."""

from __future__ import annotations

import itertools

from oslo_policy import policy

from tinystack.load_balancer.policies import (
    base,
    healthmonitor,
    l7policy,
    l7rule,
    listener,
    loadbalancer,
    member,
    pool,
    provider,
    quota,
)


def list_rules() -> list[policy.RuleDefault]:
    return list(
        itertools.chain(
            base.rules,
            loadbalancer.rules,
            listener.rules,
            pool.rules,
            member.rules,
            healthmonitor.rules,
            l7policy.rules,
            l7rule.rules,
            quota.rules,
            provider.rules,
        )
    )
