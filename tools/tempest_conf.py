"""Write a tempest.conf for a running tinystack (used by tools/tempest.sh).

    .venv/bin/python tools/tempest_conf.py <state_dir> [options] > tempest.conf

Reads the admin credentials from the state directory (clouds.yaml, secrets.json) and
asks the cloud what it has: services in the catalog, the networking extensions it
lists, the public network, images and flavors, so Tempest runs exactly the tests of
what is implemented.

Validation (Tempest logging into guests over SSH) is off unless ``--validation`` is
given; then the guests must be reachable from where Tempest runs (real guests: the
QEMU driver and the Linux data plane), and the ``--ssh-*`` options say how the image
takes logins (``--help`` lists them).
"""

from __future__ import annotations

import argparse
import configparser
import json
import os
import sys
from pathlib import Path
from typing import Any


def _answers(conn: Any, url: str, version: str, ok: tuple[int, ...] = (200,)) -> bool:
    """Whether the volume API serves ``url`` (a feature another change may add)."""
    headers = {"OpenStack-API-Version": f"volume {version}"}
    response = conn.session.get(url, headers=headers, raise_exc=False, endpoint_filter=None)
    return bool(response.status_code in ok)


def volume_section(conn: Any, with_compute: bool) -> list[str]:
    """[volume] and its feature flags: what the block storage service serves."""
    endpoint = conn.block_storage.get_endpoint().rstrip("/")
    root = endpoint.rsplit("/v3", 1)[0]
    version = conn.session.get(root + "/v3/", endpoint_filter=None).json()["versions"][0]
    pools = conn.session.get(
        endpoint + "/scheduler-stats/get_pools?detail=true", endpoint_filter=None
    ).json()["pools"]
    caps = pools[0]["capabilities"] if pools else {}
    snapshots = _answers(conn, endpoint + "/snapshots", "3.0")
    backups = _answers(conn, endpoint + "/backups", "3.0")
    # without a host the manageable lists answer 400 where they are served
    manage = _answers(conn, endpoint + "/manageable_volumes", "3.8", (200, 400))
    manage_snapshots = _answers(conn, endpoint + "/manageable_snapshots", "3.8", (200, 400))
    attachments = _answers(conn, endpoint + "/attachments", "3.27")
    multiattach = _multiattach_type(conn, endpoint)
    return [
        "[volume]",
        "catalog_type = block-storage",
        f"backend_names = {caps.get('volume_backend_name', 'file')}",
        f"storage_protocol = {caps.get('storage_protocol', 'NBD')}",
        f"vendor_name = {caps.get('vendor_name', 'tinystack')}",
        "volume_size = 1",
        f"min_microversion = {version['min_version']}",
        f"max_microversion = {version['version']}",
        "build_timeout = 120",
        *_manage_refs(caps.get("storage_protocol", "NBD")),
        f"volume_type_multiattach = {multiattach}",
        "[volume-feature-enabled]",
        "multi_backend = false",
        f"snapshot = {snapshots}".lower(),
        f"backup = {backups}".lower(),
        "clone = true",
        f"manage_volume = {manage}".lower(),
        f"manage_snapshot = {manage_snapshots}".lower(),
        f"extend_attached_volume = {attachments}".lower(),
        f"volume_revert = {snapshots}".lower(),
        "cluster_active_active = false",
        # the image/volume/server dependency tests of tempest.api.image
        f"enable_volume_image_dep_tests = {with_compute}".lower(),
        "api_extensions = all",
    ]


def _manage_refs(protocol: str) -> list[str]:
    """What an unmanaged volume's and snapshot's data are called on the backend."""
    if protocol == "ceph":  # the rbd driver: unmanaged-volume-<id>, snapshot-<id>
        return [
            "manage_volume_ref = source-name,unmanaged-volume-%s",
            "manage_snapshot_ref = source-name,snapshot-%s",
        ]
    # the file driver keeps them as unmanaged-<id>.<format>, unmanaged-snapshot-<id>.<format>
    return [
        "manage_volume_ref = source-name,unmanaged-%s.qcow2",
        "manage_snapshot_ref = source-name,unmanaged-snapshot-%s.qcow2",
    ]


def _multiattach_type(conn: Any, endpoint: str) -> str:
    """The public volume type whose volumes are multiattach (made once, as DevStack
    does), for Tempest's ``[volume] volume_type_multiattach``."""
    name = "multiattach"
    found = conn.session.get(endpoint + "/types", endpoint_filter=None).json()["volume_types"]
    if not any(t["name"] == name for t in found):
        body = {"volume_type": {"name": name, "extra_specs": {"multiattach": "<is> True"}}}
        conn.session.post(endpoint + "/types", json=body, endpoint_filter=None)
    return name


