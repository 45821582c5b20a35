"""The console proxies (Nova's ``nova-novncproxy`` and ``nova-serialproxy``).

Two listeners of the compute service (``[console] novncproxy_port``, 6080, and
``serialproxy_port``, 6083, on ``proxy_host``), one ASGI app each (:mod:`.app`):

- a WebSocket request carrying ``?token=`` (noVNC sends it as its ``path``) is checked and
  consumed by :func:`tinystack.compute.services.consoles.connect` (unknown, expired, used
  or of the other proxy's type: refused before the upgrade, HTTP 403), its Origin must name
  the host it was sent to (a page elsewhere cannot open it), and then bytes are relayed
  both ways between the WebSocket's binary frames and the guest: the QEMU VNC server's TCP
  port (RFB, noVNC speaks it end to end) or the QEMU serial port's unix socket;
- any other request to the noVNC proxy is a file of the noVNC client
  (``[console] novnc_dir``, Debian's ``novnc`` package, which ``make up`` installs):
  ``vnc_lite.html`` is the page console links open.

The proxies run where the compute API runs. VNC consoles of a compute host elsewhere are
reached at the host's ``[compute] vnc_listen`` (set it to an address the proxy can reach);
serial consoles are unix sockets, so only guests on the proxy's machine have one
(every host of an all-in-one cloud, and hosts standing in a network namespace).
"""
