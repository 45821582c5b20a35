"""Dependencies and rendering helpers shared by the identity API modules."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Annotated, Any, ClassVar, TypeVar

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr, model_validator
from starlette.requests import Request

from tinystack.common.auth.context import RequestContext
from tinystack.common.exceptions import ValidationError
from tinystack.identity.core.state import IdentityState

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])
Name = Annotated[StrictStr, Field(min_length=1, max_length=255)]
#: Keystone limits project and domain names to 64 characters.
ShortName = Annotated[StrictStr, Field(min_length=1, max_length=64)]
#: a reference to an object by id (the id columns hold 64 characters)
Id = Annotated[StrictStr, Field(max_length=64)]
OptionalText = StrictStr | None
Bool = StrictBool


def _reject_nul(value: Any) -> None:
    """PostgreSQL cannot store NUL characters; refuse them anywhere in a body (400)."""
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("NUL characters are not allowed")
    elif isinstance(value, dict):
        for key, item in value.items():
            _reject_nul(key)
            _reject_nul(item)
    elif isinstance(value, list):
        for item in value:
            _reject_nul(item)


class RequestBody(BaseModel):
    """Base of every request body model."""

    #: attributes an update may leave out but not set to null
    NOT_NULL: ClassVar[tuple[str, ...]] = ()

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: Any) -> Any:
        _reject_nul(data)
        if isinstance(data, dict):
            for name in cls.NOT_NULL:
                if name in data and data[name] is None:
                    raise ValueError(f"{name} cannot be null")
        return data


class Strict(RequestBody):
    model_config = ConfigDict(extra="forbid")


class Open(RequestBody):
    """Keystone keeps unknown attributes of users/projects/... as 'extra'."""

    model_config = ConfigDict(extra="allow")

    def fields_and_extra(self, object_id: str | None = None) -> dict[str, Any]:
        """Known fields, plus unknown ones under "extra".

        An "id" or "links" sent back by a client is not an extra attribute; on an update
        (``object_id`` given) a different id is refused, as upstream does.
        """
        data = self.model_dump(exclude_unset=True)
        extra = dict(self.model_extra or {})
        for key in extra:
            data.pop(key, None)
        given_id = extra.pop("id", None)
        if object_id is not None and given_id is not None and given_id != object_id:
            raise ValidationError("Cannot change ID")
        extra.pop("links", None)
        if extra:
            data["extra"] = extra
        return data


def _state(request: Request) -> IdentityState:
    state: IdentityState = request.app.state.identity
    return state


StateDep = Annotated[IdentityState, Depends(_state)]


def _prune(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _prune(v) for k, v in value.items() if v is not None}
    return value


def authorize(ctx: RequestContext, rule: str, target: dict[str, Any] | None = None) -> None:
    """Enforce ``rule`` on ``target``, leaving out attributes that are None.

    oslo.policy renders a None target value as the string "None", which equals the
    rendering of a credential the token does not have: ``domain_id:%(target.domain_id)s``
    would let every project-scoped token through when the target has no domain. A
    missing attribute makes such a check fail, as upstream's targets do.
    """
    ctx.can(rule, _prune(target or {}))


def read_route(router: APIRouter, path: str, **kwargs: Any) -> Callable[[F], F]:
    """Serve GET and HEAD with one handler, as Keystone does.

    Two routes rather than one with two methods, so the OpenAPI schema has one operation
    (GET) with a unique id; HEAD stays out of the schema.
    """

    def register(endpoint: F) -> F:
        router.add_api_route(path, endpoint, methods=["GET"], **kwargs)
        head = {**kwargs, "include_in_schema": False}
        router.add_api_route(path, endpoint, methods=["HEAD"], **head)
        return endpoint

    return register


def domain_target(ctx: RequestContext) -> dict[str, Any]:
    """The target of a list call: the caller's domain when the token is domain-scoped."""
    return {"target": {"domain_id": ctx.domain_id}} if ctx.domain_id else {}


def base_url(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}"


def link(request: Request, path: str) -> dict[str, str]:
    return {"self": f"{base_url(request)}{path}"}


def collection(
    request: Request, key: str, items: Iterable[T], render: Callable[[Request, T], dict[str, Any]]
) -> dict[str, Any]:
    return {
        key: [render(request, item) for item in items],
        "links": {"self": str(request.url), "previous": None, "next": None},
    }
