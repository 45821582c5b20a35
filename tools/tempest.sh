#!/usr/bin/env bash
# Run Tempest (the OpenStack conformance suite) against a running tinystack.
#   tools/tempest.sh <state_dir> [regex]     e.g. tools/tempest.sh ~/.local/share/tinystack '^tempest\.api\.identity\.'
# Installs tempest 47 into .venv-tempest on first use; writes a workspace under <state_dir>/tempest.
set -euo pipefail
STATE=${1:?state directory of a running cloud}
REGEX=${2:-'^tempest\.api\.identity\.'}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
VENV=$ROOT/.venv-tempest
[ -x "$VENV/bin/tempest" ] || { python3 -m venv "$VENV" && "$VENV/bin/pip" install -q tempest==47.0.0; }
AUTH_URL=$(python3 -c "import yaml,sys;print(yaml.safe_load(open('$STATE/clouds.yaml'))['clouds']['tinystack-admin']['auth']['auth_url'])" 2>/dev/null \
  || "$ROOT/.venv/bin/python" -c "import yaml;print(yaml.safe_load(open('$STATE/clouds.yaml'))['clouds']['tinystack-admin']['auth']['auth_url'])")
PASSWORD=$("$ROOT/.venv/bin/python" -c "import json;print(json.load(open('$STATE/secrets.json'))['admin'])")
WS=$STATE/tempest
[ -d "$WS" ] || "$VENV/bin/tempest" init "$WS" >/dev/null
cat > "$WS/etc/tempest.conf" <<CONF
[DEFAULT]
log_dir = logs
[oslo_concurrency]
lock_path = lock
[auth]
use_dynamic_credentials = true
admin_username = admin
admin_password = $PASSWORD
admin_project_name = admin
admin_domain_name = Default
tempest_roles = member
[identity]
uri_v3 = $AUTH_URL
auth_version = v3
region = RegionOne
[identity-feature-enabled]
security_compliance = false
application_credentials = true
access_rules = false
project_tags = true
trust = false
[service_available]
nova = false
glance = false
neutron = false
cinder = false
swift = false
horizon = false
[validation]
run_validation = false
CONF
cd "$WS" && "$VENV/bin/tempest" run --regex "$REGEX" --concurrency 2
