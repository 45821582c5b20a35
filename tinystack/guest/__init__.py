"""The tinystack test guest: a CirrOS-like image built from Debian packages.

``tinystack image build-test`` (:func:`tinystack.guest.build.build_test_image`)
makes ``tinystack-test.qcow2``: the Debian cloud kernel and a busybox initramfs
(virtio, CD-ROM/ISO 9660/vfat modules, dropbear) on a hybrid ISO written by
``grub-mkrescue``, converted to qcow2. At boot it takes DHCP on every NIC, reads
OpenStack metadata from a ``config-2`` drive or from 169.254.169.254, sets the
hostname, installs the public keys, runs a ``#!`` user_data, serves ssh (22)
and http (80, the hostname), powers off on the ACPI power button, and prints
fixed marker lines on the serial console (see :mod:`tinystack.guest.scripts`).

Modules: :mod:`hostdeps` (Debian packages), :mod:`kernel` (kernel, modules),
:mod:`cpio` and :mod:`initramfs` (the root filesystem), :mod:`scripts` (the
guest's shell side), :mod:`build` (ISO, qcow2, stamp), :mod:`qemu` (boot a
guest and watch its console, QMP), :mod:`accel` (KVM or TCG).
"""
