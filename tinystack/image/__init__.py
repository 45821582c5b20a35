"""The Image service (Glance v2 API): images, data, members, tags, imports and tasks,
metadata definitions, several stores, the node-local cache.

Layout (the one shape of every service, ARCHITECTURE.md):

- ``service.py``: ``SERVICE``, builds the one :class:`services.deps.Deps` (database,
  typed ``conf.Options``, the file store and its staging area) and the app.
- ``conf.py``: the ``[image]`` options and ``Options``; ``exception.py``: image errors;
  ``models.py``/``migrations/``: the tables; ``policies/``: upstream rule names, one
  module per resource.
- ``api/``: ``router.py`` is the route table; one handler module per resource
  (``images``, ``image_data``, ``image_tags``, ``image_members``, ``image_locations``,
  ``tasks``, ``cache``, ``metadef_namespaces``/``_objects``/``_properties``/``_tags``/
  ``_resource_types``, ``info``, ``json_schemas``, ``metadef_schemas``, ``versions``);
  ``deps.py`` gives the handlers ``Deps`` and the checked request bodies, ``schemas.py``
  describes those bodies for OpenAPI, ``views.py``/``metadef_views.py`` render records.
- ``services/``: one module per resource (``images``, ``image_data``, ``image_tags``,
  ``image_members``, ``tasks``, ``quotas``), each function owning its transaction and
  returning frozen records (``records.py``). ``_access.py`` loads images and
  authorizes on them: Glance's rules target the image itself, so image policy is
  enforced here, after loading (404 rather than 403 for what one may not see).
  ``image_attributes.py`` holds the image schema's rules, ``listing.py`` the list
  filters and pagination, ``sink.py`` and ``format_inspection.py`` what happens to
  streamed data, ``bootstrap.py`` the images a fresh cloud registers (at start, owned by
  ``[image] bootstrap_image_owner``, whose id identity answers).
  Imports: ``image_import.py`` checks ``POST .../import`` and starts the task that
  ``import_flow.py`` runs on the tasks pool (sources in ``import_sources.py``, the URL
  filter in ``import_filter.py``, the ``image_conversion`` plugin in ``conversion.py``);
  ``legacy_import.py`` is the ``import`` task of ``/v2/tasks``; ``image_locations.py``
  the location API and deleting from one store (``_locations.py`` keeps the rows).
  Metadefs: ``metadef_*.py`` with ``_metadef_access.py`` (visibility, policy) and
  ``metadef_loader.py`` (definition files at bootstrap). ``cache.py`` is the node-local
  cache, ``cache_prefetcher.py`` its worker, ``image_cache.py`` the cache API.
- ``store/``: the data store drivers behind one interface (``base.Store``): ``file``,
  ``cinder`` (a volume per image in the Block Storage service, written and read through
  an attachment to this host), ``swift``, ``rbd`` (an RBD image per image in a Ceph pool
  with the protected snapshot ``snap`` that volumes and root disks clone; an image with
  clones is ``in_use`` and its delete is refused with 409) and the read-only ``http``;
  ``registry.py`` builds ``enabled_backends``. ``show_image_direct_url`` shows the first
  location as ``direct_url`` (to callers passing ``get_image_location``).

Worked example, an upload: ``PUT /v2/images/{id}/file`` → ``api/image_data.upload_image``
→ ``services/image_data.begin_upload`` (authorize, quotas, ``queued`` → ``saving``) →
the body streams into a ``Transfer`` → ``Transfer.commit`` (size, md5, format verdict,
``active``).
"""
