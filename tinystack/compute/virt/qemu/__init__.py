"""The QEMU virt driver: real virtual machines without libvirt (see :mod:`.driver`).

Importing this package is cheap (the compute options import :mod:`.conf`); the
driver itself is :class:`tinystack.compute.virt.qemu.driver.QemuDriver`, built from
compute's options by :func:`tinystack.compute.virt.qemu.factory.qemu_driver`.
"""
