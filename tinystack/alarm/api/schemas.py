"""Request bodies of the alarm API (documented for the OpenAPI document; the services
check each field as Aodh does, so the types here are loose)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class AlarmBody(BaseModel):
    """An alarm as POSTed or PUT: its type and the ``<type>_rule`` of that type."""

    model_config = ConfigDict(extra="allow")

    name: Any = None
    type: Any = None
    description: Any = None
    enabled: Any = None
    state: Any = None
    severity: Any = None
    ok_actions: Any = None
    alarm_actions: Any = None
    insufficient_data_actions: Any = None
    repeat_actions: Any = None
    time_constraints: Any = None
    project_id: Any = None
    user_id: Any = None
    gnocchi_resources_threshold_rule: Any = None
    gnocchi_aggregation_by_metrics_threshold_rule: Any = None
    event_rule: Any = None
    composite_rule: Any = None


class ComplexQuery(BaseModel):
    """``filter`` and ``orderby`` are JSON documents in strings, as Aodh takes them."""

    filter: Any = None
    orderby: Any = None
    limit: Any = None


class QuotasBody(BaseModel):
    """A project's quotas as POSTed: ``{"project_id": ..., "quotas": [{"resource":
    "alarms", "limit": N}]}`` (other attributes are refused by the service, as WSME
    refuses them)."""

    model_config = ConfigDict(extra="allow")

    project_id: Any = None
    quotas: Any = None
