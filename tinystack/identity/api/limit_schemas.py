"""Request bodies of the unified limits API (``/v3/registered_limits``, ``/v3/limits``);
the rest of identity's bodies are in ``schemas.py``."""

from __future__ import annotations

from typing import Annotated, cast

from pydantic import Field, StrictStr, model_validator

from tinystack.identity.api.schemas import Id, Name, RegionId, Strict
from tinystack.identity.services.limits import LimitFields, RegisteredLimitFields

# -- unified limits --------------------------------------------------------------------------

LimitValue = Annotated[int, Field(strict=True, ge=-1, le=0x7FFFFFFF)]
Description = Annotated[StrictStr, Field(max_length=255)] | None


class RegisteredLimitCreate(Strict):
    service_id: Id
    region_id: RegionId | None = None
    resource_name: Name
    default_limit: LimitValue
    description: Description = None

    def attributes(self) -> RegisteredLimitFields:
        return cast(RegisteredLimitFields, self.model_dump(exclude_unset=True))


class RegisteredLimitsBody(Strict):
    registered_limits: list[RegisteredLimitCreate] = Field(min_length=1)


class RegisteredLimitUpdate(Strict):
    NOT_NULL = ("service_id", "resource_name", "default_limit")

    service_id: Id | None = None
    region_id: RegionId | None = None
    resource_name: Name | None = None
    default_limit: LimitValue | None = None
    description: Description = None

    def attributes(self) -> RegisteredLimitFields:
        return cast(RegisteredLimitFields, self.model_dump(exclude_unset=True))


class RegisteredLimitUpdateBody(Strict):
    registered_limit: RegisteredLimitUpdate


class LimitCreate(Strict):
    project_id: Id | None = None
    domain_id: Id | None = None
    service_id: Id
    region_id: RegionId | None = None
    resource_name: Name
    resource_limit: LimitValue
    description: Description = None

    @model_validator(mode="after")
    def _one_target(self) -> LimitCreate:
        if (self.project_id is None) == (self.domain_id is None):
            raise ValueError("a limit names exactly one of project_id and domain_id")
        return self

    def attributes(self) -> LimitFields:
        return cast(LimitFields, self.model_dump(exclude_unset=True))


class LimitsBody(Strict):
    limits: list[LimitCreate] = Field(min_length=1)


class LimitUpdate(Strict):
    NOT_NULL = ("resource_limit",)

    resource_limit: LimitValue | None = None
    description: Description = None

    def attributes(self) -> LimitFields:
        return cast(LimitFields, self.model_dump(exclude_unset=True))


class LimitUpdateBody(Strict):
    limit: LimitUpdate
