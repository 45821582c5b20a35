"""Object storage policy. Swift's keystoneauth has no policy file: it grants an account to
its project's operator roles (admin, member) and every account to ``ResellerAdmin``. Those
defaults are rules here, so a deployment changes them the way it changes any service's."""

from __future__ import annotations

from oslo_policy import policy

from tinystack.object_store.policies import base


def list_rules() -> list[policy.RuleDefault]:
    return list(base.RULES)
