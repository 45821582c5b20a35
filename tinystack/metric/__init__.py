"""The metric service (Gnocchi v1 API, catalog type ``metric``, port 8041).

Archive policies (Gnocchi's defaults ``low``, ``medium``, ``high``, ``bool``) and
their rules, resource types (``generic`` and Ceilometer's), resources, metrics, and
their measures: the API validates and queues them in a durable backlog
(``models.Backlog``, ``services/backlog.py``; committed before the 202), and the metric
workers (``metricd.py``, Gnocchi's metricd: ``[metric] workers`` threads of the
service's process) roll them up into the service's database: per metric,
granularity and time bucket the count, sum, sum of squares, min, max and last value,
packed by time as Gnocchi's carbonara splits (``models.Split``, ``services/splits.py``:
up to 3600 buckets a row, one blob), from which mean/min/max/sum/count/std/last are read;
``rate:*`` read the same statistics of the changes between successive measures. The
timespan of each granularity is trimmed and the back window enforced when a worker
aggregates (``services/measures.process``: a metric's queued rows aggregated and deleted
in one transaction, the metric's row the claim). ``refresh=true`` on a measures read or
``/v1/aggregates`` aggregates the queued measures first; ``/v1/status`` reports the
backlog and the workers alive.
``POST /v1/search/resource/{type}`` finds resources with Gnocchi's query language
(``services/search.py``: the JSON and the ``filter=`` string forms, evaluated over the
resources the caller may list); ``/v1/aggregates`` evaluates Gnocchi's operations
language over metrics by id or over the named metrics of a search's resources
(``services/aggregates.py``); ``/api/v1/query`` and ``query_range`` answer a PromQL
subset over the same points, as Prometheus' HTTP API does (``services/promql.py``), for
dashboards and Grafana, whose data source also reads ``/api/v1/series``, ``labels``,
``label/<name>/values``, ``metadata`` and ``status/buildinfo`` (``services/promseries.py``).

Layout: the one shape (ARCHITECTURE.md) — ``api/router.py`` the route table, handlers
in ``api/<resource>.py``, ``services/<resource>.py`` owning transactions, ``policies/``
with Gnocchi's rule names. ``agents/notification.py`` is Ceilometer's notification
agent: it reads the services' notifications (``common/notifier.py``) and creates or
ends resources through the API, as Ceilometer does. The compute agent's poller
(``compute/agent/telemetry.py``) pushes guests' meters through the same client.

Worked path: ``openstack metric measures add -m 2026-01-01T00:00:00@42 <metric>`` →
``POST /v1/metric/{id}/measures`` → ``api/measures.add_measures`` →
``services/measures.add``: the metric loaded and authorized (``post measures`` on its
creator), the measures appended to the backlog → 202; a worker (woken at once in this
process, else within ``[metric] processing_delay``) → ``measures.process`` → ``ingest``
merges each measure into its buckets, trims the timespans, deletes the backlog rows.

Departures: the backlog lives in the metric database (not Gnocchi's incoming driver:
files, Redis, Ceph, S3), and ``/v1/status``'s ``metricd.statistics`` are empty; resource
history (``history=true``, ``use_history``) and ``resample`` are not implemented; searches
are matched in Python over the visible rows of the type, not in SQL.
"""
