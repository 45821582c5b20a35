"""Virt drivers: the :class:`~tinystack.compute.virt.driver.ComputeDriver` interface and
its implementations (``fake`` here; QEMU is its own package)."""
