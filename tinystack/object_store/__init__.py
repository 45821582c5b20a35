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
  ``node.py`` (the three servers and the daemons of one node), ``pool.py`` (keep-alive
  connections to storage servers), ``http.py`` (backend paths, the servers' own worker
  threads).
- ``services/``: the proxy. ``backend.py`` (first good replica for reads, quorum writes,
  handoffs), ``accounts.py``, ``containers.py``, ``objects.py``, ``acl.py`` (container
  ACLs).
- ``api/``: the public API at ``/v1/AUTH_<project_id>`` (``router.py`` is the table),
  keystoneauth's ownership check in ``deps.py``, listings in ``listing.py``.

Roles (``[object_store] role``): ``all`` runs the proxy and this node's servers in one
process over the default ring; ``proxy`` and ``storage`` (``tinystack serve
object-store-proxy`` / ``object-store-storage``) split them across hosts sharing the
ring files and ``hash_path_suffix``.

Worked path, ``PUT /v1/AUTH_p/c/o``: ``api/objects.put_object`` checks the token and
``object_store:swift_owner``, then ``services/objects.begin_put`` finds the container
(HEAD to its ring's replicas), opens a PUT with ``Expect: 100-continue`` to each object
replica (a refusing or unreachable primary is replaced by a handoff), streams the body to
all of them with its md5, and answers 201 once a quorum stored it. Each object server
writes ``<ts>.data`` and tells its container replica (``X-Container-Host``), or keeps an
async pending; the container server's reporter updates the account's counts.
"""
