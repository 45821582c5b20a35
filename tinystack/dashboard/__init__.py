"""The dashboard: OpenStack's Skyline console, with tinystack as its API server.

The console (the ``skyline-console`` package's prebuilt React bundles) is served as is on
``[dashboard] port`` (8000); the Skyline API server it talks to is implemented here,
natively, under ``/api/openstack/skyline/api/v1/``: login and logout with Keystone
credentials, the profile (with the ``endpoints`` map telling the console where each
service is), project switching, policies and policy checks, config and settings, the
contrib lists and the joined ``extension`` lists. Every other call of the console goes
through the pass-through ``/api/openstack/<region>/<service>/...`` to the service's own
API with the session's token.

Layout: ``service.py`` (the app, Deps), ``conf.py``, ``exception.py``, ``policies/`` (the
two rules the lists check), ``api/router.py`` (every route), ``api/`` handlers
(``sessions``, ``policies``, ``settings``, ``contrib``, ``extension``, ``proxy``,
``console``), ``services/`` (``sessions`` with the cookie ``signer``, ``policy_checks``,
``extension``, ``contrib``, ``settings``, ``proxy``, ``console_files``; ``calls`` is the
one place that asks a service with the user's token). No database: a session lives in its
signed cookie, and the token in it is validated as every service validates tokens.
``horizon/`` runs upstream Horizon, when installed, as a child process on
``[dashboard] horizon_port`` (8001), configured from the cloud.

Worked path, the instances page::

    GET /api/openstack/skyline/api/v1/extension/servers?limit=10&sort_keys=created_at
     api/deps.py            the session cookie verified (signature, expiry), its token
                            validated (shared Fernet keys, revocations) -> RequestContext
     api/extension.py       skyline:extension:all_projects if all_projects; Page
     services/extension.py  one page from compute (/servers/detail, its filters, sort,
                            limit/marker), then the image names in one batched call (and
                            project names for all projects) -> Listing
     api/extension.py       {"servers": [...]} as Skyline renders them
"""