def _import_plugins(state: Path) -> list[str]:
    """``[image] import_plugins`` of the cloud's tinystack.conf in ``state``, if any."""
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.read(state / "tinystack.conf")
    raw = parser.get("image", "import_plugins", fallback="")
    return [p.strip() for p in raw.split(",") if p.strip()]


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Write a tempest.conf for a running tinystack.")
    parser.add_argument("state_dir", type=Path, help="the running cloud's state directory")
    parser.add_argument(
        "--public-network",
        default="public",
        help="the external network (floating IPs, routers' gateways; default: public)",
    )
    group = parser.add_argument_group("validation (Tempest logs into guests over SSH)")
    group.add_argument(
        "--validation", action="store_true", help="[validation] run_validation = true"
    )
    group.add_argument(
        "--connect-method",
        choices=("floating", "fixed"),
        default="floating",
        help="floating: through a floating IP of the public network (default); fixed: the "
        "server's address on --network-for-ssh",
    )
    group.add_argument(
        "--network-for-ssh",
        default=None,
        help="the network whose address 'fixed' logs into (default: the public network)",
    )
    group.add_argument("--ssh-user", default="root", help="the image's login (default: root)")
    group.add_argument(
        "--ssh-password", default=None, help="that login's password (default: Tempest's)"
    )
    group.add_argument(
        "--ssh-key-type",
        choices=("ecdsa", "rsa"),
        default="ecdsa",
        help="ecdsa: Tempest makes the validation key pair itself (default); rsa: it asks "
        "the compute API to generate one (before microversion 2.92 only)",
    )
    group.add_argument(
        "--ssh-timeout",
        type=int,
        default=300,
        help="seconds Tempest tries to log into a guest (default: 300)",
    )
    return parser.parse_args(argv)


def validation_lines(args: argparse.Namespace) -> list[str]:
    """Tempest's ``[validation]``: off, or how it reaches and logs into guests."""
    if not args.validation:
        return ["[validation]", "run_validation = false"]
    password = (
        [
            f"image_ssh_password = {args.ssh_password}",
            f"image_alt_ssh_password = {args.ssh_password}",
        ]
        if args.ssh_password
        else []
    )
    return [
        "[validation]",
        "run_validation = true",
        # the validation security group admits ssh and ping, as Tempest's default
        "security_group = true",
        "security_group_rules = true",
        f"connect_method = {args.connect_method}",
        "auth_method = keypair",
        "ip_version_for_ssh = 4",
        f"network_for_ssh = {args.network_for_ssh or args.public_network}",
        f"image_ssh_user = {args.ssh_user}",
        f"image_alt_ssh_user = {args.ssh_user}",
        *password,
        f"ssh_key_type = {args.ssh_key_type}",
        f"ssh_timeout = {args.ssh_timeout}",
    ]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    state = Path(args.state_dir)
    os.environ["OS_CLIENT_CONFIG_FILE"] = str(state / "clouds.yaml")
    import openstack

    conn = openstack.connect(cloud="tinystack-admin")
    auth: dict[str, Any] = conn.config.config["auth"]
    password = json.loads((state / "secrets.json").read_text())["admin"]
    services = {s.type for s in conn.identity.services()}
    compliance_identity, compliance = security_compliance(state)
    lines = [
        "[DEFAULT]",
        "log_dir = logs",
        "[oslo_concurrency]",
        "lock_path = lock",
        "[auth]",
        "use_dynamic_credentials = true",
        "create_isolated_networks = true",
        "admin_username = admin",
        f"admin_password = {password}",
        "admin_project_name = admin",
        "admin_domain_name = Default",
        "tempest_roles = member",
        "[identity]",
        *compliance_identity,
        f"uri_v3 = {auth['auth_url']}",
        # an https cloud ([DEFAULT] tls_cert_file): its CA, as clouds.yaml names it
        *(
            [f"ca_certificates_file = {conn.config.config['cacert']}"]
            if conn.config.config.get("cacert")
            else []
        ),
        "auth_version = v3",
        "region = RegionOne",
        "[identity-feature-enabled]",
        # domain-specific configuration and LDAP-backed domains (/v3/domains/{id}/config)
        "domain_specific_drivers = true",
        *compliance,
        "application_credentials = true",
        "access_rules = true",
        "project_tags = true",
        "trust = true",
    ]
    if "network" in services:
        public = conn.network.find_network(args.public_network)
        aliases = sorted(e.alias for e in conn.network.extensions())
        lines += [
            "[network]",
            f"public_network_id = {public.id if public else ''}",
            f"floating_network_name = {args.public_network}",
            "project_network_cidr = 10.100.0.0/16",
            "[network-feature-enabled]",
            "ipv6 = true",
            "ipv6_subnet_attributes = true",
            "floating_ips = true",
            f"api_extensions = {','.join(aliases)}",
        ]
    if "compute" in services:
        endpoint = conn.compute.get_endpoint()
        version = conn.session.get(endpoint, endpoint_filter=None).json()["version"]
        images = public_images(conn)
        flavors = sorted(conn.compute.flavors(), key=lambda f: (f.ram, f.id))
        # the move tests (cold and live migration: local disks copied, block migration)
        # skip below two compute nodes
        nodes = sum(1 for h in conn.compute.hypervisors() if h.state == "up")
        lines += [
            "[compute]",
            f"image_ref = {images[0] if images else ''}",
            f"image_ref_alt = {images[1] if len(images) > 1 else (images[0] if images else '')}",
            f"flavor_ref = {flavors[0].id if flavors else ''}",
            f"flavor_ref_alt = {flavors[1].id if len(flavors) > 1 else ''}",
            "min_microversion = 2.1",
            f"max_microversion = {version['version']}",  # tests of newer ones skip
            f"min_compute_nodes = {max(1, nodes)}",
            "[compute-feature-enabled]",
            "console_output = true",
            "snapshot = true",
            "resize = true",
            # volumes: no encryption, swap only while the block storage service migrates;
            # multiattach volumes (raw files, share-rw) in the QEMU and fake drivers
            "attach_encrypted_volume = false",
            "swap_volume = false",
            "volume_multiattach = true",
            # rescue disk added after the server's disks (hw_rescue_*), volume-backed too
            "stable_rescue = true",
            f"live_migration = {nodes >= 2}".lower(),
            "block_migration_for_live_migration = true",
            # volumes move with a live migration (their attachments follow the guest)
            f"volume_backed_live_migration = {nodes >= 2}".lower(),
            "block_migrate_cinder_iscsi = false",
        ]
    if "image" in services:
        lines += image_lines(conn, _import_plugins(state))
    if "compute" not in services and "image" in services:
        # volumes from images take the image from [compute] image_ref
        images = public_images(conn)
        lines += ["[compute]", f"image_ref = {images[0] if images else ''}"]
    if "block-storage" in services:
        lines += volume_section(conn, "compute" in services)
    if "object-store" in services:
        lines += object_storage_lines(conn)
    if "load-balancer" in services:
        lines += load_balancer_lines(conn)
    lines += [
        "[service_available]",
        f"nova = {'compute' in services}".lower(),
        f"glance = {'image' in services}".lower(),
        f"neutron = {'network' in services}".lower(),
        f"cinder = {'block-storage' in services}".lower(),
        f"swift = {'object-store' in services}".lower(),
        f"load_balancer = {'load-balancer' in services}".lower(),
        "horizon = false",
        *validation_lines(args),
    ]
    print("\n".join(lines))
    return 0


