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
their state (``ok``, ``alarm``, ``insufficient data``), history and actions: ``log://``
and ``http(s)://`` webhooks with Aodh's body.

Layout: the one shape (ARCHITECTURE.md) — ``api/router.py`` the route table, handlers
in ``api/alarms.py``, ``services/`` owning transactions (``evaluation.py`` the pure
state rules, ``query.py`` the complex-query language), ``policies/`` with Aodh's rule
names. ``evaluator/`` are Aodh's daemons in the service's process: the evaluator reads the
metric service over REST with the service's session (``statistics.py``) every
``[alarm] evaluation_interval``; the event listener reads the notifications in a pool
of its own; the notifier sends actions from a few threads.

Worked path: ``openstack alarm create --type gnocchi_resources_threshold ...`` →
``POST /v2/alarms`` → ``api/alarms.create_alarm`` → ``services/alarms.create``: the
rule checked (``services/rules.check``), quota, the row and its ``creation`` history
in one transaction → 201. Every interval ``evaluator/threshold.py`` fetches the window's
aggregates, ``services/evaluation`` decides, ``services/alarms.transition`` writes the
new state if the alarm still has the state read (compare-and-set: after a restart or
a concurrent change nothing is notified twice), and the notifier posts the webhook.

Departures: time constraints, quotas API,
``trust+http`` actions are not implemented; one evaluator
per cloud (no partitioning between several alarm services).
"""
