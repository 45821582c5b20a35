"""The shell side of the test guest: /init, the boot script and its functions, config files.

Everything runs under busybox ``sh`` (ash). The boot logic lives in
:data:`FUNCTIONS` (installed as ``/lib/tinystack/functions.sh``) so that the unit
tests can source it with the host's busybox and exercise the JSON extraction,
the metadata handling and the DHCP script without booting anything. Every path
the functions touch can be redirected with a ``TS_*`` environment variable.

Console lines other code relies on (exact prefixes):

- ``TINYSTACK-GUEST-INIT kernel=<release>``: /init reached userspace (the KVM probe waits
  for this one);
- ``TINYSTACK-GUEST-METADATA source=<config-drive|metadata-service|none>``;
- ``TINYSTACK-GUEST-READY hostname=<name> instance-id=<uuid> addresses=<ip,ip>``: network,
  metadata, ssh, http up; user_data started (empty value when unknown);
- ``TINYSTACK-GUEST-USERDATA exit=<status>``: the user_data script finished;
- ``TINYSTACK-GUEST-SHUTDOWN reason=<...>``: a clean shutdown began.
"""

from __future__ import annotations

#: the first line every boot prints from userspace
INIT_MARKER = "TINYSTACK-GUEST-INIT"
READY_MARKER = "TINYSTACK-GUEST-READY"
METADATA_MARKER = "TINYSTACK-GUEST-METADATA"
USERDATA_MARKER = "TINYSTACK-GUEST-USERDATA"
SHUTDOWN_MARKER = "TINYSTACK-GUEST-SHUTDOWN"

#: kernel command line: the last console= is /dev/console (the serial port);
#: ``no_timer_check`` as cloud images have it: under TCG on a loaded host the kernel's
#: check of the IO-APIC timer can fail and leave the guest stuck at its first second
KERNEL_CMDLINE = "console=tty0 console=ttyS0,115200n8 no_timer_check"

#: password of the CirrOS-style unprivileged user (ssh with a password works for it)
CIRROS_PASSWORD = "gocubsgo"  # CirrOS' well-known default, test guests only

INIT = f"""#!/bin/sh
# tinystack test guest: PID 1 until busybox init takes over (see /etc/inittab)
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc -o nosuid,nodev,noexec proc /proc
mount -t sysfs -o nosuid,nodev,noexec sysfs /sys
mount -t devtmpfs -o mode=0755,nosuid devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /run
echo "{INIT_MARKER} kernel=$(uname -r)"
exec /sbin/init
"""

INITTAB = """\
::sysinit:/etc/init.d/rcS
ttyS0::respawn:/sbin/getty -L 115200 ttyS0 vt100
tty1::respawn:/sbin/getty 38400 tty1
::ctrlaltdel:/sbin/reboot
::shutdown:/etc/init.d/rcK
::restart:/sbin/init
"""

RCS = """#!/bin/sh
. /lib/tinystack/functions.sh
ts_main
"""

RCK = f"""#!/bin/sh
echo "{SHUTDOWN_MARKER} reason=$(cat /run/tinystack/shutdown-reason 2>/dev/null || echo requested)"
for p in /run/*.pid; do [ -f "$p" ] && kill "$(cat "$p")" 2>/dev/null; done
sync
"""

#: busybox acpid runs /etc/acpi/PWRF/00000080 on the ACPI power button
ACPI_POWER = """#!/bin/sh
mkdir -p /run/tinystack
echo acpi-power-button > /run/tinystack/shutdown-reason
exec /bin/busybox poweroff
"""

