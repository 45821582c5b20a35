"""The caller's identity as it travels from the API to the workers over RPC."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from tinystack.common.auth.context import RequestContext


@dataclass(frozen=True)
class CallContext:
    request_id: str
    user_id: str | None = None
    project_id: str | None = None
    roles: tuple[str, ...] = ()
    #: the user's token, so workers can act on other services as the user
    token: str | None = None

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles

    def to_dict(self) -> dict[str, Any]:
        return {
            "request_id": self.request_id,
            "user_id": self.user_id,
            "project_id": self.project_id,
            "roles": list(self.roles),
            "token": self.token,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CallContext:
        return cls(
            request_id=str(data.get("request_id") or new_request_id()),
            user_id=data.get("user_id"),
            project_id=data.get("project_id"),
            roles=tuple(data.get("roles") or ()),
            token=data.get("token"),
        )

    @classmethod
    def from_request(cls, ctx: RequestContext) -> CallContext:
        return cls(
            request_id=ctx.request_id,
            user_id=ctx.user_id,
            project_id=ctx.project_id,
            roles=tuple(ctx.roles),
            token=ctx.token,
        )

    @classmethod
    def internal(cls) -> CallContext:
        """A context for work nobody asked for (periodic tasks, start-up recovery)."""
        return cls(request_id=new_request_id(), roles=("admin", "service"))


def new_request_id() -> str:
    return "req-" + str(uuid.uuid4())
