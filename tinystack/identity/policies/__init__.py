"""Identity policy defaults, one module per resource, with upstream's rule names."""

from __future__ import annotations

from itertools import chain

from oslo_policy import policy

from tinystack.identity.policies import (
    application_credentials,
    catalog,
    domain_configs,
    domains,
    federation,
    grants,
    groups,
    limits,
    projects,
    roles,
    tokens,
    users,
)

MODULES = (
    application_credentials,
    catalog,
    domain_configs,
    domains,
    federation,
    grants,
    groups,
    limits,
    projects,
    roles,
    tokens,
    users,
)


def list_rules() -> list[policy.RuleDefault]:
    return list(chain.from_iterable(m.RULES for m in MODULES))
