"""The compute metadata service (upstream's nova-api-metadata).

``content.py`` builds the OpenStack (``meta_data.json``, ``network_data.json``, ...) and
EC2 (``meta-data/...``) trees from an instance and its VIFs; the config drive
(``virt/qemu/configdrive.py``) and the API write the same content. ``api.py`` is the
ASGI app the compute service runs as an extra listener on ``[compute]
metadata_listen:metadata_listen_port`` (default ``bind_host:8775``), answering requests
the network service's metadata proxy signed with ``[compute]
metadata_proxy_shared_secret`` (the deployment gives it and ``[network]
metadata_proxy_shared_secret`` one generated value unless configured).
"""
