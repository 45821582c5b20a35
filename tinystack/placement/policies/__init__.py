"""Placement's policy defaults, with upstream's rule names (admin or service by default)."""

from __future__ import annotations

import itertools

from oslo_policy import policy

from tinystack.placement.policies import (
    aggregate,
    allocation,
    allocation_candidate,
    base,
    inventory,
    reshaper,
    resource_class,
    resource_provider,
    trait,
    usage,
)


def list_rules() -> list[policy.RuleDefault]:
    return list(
        itertools.chain(
            base.rules,
            resource_provider.rules,
            resource_class.rules,
            inventory.rules,
            aggregate.rules,
            usage.rules,
            trait.rules,
            allocation.rules,
            allocation_candidate.rules,
            reshaper.rules,
        )
    )
