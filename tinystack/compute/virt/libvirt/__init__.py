"""The libvirt virt driver: the QEMU driver's guests as libvirt domains (see :mod:`.driver`)."""
