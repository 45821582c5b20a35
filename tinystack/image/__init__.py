"""The Image service (Glance v2 API): image records, data, members, tags and the file store.

Layout (the one shape of every service, ARCHITECTURE.md):

- ``service.py``: ``SERVICE``, builds the one :class:`services.deps.Deps` (database,
  typed ``conf.Options``, the file store and its staging area) and the app.
- ``conf.py``: the ``[image]`` options and ``Options``; ``exception.py``: image errors;
  ``models.py``/``migrations/``: the tables; ``policies/``: upstream rule names, one
  module per resource.
- ``api/``: ``router.py`` is the route table; one handler module per resource
  (``images``, ``image_data``, ``image_tags``, ``image_members``, ``info``,
  ``json_schemas``, ``versions``); ``deps.py`` gives the handlers ``Deps`` and the
  checked request bodies, ``schemas.py`` describes those bodies for OpenAPI,
  ``views.py`` renders records as Glance's JSON.
- ``services/``: one module per resource (``images``, ``image_data``, ``image_tags``,
  ``image_members``, ``tasks``, ``quotas``), each function owning its transaction and
  returning frozen records (``records.py``). ``_access.py`` loads images and
  authorizes on them: Glance's rules target the image itself, so image policy is
  enforced here, after loading (404 rather than 403 for what one may not see).
  ``image_attributes.py`` holds the image schema's rules, ``listing.py`` the list
  filters and pagination, ``sink.py`` and ``format_inspection.py`` what happens to
  streamed data, ``bootstrap.py`` the images a fresh cloud registers.
- ``store/``: the data store drivers (a file store).

Worked example, an upload: ``PUT /v2/images/{id}/file`` → ``api/image_data.upload_image``
→ ``services/image_data.begin_upload`` (authorize, quotas, ``queued`` → ``saving``) →
the body streams into a ``Transfer`` → ``Transfer.commit`` (size, md5, format verdict,
``active``).
"""
