"""Options of the QEMU driver, in the ``[compute]`` section (registered by compute's conf)."""

from __future__ import annotations

from oslo_config import cfg

QEMU_OPTS = [
    cfg.StrOpt(
        "accel",
        default="auto",
        choices=["auto", "kvm", "tcg"],
        help="QEMU acceleration: kvm, tcg, or auto (KVM only when the test guest actually "
        "boots under it; probed once per host and cached in <state_dir>/accel-probe.json).",
    ),
    cfg.StrOpt(
        "instances_path",
        default="",
        help="Where the QEMU driver keeps instance directories (default <state_dir>/instances).",
    ),
    cfg.StrOpt(
        "image_cache_path",
        default="",
        help="Where the QEMU driver caches base images (default <state_dir>/image-cache).",
    ),
    cfg.IntOpt(
        "image_cache_max_age",
        default=86400,
        min=0,
        help="Seconds an unused cached base image is kept before the cleanup removes it.",
    ),
    cfg.BoolOpt(
        "force_config_drive",
        default=False,
        help="Give every instance a config drive, asked for or not.",
    ),
    cfg.IntOpt(
        "soft_reboot_timeout",
        default=60,
        min=0,
        help="Seconds a soft reboot (ACPI ctrl-alt-delete) may take before a hard reset.",
    ),
    cfg.StrOpt(
        "host_namespace",
        default="",
        help="Run this host's guests inside this network namespace: their taps are created "
        "there and QEMU runs there (tests, simulated hosts); empty: the root namespace. The "
        "namespace must exist.",
    ),
    cfg.StrOpt(
        "qemu_binary",
        default="",
        help="The qemu-system-x86_64 to run (default: the one on PATH).",
    ),
    cfg.StrOpt("vnc_listen", default="127.0.0.1", help="Address QEMU's VNC servers listen on."),
    cfg.PortOpt("vnc_port_min", default=5900, help="First VNC port given to instances."),
    cfg.PortOpt("vnc_port_max", default=6399, help="Last VNC port given to instances."),
    cfg.IntOpt(
        "vnc_websocket_offset",
        default=1000,
        min=1,
        help="An instance's VNC websocket port is its VNC port plus this offset.",
    ),
    cfg.StrOpt(
        "live_migration_inbound_addr",
        default="",
        help="The address this host's QEMUs listen on for incoming live migrations and "
        "their disks' NBD exports (default: my_ip, else 127.0.0.1).",
    ),
    cfg.IntOpt(
        "live_migration_downtime",
        default=500,
        min=10,
        help="Milliseconds a live migration may pause the guest to switch over (QEMU's "
        "downtime-limit; force_complete pauses the guest instead).",
    ),
    cfg.IntOpt(
        "live_migration_bandwidth",
        default=0,
        min=0,
        help="MiB/s a live migration's memory copy may use (0: as fast as it goes).",
    ),
    cfg.StrOpt(
        "rbd_secret_uuid",
        default="",
        help="The secret rbd volumes' connection infos name (the block storage "
        "backend's rbd_secret_uuid; Nova's [libvirt] rbd_secret_uuid).",
    ),
    cfg.StrOpt(
        "images_type",
        default="qcow2",
        choices=["qcow2", "rbd"],
        help="Where root disks live: qcow2 overlays on the cached image in the instance "
        "directory, or rbd: RBD images in images_rbd_pool, clones of the image's RBD "
        "snapshot when the image service stores it in the same cluster (no download), "
        "opened by QEMU through librbd as rbd_user (Nova's [libvirt] images_type).",
    ),
    cfg.StrOpt("images_rbd_pool", default="vms", help="Pool of rbd root disks."),
    cfg.StrOpt(
        "images_rbd_ceph_conf",
        default="/etc/ceph/ceph.conf",
        help="ceph.conf of the rbd root disks' cluster (monitors; rbd_user's keyring).",
    ),
    cfg.StrOpt(
        "rbd_user",
        default="cinder",
        help="cephx user of rbd root disks: rbd_secret_uuid's user, whose key rbd_keyring "
        "holds (Nova's [libvirt] rbd_user).",
    ),
    cfg.StrOpt(
        "rbd_keyring",
        default="",
        help="Ceph keyring file holding the key of rbd_secret_uuid's user; QEMU gets the "
        "key as a secret object from a 0600 file, never on its command line.",
    ),
    cfg.StrOpt(
        "libvirt_uri",
        default="qemu:///system",
        help="The libvirtd the libvirt driver (compute_driver = libvirt) runs guests under "
        "(Nova's [libvirt] connection_uri).",
    ),
    cfg.StrOpt(
        "libvirt_domain_prefix",
        default="tinystack-",
        help="The libvirt driver names an instance's domain <prefix><instance uuid>; a "
        "restarted agent adopts the domains with this prefix whose metadata names its host.",
    ),
    cfg.StrOpt(
        "libvirt_live_migration_uri",
        default="qemu+tcp://%s/system",
        help="How the libvirt driver's peers reach this host's libvirtd for a live "
        "migration to it (peer to peer); %s stands for live_migration_inbound_addr (or "
        "my_ip). Nova's [libvirt] live_migration_scheme / live_migration_uri.",
    ),
]
