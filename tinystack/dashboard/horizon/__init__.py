"""Upstream Horizon, served beside the Skyline console when it is installed.

``pip install tinystack[horizon]`` installs Horizon 27 (Django); the dashboard service
then runs it on ``[dashboard] horizon_port`` (8001) in a child process, configured from
the cloud: ``launcher.py`` (in the cloud's process) writes Horizon's ``local_settings.py``
and the secret key (mode 0600) into ``<state_dir>/horizon/`` and starts and stops the
child; ``server.py`` (the child) collects and compresses the static files when Horizon or
the plugins changed, then serves Django's WSGI app and the static files with uvicorn.
Plugins (``[dashboard] horizon_plugins``) are directories holding a Django app and its
``enabled/`` files, loaded as if copied into ``openstack_dashboard/local/enabled/``.
"""
