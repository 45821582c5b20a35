"""Networking (Neutron v2.0): networks and their segments, subnets, ports, routers, floating
IPs (and their port forwardings), security groups, QoS policies, FWaaS v2 firewall groups,
metering labels.

Layout (ARCHITECTURE.md):

* ``service.py``: NetworkService (options, app, RPC workers, bootstrap networks on start);
* ``conf.py``: the ``[network]`` options and ``Options``, their typed frozen view;
* ``exception.py``: the service's errors with their NeutronError types;
* ``api/``: ``router.py`` is the route table (with each route's policy rules and request
  model), ``schemas.py`` the request models, ``deps.py`` DepsDep; one handler module per
  resource; ``views.py`` renders records as the API shows them and ``rendering.py`` applies
  Neutron's field-level policy (``get_<resource>:<attr>``) to those views,
  ``enforcement.py`` the resource and attribute rules;
* ``services/``: the service layer, one module per resource, each owning its
  transactions and returning frozen records (``records.py``); ``deps.py`` is the one
  dependency bundle, ``authz.py`` the ``Check`` the API hands in, ``listing.py`` filters,
  sorts and paginates; ``agent_sync.py`` answers agents; ``bootstrap.py`` creates
  public/private/router1;
* ``ipam.py``: allocation pools and duplicate-free address allocation;
* ``plugins/``: type drivers (flat, vlan, vxlan, local) behind ``TypeDriver`` and the
  linuxbridge mechanism driver behind ``MechanismDriver``;
* ``rpc.py`` (service side) and ``rpcapi.py``/``payloads.py``: the agent RPC interface;
* ``notifier.py``: RPC casts to agents and server external events to compute;
* ``agents/``: the Linux data plane (L2 linuxbridge, DHCP, L3, metadata agents), run as
  threads of the service when ``[network] dataplane`` is ``linux`` (see its docstring);
  ``agents/qos.py`` is the L2 agent's QoS part (bandwidth limits on taps: ``tc`` towards
  the guest, an nftables bridge policer from it);
* QoS: ``services/qos_policies.py`` (policies, defaults, a port's effective limits for
  ``agent_sync``) and ``services/qos_rules.py`` (the three rule types), whose changes
  re-wire the ports they reach;
* FWaaS v2: ``services/firewall_rules.py``, ``firewall_policies.py`` (ordered rule
  lists, ``insert_rule``/``remove_rule``) and ``firewall_groups.py`` (policies on router
  interface ports, statuses, the project's default group, ``router_firewalls`` for
  ``agent_sync``), sharing ``_firewall_rows.py`` (row loaders, rule checks);
  ``agents/fwaas.py`` writes them as the ``fwaas-`` chains of the
  router namespace's filter table for the L3 agent;
* metering: ``services/metering_labels.py`` (labels; ``router_metering_labels`` for
  ``agent_sync``) and ``metering_label_rules.py`` (rules, overlap checks), sharing
  ``_metering_rows.py``; ``agents/metering.py`` counts them in ``meter-`` chains of the
  router namespace's filter table (written with FWaaS's) and reports ``l3.meter``;
* segments: ``services/segments.py`` (``/v2.0/segments`` over ``network_segments``,
  segmentation ids from the type drivers; the subnet-on-segment rules, routed networks'
  candidate subnets and peer host routes that ``subnets``/``ports`` call);
* ``services/auto_allocated_topology.py``: "get me a network" (a project's network,
  subnets from the default pools, a router on the default external network, made once
  through the resource services; compute's ``networks: auto`` asks for it);
* ``policies/``: upstream rule names and defaults, one module per resource.

Worked example, ``POST /v2.0/ports``: ``api/ports.create_port`` validates each item with
``schemas.PortCreate`` and turns it into a ``services.ports.PortSpec``; ``Ports.create_bulk``
opens one write transaction, loads the network and calls the handler's check with a
``PortTarget`` (``create_port`` and its attribute rules on the request plus the network's
owner), then ``ipam.Allocator`` takes the addresses (one row per address, primary key
(subnet, address)), the security groups are bound and ``PortBinder`` binds the host; the
transaction returns a ``PortRecord``, the event sink casts ``port_update`` to the agents
(``notifier.Events``) and the handler renders ``views.port_view`` through the field-level
policy.
"""
