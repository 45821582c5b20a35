"""Placement: resource providers, inventories, allocations and allocation candidates.

The one service shape (ARCHITECTURE.md):

- ``service.py``: ``SERVICE``, the ServiceSpec (options, app, standard classes/traits);
  ``conf.py``: ``[placement]`` options and the typed ``Options``; ``exception.py``;
  ``models.py`` + ``migrations/``; ``policies/`` (``list_rules()``, upstream names).
- ``api/router.py``: THE route table, one line a route: path, handler, policy rule, the
  microversions it exists at (``since``), its body models. ``api/schemas.py``: every
  request model and their validation (400s worded as upstream's jsonschema ones);
  ``api/deps.py``: ``PlacementReq`` (caller, version, body, renderers) and ``DepsDep``;
  ``api/microversion.py``: the version table, configuring
  ``tinystack.common.api.microversion``; ``api/versions.py``: version discovery at ``/``;
  ``api/params.py``: query-string parsing; ``api/<resource>.py``: handlers only.
- ``services/``: one module per resource, each public function owns its transaction
  (``deps.read()`` / ``deps.write()``, retried on generation races) and returns frozen
  records; ``services/deps.py``: ``Deps`` (database, ``Options``, name caches).

Worked example, ``GET /allocation_candidates?resources=VCPU:1``: ``api/router.py``
(since 1.10) -> ``api/deps.py`` builds ``req`` (auth, version gate) ->
``api/allocation_candidates.list_allocation_candidates`` authorizes, parses the query
(``api/params.py``) and calls ``services/candidates.find``, which resolves names once
(``services/candidate_search.Search``) and runs the one-statement search or the tree
search (``services/candidate_trees``) -> the handler renders the ``Candidates`` record
for the request's version.
"""