def public_images(conn: Any) -> list[str]:
    """The active public images, the cloud's own: not the private or shared ones a
    Tempest run may leave behind (a backup its test never deletes), which the next run's
    projects could not boot."""
    return [i.id for i in conn.image.images() if i.status == "active" and i.visibility == "public"]


def security_compliance(state: Path) -> tuple[list[str], list[str]]:
    """Tempest's ``[identity] user_*`` options and the ``security_compliance`` flag, from
    the cloud's own ``[security_compliance]`` (Tempest's values must equal Keystone's).

    The cloud's configuration is ``$TINYSTACK_CONFIG`` (as the CLI reads it) or
    ``<state_dir>/tinystack.conf``; without a ``[security_compliance]`` section there,
    the feature is off and Tempest skips its tests.
    """
    path = Path(os.environ.get("TINYSTACK_CONFIG") or state / "tinystack.conf")
    parser = configparser.RawConfigParser(strict=False)
    parser.read(path)
    if not parser.has_section("security_compliance"):
        return [], ["security_compliance = false"]
    section = parser["security_compliance"]
    attempts = section.getint("lockout_failure_attempts", fallback=0)
    return [
        f"user_lockout_failure_attempts = {attempts}",
        f"user_lockout_duration = {section.getint('lockout_duration', fallback=1800)}",
        "user_unique_last_password_count = "
        f"{section.getint('unique_last_password_count', fallback=0)}",
        f"user_minimum_password_age = {section.getint('minimum_password_age', fallback=0)}",
    ], ["security_compliance = true"]


