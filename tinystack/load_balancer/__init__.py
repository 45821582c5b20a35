"""The load balancer service (Octavia's v2 API, catalog type ``load-balancer``, port 9876).

Load balancers, listeners, pools, members (one by one, or a pool's whole list in one
``PUT .../members`` batch), health monitors, L7 policies and rules,
quotas, stats, status trees and the provider/flavor/availability zone listings under
``/v2/lbaas`` (``/v2.0`` is an alias, python-octaviaclient's prefix), with Octavia's
provisioning and operating statuses and its error bodies (``faultstring``).

Providers:

* ``haproxy`` (with a data plane: root, iproute2 and haproxy; ``[load_balancer]
  dataplane``): each load balancer is a ``<namespace_prefix><id>`` namespace on the
  network host holding its VIP port (a Neutron port with ``device_owner`` Octavia,
  plugged as a veth whose ``tap<port>`` end the network's L2 agent wires into the
  bridge), running an HAProxy whose configuration is rendered from the database and
  reloaded seamlessly (``-x`` socket hand-over, ``-sf``). Member health and listener
  counters are read from HAProxy's stats socket into ``operating_status`` and stats.
  A restarted agent adopts running HAProxies (pid file + command line) or rebuilds
  them. HTTP, HTTPS (pass-through) and TCP listeners; UDP and SCTP (LVS upstream) and
  TERMINATED_HTTPS (a key manager) are refused as upstream refuses what a provider
  does not support (501, 400).
* ``noop_driver`` (always; the only one without a data plane): Octavia's no-op
  provider: the objects go ACTIVE and nothing carries traffic; it takes every
  protocol and monitor type (UDP, SCTP too). Its load balancers say so by their
  ``provider``; asking for ``haproxy`` on such a host is a 400
  ("Provider 'haproxy' is not enabled.").

The VIP port is made with ``port_security_enabled`` false (Octavia opens a security
group per listener instead); members are reached from the VIP's subnet (directly or
through its gateway), not by plugging the namespace into member subnets.

Layout (the one shape): ``conf.py``, ``exception.py``, ``models.py`` (+ ``migrations/``),
``policies/`` (Octavia's rule names), ``api/`` (``router.py`` the route table,
``schemas.py`` the wrapped bodies, ``views.py``, a module per resource,
``version_alias.py``), ``services/`` (a module per resource; ``inputs.py`` the typed
inputs, ``records.py``, ``_tree.py`` the rows, the provisioning lock and quotas they
share, ``_provisioning.py`` the update/delete flows of a load balancer's children under
that lock, ``provider_store.py`` what the agent reads and writes, ``status_tree.py``),
``rpcapi.py`` (``ProviderAgentAPI``: refresh, delete, failover), ``specs.py`` (what the
agent is given and reports), ``agent/`` (``manager.py`` the RPC endpoint, health loop
and start-up sync; ``haproxy.py``; ``namespace.py``; ``store.py`` the protocol).

Worked path, ``POST /v2/lbaas/listeners``: ``api/listeners.create`` validates the body
(``ListenerCreateBody``) and calls ``services/listeners.create``: one transaction loads
the load balancer, checks ``os_load-balancer_api:listener:post`` on its project, the
provider's protocols, the quota and the port, takes the provisioning lock (the load
balancer ACTIVE -> PENDING_UPDATE, else 409 immutable) and adds the listener in
PENDING_CREATE; after commit ``rpcapi.ProviderAgentAPI.refresh`` casts to the load
balancer's host, whose ``agent/manager.ProviderAgent.converge`` reads the spec
(``provider_store.spec``), plugs the namespace, rewrites and reloads HAProxy and calls
``provider_store.applied``: pending objects ACTIVE, deleted ones gone.
"""
