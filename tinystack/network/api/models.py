"""Request bodies shared by the API modules: strict models with upstream attribute names."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from tinystack.network.exception import invalid_input

#: integers the databases can store
Int = Annotated[int, Field(ge=-(2**31), le=2**31 - 1)]
Name = Field(default=None, max_length=255)
Description = Field(default=None, max_length=255)


class Body(BaseModel):
    """Unknown attributes are rejected, as upstream does."""

    model_config = ConfigDict(extra="forbid", populate_by_name=False)


class Owned(Body):
    project_id: str | None = Field(default=None, max_length=255)
    tenant_id: str | None = Field(default=None, max_length=255)


def owner(values: dict[str, Any]) -> dict[str, Any]:
    """Fold ``tenant_id`` into ``project_id`` (they must agree when both are given)."""
    tenant = values.pop("tenant_id", None)
    if tenant is not None:
        if values.get("project_id") not in (None, tenant):
            raise invalid_input("'project_id' and 'tenant_id' do not match")
        values["project_id"] = tenant
    return values
