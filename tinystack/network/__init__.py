"""Networking (Neutron v2.0): networks, subnets, ports, routers, floating IPs, security groups.

Layout:

* ``service.py``: NetworkService (options, app, RPC workers, bootstrap networks on start);
* ``api/``: one router per resource (networks, subnets, subnetpools, address_scopes, ports,
  routers, floatingips, security_groups, security_group_rules, quotas, rbac_policies,
  network_ip_availability, agents, availability_zones, extensions, tags, versions);
  ``common.py`` parses bodies and list parameters and renders, ``enforcement.py`` applies
  upstream's resource and attribute policies;
* ``services/``: the service layer, one module per resource, each owning its
  transactions; ``listing.py`` filters, sorts and paginates; ``agent_sync.py`` answers
  agents; ``bootstrap.py`` creates public/private/router1;
* ``ipam.py``: allocation pools and duplicate-free address allocation;
* ``plugins/``: type drivers (flat, vlan, vxlan, local) behind ``TypeDriver`` and the
  linuxbridge mechanism driver behind ``MechanismDriver``;
* ``rpcapi.py`` (typed clients and agent endpoints), ``payloads.py`` (what they carry)
  and ``rpc.py`` (the service's endpoints): the agent RPC interface;
* ``notifier.py``: RPC casts to agents and server external events to compute;
* ``agents/``: the Linux data plane (L2 linuxbridge, DHCP, L3, metadata agents), run as
  threads of the service when ``[network] dataplane`` is ``linux`` (see its docstring);
* ``policies/``: upstream rule names and defaults, one module per resource.
"""
