"""Consistent-hashing rings (Swift's design): :mod:`builder` assigns partitions to
devices, :mod:`ring` is what every node loads to find an item's nodes, :mod:`layout`
names the ring files and builds the all-in-one default."""
