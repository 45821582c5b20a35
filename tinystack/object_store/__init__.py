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
  ``broker.py`` (account and container SQLite databases with tombstoned rows, each
  object row's listing entry rendered when written, a container's stats kept by
  triggers), ``connections.py`` (their connections, kept open between requests),
  ``object_server.py`` and ``db_server.py`` (the backend protocol
  ``/<device>/<partition>/<account>[/<container>[/<object>]]``), ``updates.py``
  (object -> container updates with async pendings and their updater, container ->
  account reports), ``replicator.py`` (objects: suffix hashes, ssync-style pushes,
  handoff revert), ``db_replicator.py`` (accounts and containers: row merges),
  ``expirer.py`` (``X-Delete-At``), ``auditor.py`` (md5 checks, quarantine),
  ``node.py`` (the three servers and the daemons of one node), ``process.py`` (the
  all-in-one's storage servers in worker processes of their own), ``pool.py`` (keep-alive
  connections to storage servers), ``http.py`` (backend paths, the servers' own worker
  threads).
- ``services/``: the proxy. ``backend.py`` (first good replica for reads, quorum writes,
  handoffs), ``accounts.py``, ``containers.py``, ``objects.py``, ``acl.py`` (container
  ACLs), ``versioning.py`` (``X-Versions-Enabled``: versions in the hidden container
  ``\x00versions\x00<container>``, ``?versions`` listings, ``version-id``, delete
  markers), ``versioning_legacy.py`` (``X-Versions-Location`` / ``X-History-Location``),
  ``version_copies.py`` (a version's copy, written at its own timestamp),
  ``tempurl.py`` and ``formpost.py`` (keys and signatures), ``account_quotas.py``.
- ``services/`` also holds what Swift does in middlewares: ``large_objects.py`` (GET and
  HEAD of DLO/SLO and through symlinks, ranges and conditions on the whole),
  ``slo_manifests.py`` (``?multipart-manifest=put|delete``), ``symlinks.py``,
  ``bulk.py`` (``?bulk-delete``, ``?extract-archive``), ``reads.py`` (raw reads with
  sysmeta, ``Refused`` and its plain-text bodies, byte ranges).
- ``api/``: the public API at ``/v1/AUTH_<project_id>`` (``router.py`` is the table),
  keystoneauth's ownership check in ``deps.py``, listings in ``listing.py``; ``hooks.py``
  is where the object handlers hand SLO/DLO/symlink requests over, ``bulk.py`` the bulk
  requests and their text/JSON/XML bodies, ``versions.py`` the ``version-id`` parameter
  and ``?versions`` listings (a read is versioning's, then hooks' when no version is
  named).
- ``api/s3/`` and ``services/s3/``: the S3 API on the same port over the same accounts
  (``AUTH_<project>``), containers (buckets) and objects. ``api/s3/dispatch.py`` takes
  the requests that carry an AWS signature (or name a bucket in the Host) before the
  Swift router; ``api/s3/router.py`` is its operation table. ``services/s3/``:
  ``signing.py`` (SigV2/SigV4 strings to sign), ``auth.py`` (identity's s3tokens, a
  60 s secret cache), ``body.py`` (aws-chunked with chunk and trailer signatures,
  sha256/MD5/CRC32/CRC32C/SHA1/SHA256 checks before the replicas commit),
  ``buckets.py``, ``objects.py``, ``listing.py``, ``multipart.py`` (parts in
  ``<bucket>+segments``, completed through ``slo_manifests``) and ``manifest.py``
  (reading those manifests); S3 versioning goes through ``services/versioning.py``.

Roles (``[object_store] role``): ``all`` runs the proxy and this node's servers over the
default ring, the servers in ``storage_workers`` child processes and the daemons in one
more (``storage_workers = 0``: all in the API process); ``proxy`` and ``storage``
(``tinystack serve object-store-proxy`` / ``object-store-storage``) split them across
hosts sharing the ring files and ``hash_path_suffix``.

Worked path, ``PUT /v1/AUTH_p/c/o``: ``api/objects.put_object`` checks the token and
``object_store:swift_owner``, then ``services/objects.begin_put`` finds the container
(HEAD to its ring's replicas), opens a PUT with ``Expect: 100-continue`` to each object
replica (a refusing or unreachable primary is replaced by a handoff), streams the body to
all of them with its md5, and answers 201 once a quorum stored it. Each object server
writes ``<ts>.data`` and tells its container replica (``X-Container-Host``), or keeps an
async pending; the container server's reporter updates the account's counts.

S3 path, ``PUT /bucket/key`` signed with SigV4: ``api/s3/dispatch`` rebuilds the string to
sign (``services/s3/signing``), ``services/s3/auth`` has identity check it (``POST
/v3/s3tokens``) and answer the project's token; ``api/s3/objects.put_object`` opens a
chunked Swift upload (``services/s3/objects.ObjectUpload`` over ``services/objects``),
feeds it the decoded body, and commits only when ``body.BodyReader.finish`` agrees with
the declared digests and checksums.
"""