UDHCPC_SCRIPT = r"""#!/bin/sh
# udhcpc event handler: $1 is deconfig|bound|renew|leasefail|nak, options in the environment
RESOLV_CONF=${TS_RESOLV_CONF:-/etc/resolv.conf}
STATE=${TS_STATE:-/run/tinystack}

metric() {
    n=${interface#"${interface%%[0-9]*}"}
    echo $((100 + ${n:-0}))
}

case "$1" in
deconfig)
    ip -4 addr flush dev "$interface"
    ip link set dev "$interface" up
    ;;
bound|renew)
    [ -n "$mtu" ] && ip link set dev "$interface" mtu "$mtu"
    old=$(cat "$STATE/dhcp.$interface.ip" 2>/dev/null)
    if [ "$old" != "$ip" ]; then
        ip -4 addr flush dev "$interface"
        ip addr add "$ip/${mask:-24}" ${broadcast:+broadcast "$broadcast"} dev "$interface"
        mkdir -p "$STATE"
        echo "$ip" > "$STATE/dhcp.$interface.ip"
    fi
    if [ -n "$staticroutes" ]; then
        # RFC 3442: classless routes replace the router option
        set -- $staticroutes
        while [ $# -ge 2 ]; do
            if [ "$2" = 0.0.0.0 ]; then
                ip route replace "$1" dev "$interface"
            else
                ip route replace "$1" via "$2" dev "$interface" metric "$(metric)"
            fi
            shift 2
        done
    elif [ -n "$router" ]; then
        for gw in $router; do
            ip route replace default via "$gw" dev "$interface" metric "$(metric)"
            break
        done
    fi
    if [ -n "$dns" ]; then
        {
            [ -n "$domain" ] && echo "search $domain"
            for ns in $dns; do echo "nameserver $ns"; done
        } > "$RESOLV_CONF"
    fi
    [ -n "$hostname" ] && mkdir -p "$STATE" && echo "$hostname" > "$STATE/dhcp-hostname"
    ;;
esac
exit 0
"""

#: flattens JSON into "path<TAB>value" lines: {"a": {"b": ["x"]}} -> "a.b.0<TAB>x"; a string
#: holding newlines gives one line per non-empty piece; numbers/true/false/null come out raw
JSON_FLATTEN_AWK = r"""
function hexval(h,   v, k) {
    v = 0
    h = tolower(h)
    for (k = 1; k <= length(h); k++) v = v * 16 + index("0123456789abcdef", substr(h, k, 1)) - 1
    return v
}
function parse_string(   out, c) {
    pos++
    out = ""
    while (pos <= n) {
        c = substr(s, pos, 1)
        if (c == "\"") { pos++; return out }
        if (c == "\\") {
            c = substr(s, pos + 1, 1)
            pos += 2
            if (c == "n") out = out "\n"
            else if (c == "t") out = out "\t"
            else if (c == "u") {
                c = hexval(substr(s, pos, 4))
                pos += 4
                out = out ((c >= 32 && c < 127) ? sprintf("%c", c) : "?")
            }
            else if (c == "r" || c == "b" || c == "f") { }
            else out = out c
            continue
        }
        out = out c
        pos++
    }
    return out
}
function path(   p, d) {
    p = ""
    for (d = 1; d <= depth; d++) p = (d == 1) ? key[d] : p "." key[d]
    return p
}
function emit(val,   parts, k, m) {
    m = split(val, parts, "\n")
    if (m == 0) { print path() "\t"; return }
    for (k = 1; k <= m; k++) if (parts[k] != "" || m == 1) print path() "\t" parts[k]
}
{ buf = buf $0 "\n" }
END {
    s = buf
    n = length(s)
    pos = 1
    depth = 0
    while (pos <= n) {
        c = substr(s, pos, 1)
        if (c == "{") { depth++; kind[depth] = "o"; key[depth] = ""; want_key[depth] = 1; pos++ }
        else if (c == "[") { depth++; kind[depth] = "a"; key[depth] = 0; pos++ }
        else if (c == "}" || c == "]") { depth--; pos++ }
        else if (c == ",") {
            if (kind[depth] == "a") key[depth]++
            else want_key[depth] = 1
            pos++
        }
        else if (c == ":") { want_key[depth] = 0; pos++ }
        else if (c == "\"") {
            v = parse_string()
            if (kind[depth] == "o" && want_key[depth]) key[depth] = v
            else emit(v)
        }
        else if (c == " " || c == "\t" || c == "\n" || c == "\r") pos++
        else {
            j = pos
            while (j <= n && index(",}] \t\r\n", substr(s, j, 1)) == 0) j++
            emit(substr(s, pos, j - pos))
            pos = j
        }
    }
}
"""

