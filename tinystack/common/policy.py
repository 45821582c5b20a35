"""Policy enforcement through oslo.policy, with each service's defaults in code.

Rules keep upstream's names (``identity:create_project``, ...) and default
roles admin/member/reader, so an operator's ``policy.yaml`` carries over. New
defaults and scope checks are on, as in current upstream releases.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from oslo_config import cfg
from oslo_policy import opts as policy_opts
from oslo_policy import policy as oslo_policy

from tinystack.common.exceptions import PolicyNotAuthorized

if TYPE_CHECKING:
    from tinystack.common.auth.context import RequestContext


class Policy:
    def __init__(
        self,
        conf: cfg.ConfigOpts,
        rules: list[oslo_policy.RuleDefault],
        policy_file: str | None = None,
    ) -> None:
        policy_opts.set_defaults(conf, enforce_new_defaults=True, enforce_scope=True)
        self.enforcer = oslo_policy.Enforcer(conf, policy_file=policy_file or "policy.yaml")
        self.enforcer.register_defaults(rules)
        self.enforcer.load_rules()
        if not policy_file:
            # Defaults only: nothing to re-read from disk on every check.
            self.enforcer.use_conf = False

    def authorize(self, rule: str, target: dict[str, Any], ctx: RequestContext) -> None:
        if not self.check(rule, target, ctx):
            raise PolicyNotAuthorized(
                f"You are not authorized to perform the requested action: {rule}."
            )

    def check(self, rule: str, target: dict[str, Any], ctx: RequestContext) -> bool:
        return self.check_all([rule], target, ctx)[0]

    def check_all(
        self, rules: list[str], target: dict[str, Any], ctx: RequestContext
    ) -> list[bool]:
        """Each rule on one target (flattened once, credentials built once)."""
        # Missing values must not match: oslo.policy would compare them as the string "None".
        flat = {key: value for key, value in flatten(target).items() if value is not None}
        creds = ctx.credentials()
        results = []
        for rule in rules:
            try:
                results.append(bool(self.enforcer.enforce(rule, flat, creds, do_raise=False)))
            except oslo_policy.InvalidScope:
                results.append(False)
        return results

    def rule_names(self) -> set[str]:
        return set(self.enforcer.registered_rules)


def flatten(target: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested target dicts as dotted keys too, so rules can say ``%(target.project.id)s``."""
    out: dict[str, Any] = {}
    for key, value in target.items():
        name = f"{prefix}{key}"
        out[name] = value
        if isinstance(value, dict):
            out.update(flatten(value, name + "."))
    return out
