"""The storage servers (Swift's account, container and object servers) on this node's
devices: :mod:`diskfile` (objects as files, metadata in xattrs, tombstones, suffix
hashes), :mod:`broker` (accounts and containers as SQLite databases), :mod:`updates`
(container and account updates, async pendings), :mod:`daemon` (the loop every node daemon
runs) and :mod:`server` (the backend HTTP
protocol the proxy speaks)."""