FUNCTIONS = (
    r"""# tinystack test guest: boot functions (busybox ash). Sourced by /etc/init.d/rcS.
TS_STATE=${TS_STATE:-/run/tinystack}
TS_ETC=${TS_ETC:-/etc}
TS_WWW=${TS_WWW:-/var/www}
TS_LOG_DIR=${TS_LOG_DIR:-/var/log}
TS_MD_URL=${TS_MD_URL:-http://169.254.169.254}
TS_MD_TRIES=${TS_MD_TRIES:-6}
TS_MD_TIMEOUT=${TS_MD_TIMEOUT:-2}
TS_CD_MNT=${TS_CD_MNT:-/mnt/config}
# module loading waits for the disks' async probing, so the drive is there at once if at all
TS_CD_TRIES=${TS_CD_TRIES:-3}
TS_DHCP_TRIES=${TS_DHCP_TRIES:-5}
# "user:home" pairs that receive the instance's public keys
TS_KEY_USERS=${TS_KEY_USERS:-root:/root cirros:/home/cirros}
TS_DEFAULT_HOSTNAME=${TS_DEFAULT_HOSTNAME:-tinystack-guest}
TS_HOSTNAME=
TS_INSTANCE_ID=
TS_MD_SOURCE=none
TS_KEYGEN_PID=

ts_log() {
    echo "tinystack: $*"
}

ts_uptime() {
    cut -d ' ' -f 1 /proc/uptime
}

json_flatten() {
    awk '"""
    + JSON_FLATTEN_AWK
    + r"""' "$@"
}

# json_get FILE PATH: the first value at PATH ("uuid", "meta.role", "keys.0.data")
json_get() {
    [ -f "$1" ] || return 1
    json_flatten "$1" | awk -v want="$2" 'BEGIN { FS = "\t" }
        $1 == want { print substr($0, length($1) + 2); exit }'
}

# json_get_prefix FILE PREFIX: every value whose path starts with PREFIX, without duplicates
json_get_prefix() {
    [ -f "$1" ] || return 1
    json_flatten "$1" | awk -v want="$2" 'BEGIN { FS = "\t" }
        index($1, want) == 1 { v = substr($0, length($1) + 2); if (v != "" && !seen[v]++) print v }'
}

ts_load_modules() {
    local dir mod
    dir=/lib/modules/$(uname -r)
    [ -f "$dir/tinystack.load" ] || return 0
    while read -r mod; do
        [ -n "$mod" ] && insmod "$dir/$mod" 2>/dev/null
    done < "$dir/tinystack.load"
    return 0
}

ts_net_ifaces() {
    local d n
    for d in /sys/class/net/*; do
        n=${d##*/}
        [ "$n" = lo ] || [ ! -e "$d/device" ] && continue
        echo "$n"
    done
}

ts_up_network() {
    local i pids=
    ip link set lo up
    for i in $(ts_net_ifaces); do
        ip link set dev "$i" up
        # -b: a lease, or TS_DHCP_TRIES seconds without one, sends udhcpc to the background
        udhcpc -i "$i" -s /usr/share/udhcpc/default.script -p "/run/udhcpc.$i.pid" \
            -t "$TS_DHCP_TRIES" -T 1 -A 10 -b -O mtu -O staticroutes &
        pids="$pids $!"
    done
    [ -z "$pids" ] || wait $pids
}

# ts_addresses: the global IPv4 addresses, comma separated
ts_addresses() {
    ip -4 -o addr show scope global 2>/dev/null | awk '{ split($4, a, "/");
        printf "%s%s", sep, a[1]; sep = "," }'
}

ts_find_config_drive() {
    local label dev
    for label in config-2 CONFIG-2; do
        dev=$(findfs "LABEL=$label" 2>/dev/null) && [ -n "$dev" ] && { echo "$dev"; return 0; }
    done
    blkid 2>/dev/null | sed -n -e 's/^\([^:]*\):.* LABEL="config-2".*/\1/p' \
        -e 's/^\([^:]*\):.* LABEL="CONFIG-2".*/\1/p' | head -n 1 | grep .
}

# ts_copy_openstack_tree ROOT DEST: the OpenStack metadata files of ROOT/openstack/latest
ts_copy_openstack_tree() {
    local f
    [ -f "$1/openstack/latest/meta_data.json" ] || return 1
    mkdir -p "$2"
    for f in meta_data.json user_data network_data.json vendor_data.json vendor_data2.json; do
        [ -f "$1/openstack/latest/$f" ] && cp "$1/openstack/latest/$f" "$2/$f"
    done
    return 0
}

# ts_read_config_drive DEST: copy the metadata of a config-2 filesystem, if one is attached
ts_read_config_drive() {
    local tries dev rc
    tries=$TS_CD_TRIES
    while ! dev=$(ts_find_config_drive); do
        tries=$((tries - 1))
        [ "$tries" -gt 0 ] || return 1
        sleep 0.2
    done
    mkdir -p "$TS_CD_MNT"
    mount -o ro "$dev" "$TS_CD_MNT" 2>/dev/null || { ts_log "cannot mount $dev"; return 1; }
    ts_copy_openstack_tree "$TS_CD_MNT" "$1"
    rc=$?
    umount "$TS_CD_MNT"
    [ "$rc" = 0 ] && ts_log "metadata from config drive $dev"
    return $rc
}

# ts_fetch_metadata_service DEST: the OpenStack metadata from TS_MD_URL, retried
ts_fetch_metadata_service() {
    local base tries
    base=$TS_MD_URL/openstack/latest
    mkdir -p "$1"
    tries=$TS_MD_TRIES
    # (busybox 1.35's wget -T crashes: timeout(1) bounds each request instead)
    until timeout "$TS_MD_TIMEOUT" wget -q -O "$1/meta_data.json.part" "$base/meta_data.json"; do
        rm -f "$1/meta_data.json.part"
        tries=$((tries - 1))
        [ "$tries" -gt 0 ] || { ts_log "no metadata service at $TS_MD_URL"; return 1; }
        sleep 1
    done
    mv "$1/meta_data.json.part" "$1/meta_data.json"
    # a 404 here only means the instance has no user_data
    if timeout "$TS_MD_TIMEOUT" wget -q -O "$1/user_data.part" "$base/user_data" 2>/dev/null; then
        mv "$1/user_data.part" "$1/user_data"
    else
        rm -f "$1/user_data.part"
    fi
    ts_log "metadata from $TS_MD_URL"
    return 0
}

# ts_clean_hostname NAME: first label, characters a hostname may hold, at most 63 of them
ts_clean_hostname() {
    local h
    h=${1%%.*}
    printf '%s' "$h" | tr -c 'A-Za-z0-9-' '-' | cut -c1-63
}

# ts_apply_metadata DIR: TS_HOSTNAME, TS_INSTANCE_ID and DIR/authorized_keys from DIR/meta_data.json
ts_apply_metadata() {
    local md name
    mkdir -p "$1"
    md=$1/meta_data.json
    TS_INSTANCE_ID=$(json_get "$md" uuid 2>/dev/null)
    name=$(json_get "$md" hostname 2>/dev/null)
    [ -n "$name" ] || name=$(json_get "$md" name 2>/dev/null)
    [ -n "$name" ] || name=$(cat "$TS_STATE/dhcp-hostname" 2>/dev/null)
    TS_HOSTNAME=$(ts_clean_hostname "$name")
    [ -n "$TS_HOSTNAME" ] || TS_HOSTNAME=$TS_DEFAULT_HOSTNAME
    {
        json_get_prefix "$md" public_keys.
        json_flatten "$md" 2>/dev/null | awk 'BEGIN { FS = "\t" }
            $1 ~ /^keys\.[0-9]+\.data$/ { print substr($0, length($1) + 2) }'
    } 2>/dev/null | awk 'NF && !seen[$0]++' > "$1/authorized_keys"
}

# ts_install_keys FILE: FILE becomes ~/.ssh/authorized_keys of every TS_KEY_USERS entry
ts_install_keys() {
    local entry user home
    [ -s "$1" ] || return 0
    for entry in $TS_KEY_USERS; do
        user=${entry%%:*}
        home=${entry#*:}
        mkdir -p "$home/.ssh"
        cp "$1" "$home/.ssh/authorized_keys"
        chmod 700 "$home/.ssh"
        chmod 600 "$home/.ssh/authorized_keys"
        chown -R "$user:$user" "$home/.ssh" 2>/dev/null
    done
    ts_log "installed $(grep -c . "$1") public key(s)"
}

ts_set_hostname() {
    hostname "$TS_HOSTNAME"
    echo "$TS_HOSTNAME" > "$TS_ETC/hostname"
    printf '127.0.0.1\tlocalhost\n127.0.1.1\t%s\n::1\tlocalhost ip6-localhost\n' \
        "$TS_HOSTNAME" > "$TS_ETC/hosts"
}

# ts_run_user_data FILE: run FILE in the background when it is a script ("#!")
ts_run_user_data() {
    local script
    [ -s "$1" ] || return 0
    if [ "$(head -c 2 "$1")" != '#!' ]; then
        ts_log "user_data is not a script (no #!): not run"
        return 0
    fi
    script=$TS_STATE/user-data.script
    cp "$1" "$script"
    chmod 700 "$script"
    ts_log "running user_data"
    (
        { "$script" 2>&1; echo $? > "$TS_STATE/user-data.exit"; } | tee "$TS_LOG_DIR/user-data.log"
        echo "USERDATA_MARKER exit=$(cat "$TS_STATE/user-data.exit")"
    ) &
}

# the first getrandom() waits for the kernel's entropy: start early, overlap with DHCP
ts_start_host_key() {
    mkdir -p /etc/dropbear
    dropbearkey -t ed25519 -f /etc/dropbear/dropbear_ed25519_host_key > /dev/null 2>&1 &
    TS_KEYGEN_PID=$!
}

ts_start_services() {
    local key
    mkdir -p /etc/dropbear "$TS_WWW"
    key=/etc/dropbear/dropbear_ed25519_host_key
    [ -z "$TS_KEYGEN_PID" ] || wait "$TS_KEYGEN_PID"
    [ -s "$key" ] || dropbearkey -t ed25519 -f "$key" > /dev/null 2>&1
    # -R: other host key types on demand; -g: no password logins for root
    dropbear -R -g -p 22 -P /run/dropbear.pid
    echo "$TS_HOSTNAME" > "$TS_WWW/index.html"
    httpd -p 80 -h "$TS_WWW"
    echo "-----BEGIN SSH HOST KEY KEYS-----"
    dropbearkey -y -f "$key" 2>/dev/null | grep '^ssh-'
    echo "-----END SSH HOST KEY KEYS-----"
}

ts_main() {
    local md
    mkdir -p "$TS_STATE" "$TS_LOG_DIR" /tmp /mnt
    hostname "$TS_DEFAULT_HOSTNAME"
    ts_load_modules
    syslogd -C64
    acpid -c /etc/acpi -l "$TS_LOG_DIR/acpid.log"
    ts_log "modules loaded at $(ts_uptime)s"
    ts_start_host_key
    ts_up_network
    ts_log "network configured at $(ts_uptime)s"
    md=$TS_STATE/metadata
    if ts_read_config_drive "$md"; then
        TS_MD_SOURCE=config-drive
    elif [ -n "$(ts_addresses)" ] && ts_fetch_metadata_service "$md"; then
        TS_MD_SOURCE=metadata-service
    fi
    echo "METADATA_MARKER source=$TS_MD_SOURCE"
    ts_apply_metadata "$md"
    ts_set_hostname
    ts_install_keys "$md/authorized_keys"
    ts_start_services
    ts_log "services started at $(ts_uptime)s"
    ts_run_user_data "$md/user_data"
    echo "READY_MARKER hostname=$TS_HOSTNAME instance-id=$TS_INSTANCE_ID addresses=$(ts_addresses)"
}
"""
)
for _marker, _value in (
    ("USERDATA_MARKER", USERDATA_MARKER),
    ("METADATA_MARKER", METADATA_MARKER),
    ("READY_MARKER", READY_MARKER),
):
    FUNCTIONS = FUNCTIONS.replace(_marker, _value)

