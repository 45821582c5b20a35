"""The Linux data plane: Neutron's reference agents, run as threads of the network service.

Agents know the service only through :mod:`tinystack.network.rpcapi` and the payloads of
:mod:`tinystack.network.payloads` (import-linter keeps them away from the models, the
service layer and the database), and read their options through ``base.AgentOptions``.

Layout:

* ``base.py``: what agents share (RPC endpoint on their fanout topic, report_state
  heartbeats, one worker thread applying batched changes, full resync on start, on
  failure and periodically; link-event watcher);
* ``l2.py``: the Linux bridge agent (bridges, vxlan/vlan/flat, taps, security groups);
* ``firewall.py`` + ``iptables.py``: security groups as iptables chains written
  atomically with ``iptables-restore``;
* ``dhcp.py``: the DHCP agent (dnsmasq in ``qdhcp-`` namespaces, DHCPv4 and DHCPv6);
* ``l3.py``: the L3 agent (``qrouter-`` namespaces, SNAT, floating IPs, routes);
* ``radvd.py``: IPv6 router advertisements of a router namespace (one radvd each);
* ``metadata.py`` + ``metadata_proxy.py``: the metadata agent and the proxy started in
  router namespaces;
* ``ip_lib.py``: links, addresses, routes and flood entries of a namespace over
  rtnetlink (pyroute2), namespaces, programs run in them (``ip netns exec``), pid files;
* ``dataplane.py``: :class:`DataPlane`, the agents of one host, and the probe deciding
  whether this machine can run them.
"""
