"""Object storage (Swift v1): a proxy that routes by consistent-hashing rings to account,
container and object servers on local devices, as Swift is built.

Layout (api -> services -> storage -> ring, import-linter keeps the order):

- ``ring/``: ``builder.py`` (partition power, replicas, weighted devices in regions and
  zones, min_part_hours, dispersion-aware rebalance), ``ring.py`` (what nodes load:
  partition of a path, primaries, handoffs; reloaded when the file changes),
  ``layout.py`` (ring files, hash salt, the all-in-one default), ``commands.py``
  (``tinystack object-store ring create/add/rebalance/show``).
- ``storage/``: the backend servers. ``diskfile.py`` (objects as ``<ts>.data`` files with
  metadata in xattrs, ``.ts`` tombstones, ``.meta`` from POST, suffix hashes),
  ``broker.py`` (account and container SQLite databases with tombstoned rows),
  ``object_server.py`` and ``db_server.py`` (the backend protocol
  ``/<device>/<partition>/<account>[/<container>[/<object>]]``), ``updates.py``
  (object -> container updates with async pendings and their updater, container ->
  account reports), ``replicator.py`` (objects: suffix hashes, ssync-style pushes,
  handoff revert), ``db_replicator.py`` (accounts and containers: row merges),
  ``expirer.py`` (``X-Delete-At``), ``auditor.py`` (md5 checks, quarantine),
  ``node.py`` (the three servers and the daemons of one node).
- ``services/``: the proxy. ``backend.py`` (first good replica for reads, quorum writes,
  handoffs), ``accounts.py``, ``containers.py``, ``objects.py``, ``acl.py`` (container
  ACLs), ``versioning.py`` (``X-Versions-Enabled``: versions in the hidden container
  ``\x00versions\x00<container>``, ``?versions`` listings, ``version-id``, delete
  markers), ``versioning_legacy.py`` (``X-Versions-Location`` / ``X-History-Location``),
  ``version_copies.py`` (a version's copy, written at its own timestamp),
  ``tempurl.py`` and ``formpost.py`` (keys and signatures), ``account_quotas.py``.
- ``api/``: the public API at ``/v1/AUTH_<project_id>`` (``router.py`` is the table),
  keystoneauth's ownership check in ``deps.py``, listings in ``listing.py``, the
  ``version-id`` parameter and ``?versions`` listings in ``versions.py`` (the handlers
  call it and ``services/versioning.py`` through one-line hooks). Swift's proxy
  middleware are ASGI middleware around the routes (``service.py`` adds them):
  ``tempurl.py`` (a temp URL's grant replaces the token in ``deps.py``),
  ``formpost.py``, ``staticweb.py`` (sub-requests into the handlers), ``cors.py``.

Worked path, ``PUT /v1/AUTH_p/c/o``: ``api/objects.put_object`` checks the token and
``object_store:swift_owner``, then ``services/objects.begin_put`` finds the container
(HEAD to its ring's replicas), opens a PUT with ``Expect: 100-continue`` to each object
replica (a refusing or unreachable primary is replaced by a handoff), streams the body to
all of them with its md5, and answers 201 once a quorum stored it. Each object server
writes ``<ts>.data`` and tells its container replica (``X-Container-Host``), or keeps an
async pending; the container server's reporter updates the account's counts.
"""