def object_storage_lines(conn: Any) -> list[str]:
    """[object-storage] and its feature flags from what ``/info`` advertises (Tempest's
    ``discoverable_apis``: a test of a middleware runs only when its section is there).
    The reseller admin role is the cloud's own (identity's bootstrap creates it when an
    object store runs, as devstack does with Swift)."""
    endpoint = conn.object_store.get_endpoint().rstrip("/")
    root = endpoint.split("/v1/", 1)[0]
    info = conn.session.get(root + "/info", endpoint_filter=None).json()
    apis = sorted(k for k in info if k != "swift")
    digests = info.get("tempurl", {}).get("allowed_digests", [])
    return [
        "[object-storage]",
        "operator_role = member",
        "reseller_admin_role = ResellerAdmin",
        "[object-storage-feature-enabled]",
        f"discoverable_apis = {','.join(apis)}",
        "discoverability = true",
        f"container_sync = {'container_sync' in info}".lower(),
        f"object_versioning = {'versioned_writes' in info}".lower(),
        f"tempurl_digest_hashlib = {'sha256' if 'sha256' in digests else 'sha1'}",
    ]


def load_balancer_lines(conn: Any) -> list[str]:
    """octavia-tempest-plugin's sections: its tests run on the no-op provider (always
    enabled; the API without HAProxy namespaces) against the cloud's real networks, so
    not its ``test_with_noop`` mode (that one fakes the subnet ids Neutron is asked
    about). No key manager: no TERMINATED_HTTPS. The plugin's tests need compute and
    image in the catalog (``tinystack up`` with the fake compute driver will do)."""
    root = conn.load_balancer.get_endpoint().rstrip("/").split("/v2", 1)[0]
    providers = conn.session.get(root + "/v2/lbaas/providers", endpoint_filter=None)
    # a DictOpt: "name:description" pairs split at commas
    drivers = ",".join(
        f"{p['name']}:{p['description'].replace(',', ';')}" for p in providers.json()["providers"]
    )
    return [
        "[load_balancer]",
        "provider = noop_driver",
        f"enabled_provider_drivers = {drivers}",
        "test_with_noop = false",
        "RBAC_test_type = keystone_default_roles",
        "build_interval = 0.5",
        "check_interval = 0.5",
        "lb_build_interval = 0.5",
        "build_timeout = 60",
        "check_timeout = 60",
        "lb_build_timeout = 60",
        "[loadbalancer-feature-enabled]",
        "terminated_tls_enabled = false",
    ]


UNREACHABLE = "http://127.0.0.1:9"


def image_lines(conn: Any, plugins: list[str]) -> list[str]:
    """What the image service offers: import methods, stores, the cache, web images.

    ``TINYSTACK_TEMPEST_HTTP_IMAGE`` / ``TINYSTACK_TEMPEST_HTTP_QCOW2_IMAGE`` name images a
    local web server serves (Tempest's defaults are on the internet, which the cloud may
    not reach and its import filter may refuse). ``plugins``: the cloud's import plugins
    (from its tinystack.conf; the API does not list them).
    """
    endpoint = conn.image.get_endpoint().rstrip("/").removesuffix("/v2")
    get = conn.session.get
    methods = get(f"{endpoint}/v2/info/import").json()["import-methods"]["value"]
    stores = get(f"{endpoint}/v2/info/stores").json().get("stores", [])
    caching = get(f"{endpoint}/v2/cache", raise_exc=False).status_code == 200
    # show_multiple_locations: an image's view has its locations (admin may read them)
    listed = get(f"{endpoint}/v2/images?limit=1").json()["images"]
    shown = get(f"{endpoint}/v2/images/{listed[0]['id']}").json() if listed else {}
    manage_locations = "locations" in shown
    lines = [
        "[image]",
        f"import_methods = {','.join(methods)}",
        f"image_caching_enabled = {str(caching).lower()}",
    ]
    # never Tempest's defaults (on the internet): without a local server the web tests
    # point at a closed local port and fail there, nothing leaves the machine
    http_image = os.environ.get("TINYSTACK_TEMPEST_HTTP_IMAGE")
    lines.append(f"http_image = {http_image or UNREACHABLE + '/img.tar.gz'}")
    http_qcow2 = os.environ.get("TINYSTACK_TEMPEST_HTTP_QCOW2_IMAGE")
    lines.append(f"http_qcow2_image = {http_qcow2 or UNREACHABLE + '/img.qcow2'}")
    # ImagesFormatTest: a manifest of images in several formats (os-test-images' layout)
    manifest = os.environ.get("TINYSTACK_TEMPEST_IMAGES_MANIFEST")
    if manifest:
        lines.append(f"images_manifest_file = {manifest}")
    lines += [
        "[image-feature-enabled]",
        "import_image = true",
        "os_glance_reserved = true",
        f"http_store_enabled = {str(bool(http_image)).lower()}",
        f"manage_locations = {str(manage_locations).lower()}",
        f"image_conversion = {str('image_conversion' in plugins).lower()}",
        f"store_weight_enabled = {str(len({s.get('weight', 0) for s in stores}) > 1).lower()}",
    ]
    return lines


if __name__ == "__main__":
    sys.exit(main())