PASSWD = """\
root:x:0:0:root:/root:/bin/sh
cirros:x:1000:1000:cirros:/home/cirros:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
"""

#: crypt(3) SHA-512 of CIRROS_PASSWORD with salt "tinystack1" (``busybox mkpasswd -m sha512``)
CIRROS_PASSWORD_HASH = (
    "$6$tinystack1$"
    "rkQk53j.GNiqotCP.C63b8NoC8j7hLsDyXMdGCU1DLVyFSUa3ZS2BUYkT.umv7UTDfnb5YYSjxskJbI/BcGr.0"
)

#: root has no password (ssh keys only); cirros logs in with CIRROS_PASSWORD too
SHADOW = f"""\
root:*:19000:0:99999:7:::
cirros:{CIRROS_PASSWORD_HASH}:19000:0:99999:7:::
nobody:*:19000:0:99999:7:::
"""

GROUP = """\
root:x:0:
tty:x:5:
cirros:x:1000:
nogroup:x:65534:
"""

SHELLS = "/bin/sh\n/bin/ash\n"

PROFILE = r"""export PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PS1='\u@\h:\w\$ '
"""

ISSUE = f"""
tinystack test guest (CirrOS-like) \\n \\l
login as 'cirros' (password: '{CIRROS_PASSWORD}') or as root with an ssh key.

"""

