"""Rules of ``/v2/alarms`` and ``/v2/query/alarms`` (targets: the alarm's
``project_id``, or the caller's project for a list or a new alarm)."""

from __future__ import annotations

from tinystack.alarm.policies.base import ADMIN, MEMBER_OR_ADMIN, READER_OR_ADMIN, documented

GET = "telemetry:get_alarm"
LIST = "telemetry:get_alarms"
LIST_ALL = "telemetry:get_alarms:all_projects"
QUERY = "telemetry:query_alarm"
CREATE = "telemetry:create_alarm"
UPDATE = "telemetry:change_alarm"
DELETE = "telemetry:delete_alarm"
GET_STATE = "telemetry:get_alarm_state"
UPDATE_STATE = "telemetry:change_alarm_state"
HISTORY = "telemetry:alarm_history"
QUERY_HISTORY = "telemetry:query_alarm_history"
_ONE = "/v2/alarms/{alarm_id}"

RULES = [
    documented(GET, READER_OR_ADMIN, "Get an alarm.", [("GET", _ONE)]),
    documented(
        LIST, READER_OR_ADMIN, "Get all alarms, based on the query.", [("GET", "/v2/alarms")]
    ),  # fmt: skip
    documented(LIST_ALL, ADMIN, "Get alarms of all projects.", [("GET", "/v2/alarms")]),
    documented(
        QUERY, READER_OR_ADMIN, "Get alarms by a complex query.", [("POST", "/v2/query/alarms")]
    ),  # fmt: skip
    documented(CREATE, MEMBER_OR_ADMIN, "Create a new alarm.", [("POST", "/v2/alarms")]),
    documented(UPDATE, MEMBER_OR_ADMIN, "Modify this alarm.", [("PUT", _ONE)]),
    documented(DELETE, MEMBER_OR_ADMIN, "Delete this alarm.", [("DELETE", _ONE)]),
    documented(
        GET_STATE, READER_OR_ADMIN, "Get the state of this alarm.", [("GET", _ONE + "/state")]
    ),  # fmt: skip
    documented(
        UPDATE_STATE, MEMBER_OR_ADMIN, "Set the state of this alarm.", [("PUT", _ONE + "/state")]
    ),  # fmt: skip
    documented(
        HISTORY,
        READER_OR_ADMIN,
        "Assembles the alarm history requested.",
        [("GET", _ONE + "/history")],
    ),  # fmt: skip
    documented(
        QUERY_HISTORY,
        READER_OR_ADMIN,
        "Define query for retrieving AlarmChange data.",
        [("POST", "/v2/query/alarms/history")],
    ),  # fmt: skip
]
