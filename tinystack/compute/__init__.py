"""Compute (Nova): the API with microversions, conductor, scheduler and compute agents.

The boot path, each hop with one job:

``api/servers.py`` (authorize, validate, render) → ``services/servers.py`` (quotas,
instance rows, the instance action) → RPC cast to the conductor
(``conductor/manager.py``, build flow as tasks) → RPC call to the scheduler
(``scheduler/manager.py``: allocation candidates from placement, filters, weighers,
the placement claim) → RPC cast to the compute agent of the chosen host
(``agent/``: ports, the virt driver, state transitions, instance action events).

Volumes: the block device mappings (``services/block_devices.py``) name an instance's
volumes; ``os-volume_attachments`` and boot from volume reserve them in the block storage
service (``common/clients/volume.py``), the agent (``agent/volumes.py``) connects them for
its host and the driver plugs them (``virt/qemu/volumes.py``, ``hotplug.py``). The agent
also answers a ``volume-extended`` the block storage service waits on
(``os-extend_volume_completion``) and re-images a volume-backed server's root volume on a
rebuild from 2.93 on, with a new image or its own (``volume-reimaged``).

Consoles: ``api/console.py`` (``remote-consoles``, ``os-console-auth-tokens``) and the
``os-getVNCConsole``/``os-getSerialConsole`` actions ask the host's agent where the guest's
console is (QEMU's VNC port, its serial port's unix socket) and store a single-use,
expiring token (``services/consoles.py``); the proxies of ``consoleproxy/`` (listeners
of this service, like the metadata API) take the token and relay a WebSocket to it.

Workers run as threads of the service process in the embedded mode; one process
can run many fake compute hosts (``agent/group.py``).

Rolling upgrades: every service row carries the RPC and payload versions its process
runs (``services/service_versions.py``); ``[upgrade_levels] compute|conductor|scheduler``
caps ``rpcapi.py``'s clients (``auto``: the oldest reported), which backport payloads
per ``COMPUTE_PAYLOADS``.
"""
