"""The request context: who is calling, in which scope, with which roles."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tinystack.common.auth.tokens import TokenPayload

if TYPE_CHECKING:
    from tinystack.common.policy import Policy


@dataclass
class RequestContext:
    request_id: str
    token: str | None = field(default=None, repr=False)  # never in a log line
    payload: TokenPayload | None = None
    policy: Policy | None = field(default=None, repr=False)

    @property
    def authenticated(self) -> bool:
        return self.payload is not None

    @property
    def user_id(self) -> str | None:
        return self.payload.user_id if self.payload else None

    @property
    def project_id(self) -> str | None:
        return self.payload.project_id if self.payload else None

    @property
    def domain_id(self) -> str | None:
        return self.payload.domain_id if self.payload else None

    @property
    def system_scope(self) -> str | None:
        return "all" if self.payload and self.payload.system else None

    @property
    def roles(self) -> list[str]:
        return [r.lower() for r in self.payload.role_names] if self.payload else []

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles

    def credentials(self) -> dict[str, Any]:
        """The credentials dict oslo.policy checks rules against."""
        return {
            "user_id": self.user_id,
            "project_id": self.project_id,
            "project_domain_id": self.payload.project_domain_id if self.payload else None,
            "domain_id": self.domain_id,
            "system_scope": self.system_scope,
            "system": self.system_scope,
            "roles": self.roles,
            "is_admin_project": True,
        }

    def can(self, rule: str, target: dict[str, Any] | None = None) -> None:
        """Authorize ``rule`` on ``target``; raise PolicyNotAuthorized when denied."""
        if self.policy is None:
            raise RuntimeError("request context has no policy enforcer")
        self.policy.authorize(rule, target or {}, self)

    def allowed(self, rule: str, target: dict[str, Any] | None = None) -> bool:
        if self.policy is None:
            raise RuntimeError("request context has no policy enforcer")
        return self.policy.check(rule, target or {}, self)
