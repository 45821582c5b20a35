#!/usr/bin/env bash
# Upstream Swift as an all-in-one on this machine, for benchmarks/object_store.py to run
# side by side with tinystack: a proxy (healthcheck, memcache, TempAuth) and account,
# container and object servers over 3 device directories in 3 zones, replicas 3, part
# power 10 (tinystack's default layout). Configs, rings, devices and logs live in DIR.
#
#   python3 -m venv /work/swift-upstream && /work/swift-upstream/bin/pip install swift==2.38.0
#   apt-get install memcached          # TempAuth keeps its tokens in memcache
#   benchmarks/upstream_swift.sh start /tmp/swift-aio 21380
#   python benchmarks/object_store.py --v1-auth-url http://127.0.0.1:21380/auth/v1.0 \
#       --v1-user test:tester --v1-key testing
#   benchmarks/upstream_swift.sh stop /tmp/swift-aio
#
# Ports: BASE (proxy), BASE+1 object, BASE+2 container, BASE+3 account, BASE+4 memcached.
# Processes are stopped by the PIDs recorded in DIR/pids.
set -euo pipefail

ACTION=${1:?start or stop}
DIR=${2:-/tmp/swift-aio}
BASE=${3:-21380}
VENV=${SWIFT_VENV:-/work/swift-upstream}
export PYTHONWARNINGS=ignore
REPLICAS=${REPLICAS:-3}
PART_POWER=${PART_POWER:-10}

stop() {
    if [[ -f "$DIR/pids" ]]; then
        while read -r pid; do
            kill "$pid" 2>/dev/null || true
        done <"$DIR/pids"
        sleep 1
        while read -r pid; do
            kill -9 "$pid" 2>/dev/null || true
        done <"$DIR/pids"
        rm -f "$DIR/pids"
    fi
}

if [[ "$ACTION" == stop ]]; then
    stop
    exit 0
fi

stop
rm -rf "$DIR/devices" "$DIR/etc"
mkdir -p "$DIR/etc" "$DIR/devices" "$DIR/run" "$DIR/log"
for dev in d1 d2 d3; do mkdir -p "$DIR/devices/$dev"; done
ETC=$DIR/etc
USER_NAME=$(id -un)

cat >"$ETC/swift.conf" <<EOF
[swift-hash]
swift_hash_path_suffix = $(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
swift_hash_path_prefix =

[storage-policy:0]
name = Policy-0
default = yes
EOF

common() {
    cat <<EOF
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = $1
swift_dir = $ETC
devices = $DIR/devices
mount_check = false
user = $USER_NAME
log_name = $2
log_address = /nonexistent
log_udp_host = 127.0.0.1
log_udp_port = 9
EOF
}

{
    common "$BASE" proxy-server
    cat <<EOF

[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats tempauth copy dlo slo proxy-logging proxy-server

[app:proxy-server]
use = egg:swift#proxy
allow_account_management = true
account_autocreate = true

[filter:tempauth]
use = egg:swift#tempauth
user_admin_admin = admin .admin .reseller_admin
user_test_tester = testing .admin

[filter:cache]
use = egg:swift#memcache
memcache_servers = 127.0.0.1:$((BASE + 4))

[filter:catch_errors]
use = egg:swift#catch_errors
[filter:gatekeeper]
use = egg:swift#gatekeeper
[filter:healthcheck]
use = egg:swift#healthcheck
[filter:proxy-logging]
use = egg:swift#proxy_logging
[filter:listing_formats]
use = egg:swift#listing_formats
[filter:copy]
use = egg:swift#copy
[filter:dlo]
use = egg:swift#dlo
[filter:slo]
use = egg:swift#slo
EOF
} >"$ETC/proxy-server.conf"

port=$((BASE + 1))
for server in object container account; do
    {
        common "$port" "$server-server"
        cat <<EOF

[pipeline:main]
pipeline = healthcheck recon $server-server

[app:$server-server]
use = egg:swift#$server

[filter:healthcheck]
use = egg:swift#healthcheck
[filter:recon]
use = egg:swift#recon
recon_cache_path = $DIR/run

[$server-replicator]
[$server-updater]
[$server-auditor]
EOF
    } >"$ETC/$server-server.conf"
    builder="$ETC/$server.builder"
    "$VENV/bin/swift-ring-builder" "$builder" create "$PART_POWER" "$REPLICAS" 1 >/dev/null
    zone=1
    for dev in d1 d2 d3; do
        "$VENV/bin/swift-ring-builder" "$builder" add \
            "r1z$zone-127.0.0.1:$port/$dev" 100 >/dev/null
        zone=$((zone + 1))
    done
    "$VENV/bin/swift-ring-builder" "$builder" rebalance >/dev/null || true
    port=$((port + 1))
done

: >"$DIR/pids"
memcached -l 127.0.0.1 -p $((BASE + 4)) -U 0 -u "$USER_NAME" -m 64 >"$DIR/log/memcached.log" 2>&1 &
echo $! >>"$DIR/pids"
for server in object container account proxy; do
    "$VENV/bin/swift-$server-server" "$ETC/$server-server.conf" >"$DIR/log/$server.log" 2>&1 &
    echo $! >>"$DIR/pids"
done
for _ in $(seq 100); do
    if curl -fs "http://127.0.0.1:$BASE/healthcheck" >/dev/null; then
        echo "upstream Swift proxy at http://127.0.0.1:$BASE (auth/v1.0, test:tester / testing)"
        exit 0
    fi
    sleep 0.2
done
echo "upstream Swift did not answer; logs in $DIR/log" >&2
exit 1
