"""The alarm service (Aodh v2 API, catalog type ``alarming``, port 8042).

Alarms of the types ``gnocchi_resources_threshold`` (one metric of one resource),
``gnocchi_aggregation_by_metrics_threshold`` (metrics by id, aggregated),
``gnocchi_aggregation_by_resources_threshold`` (a metric of every resource a metric
service search finds, aggregated with ``needed_overlap=0``; a non-admin owner's search
scoped to its project on create, as Aodh does), ``prometheus`` (a PromQL query to the
metric service's ``/api/v1/query``; every series' value is a statistic, an empty result
is insufficient data; for a non-admin owner ``project_id="<project>"`` is added to every
selector of the query on create: ``rules.scoped_promql``, which refuses with 400 what it
cannot read, such as subqueries), ``event``
(the services' notifications) and ``composite`` (``and``/``or`` of threshold rules);
their state (``ok``, ``alarm``, ``insufficient data``), history and actions: ``log://``,
``http(s)://`` webhooks with Aodh's body, and ``trust+http(s)://`` webhooks called with
a token of a Keystone trust from the alarm's creator to the alarm service's user
(``services/trusts.py``: the trust created with the caller's token on create or
replace, deleted when no action uses it or the alarm is deleted).

Layout: the one shape (ARCHITECTURE.md) — ``api/router.py`` the route table, handlers
in ``api/alarms.py`` and ``api/quotas.py``, ``services/`` owning transactions
(``evaluation.py`` the pure state rules, ``query.py`` the complex-query language,
``quotas.py`` the quotas API's limits and the check of a new alarm), ``policies/`` with
Aodh's rule names. ``evaluator/`` are Aodh's daemons in the service's process: the
evaluator reads the metric service over REST with the service's session
(``statistics.py``) every ``[alarm] evaluation_interval``; the event listener reads the
notifications in a pool of its own; the notifier sends actions from a few threads.

Worked path: ``openstack alarm create --type gnocchi_resources_threshold ...`` →
``POST /v2/alarms`` → ``api/alarms.create_alarm`` → ``services/alarms.create``: the
rule checked (``services/rules.check``), then in one transaction the quota
(``services/quotas.enforce``), the row and its ``creation`` history → 201. Every
interval ``evaluator/threshold.py`` fetches the window's aggregates,
``services/evaluation`` decides, ``services/alarms.transition`` writes the
new state if the alarm still has the state read (compare-and-set: after a restart or
a concurrent change nothing is notified twice), and the notifier posts the webhook.

Time constraints (``services/constraints.py``, cron starts matched by
``services/cron.py``): outside every window the evaluator skips the alarm.

Quotas (``/v2/quotas``, ``openstack alarm quota show/set``; ``services/quotas.py``): a
project's stored ``alarms`` limit replaces ``[alarm] project_alarm_quota`` for it
(``-1``: no limit), ``[alarm] user_alarm_quota`` applies either way; readers of a
project read its quota, admins set and delete it.

Departures: ``zaqar``/``trust+zaqar`` actions are not implemented; one evaluator per
cloud (no partitioning between several alarm services). A stored quota counts the
project's alarms and -1 means no limit (Aodh's check counts the user's alarms and
refuses all under a stored -1), and reading a quota stores nothing.
"""
