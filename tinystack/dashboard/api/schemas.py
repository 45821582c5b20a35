"""Request bodies of the Skyline API routes (its schemas' names and fields)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Credential(BaseModel):
    model_config = ConfigDict(extra="forbid")

    region: str | None = None
    domain: str | None = None
    username: str = Field(min_length=1)
    password: str


class PoliciesRules(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rules: list[str]
    target: dict[str, Any] | None = None


class SwitchProject(BaseModel):
    """The console posts the project (and its domain) it switches to; the path names it."""

    model_config = ConfigDict(extra="ignore")

    project_id: str | None = None
    project_domain_id: str | None = None
