"""Task rules: ``/v2/tasks`` (every call also needs ``tasks_api_access``)."""

from __future__ import annotations

from tinystack.image.policies.base import ADMIN, DEFAULT, rule

GET_TASK = "get_task"
GET_TASKS = "get_tasks"
ADD_TASK = "add_task"
MODIFY_TASK = "modify_task"
TASKS_API_ACCESS = "tasks_api_access"

RULES = [
    rule(GET_TASK, DEFAULT, "Show a task.", "GET", "/v2/tasks/{task_id}"),
    rule(GET_TASKS, DEFAULT, "List tasks.", "GET", "/v2/tasks"),
    rule(ADD_TASK, DEFAULT, "Create a task.", "POST", "/v2/tasks"),
    rule(MODIFY_TASK, DEFAULT, "Modify a task (not offered by the API).", "PUT", "/v2/tasks"),
    rule(TASKS_API_ACCESS, ADMIN, "Use the tasks API at all.", "GET", "/v2/tasks"),
]