OS_RELEASE = """\
NAME="tinystack test guest"
ID=tinystack-guest
PRETTY_NAME="tinystack test guest (CirrOS-like)"
"""

NSSWITCH = "passwd: files\ngroup: files\nshadow: files\nhosts: files dns\n"


def grub_cfg(cmdline: str = KERNEL_CMDLINE) -> str:
    """The grub.cfg of the ISO: no menu delay, serial and VGA consoles."""
    return f"""set timeout=0
set default=0
serial --unit=0 --speed=115200 --word=8 --parity=no --stop=1
terminal_input serial console
terminal_output serial console
menuentry "tinystack test guest" {{
    linux /boot/vmlinuz {cmdline}
    initrd /boot/initrd.gz
}}
"""


def etc_files() -> dict[str, tuple[str, int]]:
    """Guest path -> (content, mode) of every generated text file."""
    return {
        "init": (INIT, 0o755),
        "etc/inittab": (INITTAB, 0o644),
        "etc/init.d/rcS": (RCS, 0o755),
        "etc/init.d/rcK": (RCK, 0o755),
        "etc/acpi/PWRF/00000080": (ACPI_POWER, 0o755),
        "usr/share/udhcpc/default.script": (UDHCPC_SCRIPT, 0o755),
        "lib/tinystack/functions.sh": (FUNCTIONS, 0o644),
        "etc/passwd": (PASSWD, 0o644),
        "etc/shadow": (SHADOW, 0o600),
        "etc/group": (GROUP, 0o644),
        "etc/shells": (SHELLS, 0o644),
        "etc/profile": (PROFILE, 0o644),
        "etc/issue": (ISSUE, 0o644),
        "etc/os-release": (OS_RELEASE, 0o644),
        "etc/nsswitch.conf": (NSSWITCH, 0o644),
        "etc/hostname": ("tinystack-guest\n", 0o644),
        "etc/hosts": ("127.0.0.1\tlocalhost\n", 0o644),
        "etc/resolv.conf": ("", 0o644),
        "etc/fstab": ("", 0o644),
    }
