"""Identity policy defaults, one module per resource, with upstream's rule names."""

from __future__ import annotations

from itertools import chain

from oslo_policy import policy

from tinystack.identity.policies import (
    access_rules,
    application_credentials,
    catalog,
    credentials,
    domain_configs,
    domains,
    endpoint_filters,
    federation,
    grants,
    groups,
    limits,
    oauth1,
    policies,
    projects,
    roles,
    tokens,
    trusts,
    users,
)

MODULES = (
    access_rules,
    application_credentials,
    catalog,
    credentials,
    domain_configs,
    domains,
    endpoint_filters,
    federation,
    grants,
    groups,
    limits,
    oauth1,
    policies,
    projects,
    roles,
    tokens,
    trusts,
    users,
)


def list_rules() -> list[policy.RuleDefault]:
    return list(chain.from_iterable(m.RULES for m in MODULES))
