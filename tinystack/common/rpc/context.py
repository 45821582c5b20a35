"""The caller's identity as it travels from the API to the workers over RPC (compute's and
volume's ``CallContext``: the transport carries :meth:`CallContext.to_dict`)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from tinystack.common.auth.context import RequestContext
from tinystack.common.rpc.payload import JSON


@dataclass(frozen=True)
class CallContext:
    request_id: str
    user_id: str | None = None
    project_id: str | None = None
    roles: tuple[str, ...] = ()
    #: the user's token, so workers can act on other services as the user (not in repr:
    #: a context in a log line never shows it)
    token: str | None = field(default=None, repr=False)

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles

    def to_dict(self) -> dict[str, JSON]:
        return {
            "request_id": self.request_id,
            "user_id": self.user_id,
            "project_id": self.project_id,
            "roles": list(self.roles),
            "token": self.token,
        }

    @classmethod
    def from_dict(cls, data: dict[str, JSON]) -> CallContext:
        roles = data.get("roles")
        return cls(
            request_id=str(data.get("request_id") or new_request_id()),
            user_id=_text(data.get("user_id")),
            project_id=_text(data.get("project_id")),
            roles=tuple(str(r) for r in roles) if isinstance(roles, list) else (),
            token=_text(data.get("token")),
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


def _text(value: JSON) -> str | None:
    return None if value is None else str(value)


def new_request_id() -> str:
    return "req-" + str(uuid.uuid4())
