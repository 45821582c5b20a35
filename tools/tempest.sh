#!/usr/bin/env bash
# Run Tempest (the OpenStack conformance suite) against a running tinystack.
#   tools/tempest.sh <state_dir> [regex]     e.g. tools/tempest.sh ~/.local/share/tinystack '^tempest\.api\.network\.'
# SDK_PYTHON= the interpreter with openstacksdk (default .venv/bin/python of this tree).
# The cloud's tinystack.conf ($TINYSTACK_CONFIG, else <state_dir>/tinystack.conf) tells
# tempest_conf.py its [security_compliance]; Tempest's identity tests want e.g.
#   [security_compliance]
#   lockout_failure_attempts = 2
#   lockout_duration = 5
#   unique_last_password_count = 2
#   minimum_password_age = 0
# (change_password_upon_first_use must stay off: Tempest logs in after admin resets).
# TEMPEST_CONF_ARGS= more options of tempest_conf.py, e.g. validation (Tempest logs into
#   guests over SSH): '--validation --ssh-user cirros --ssh-password gocubsgo'
# TEMPEST_NETNS= a network namespace to run Tempest in (made by tools/tempest_netns.sh: one
#   that reaches the cloud's API and the public network's floating IPs, as validation needs)
# TEMPEST_CONCURRENCY= workers (default 2)
# Installs tempest 47 into .venv-tempest on first use; writes a workspace under <state_dir>/tempest.
set -euo pipefail
STATE=${1:?state directory of a running cloud}
REGEX=${2:-'^tempest\.api\.identity\.'}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
VENV=$ROOT/.venv-tempest
[ -x "$VENV/bin/tempest" ] || { python3 -m venv "$VENV" && "$VENV/bin/pip" install -q tempest==47.0.0; }
WS=$STATE/tempest
NAME=tinystack-$(echo "$WS" | md5sum | cut -c1-8)   # tempest registers workspaces by name
if [ ! -d "$WS" ]; then
    "$VENV/bin/tempest" workspace remove --name "$NAME" >/dev/null 2>&1 || true
    "$VENV/bin/tempest" init --name "$NAME" "$WS" >/dev/null
fi
# what the cloud has: services, networking extensions, public network, images, flavors
# shellcheck disable=SC2086  # TEMPEST_CONF_ARGS: words
"${SDK_PYTHON:-$ROOT/.venv/bin/python}" "$ROOT/tools/tempest_conf.py" "$STATE" \
    ${TEMPEST_CONF_ARGS:-} > "$WS/etc/tempest.conf"
IN_NETNS=()
[ -z "${TEMPEST_NETNS:-}" ] || IN_NETNS=(ip netns exec "$TEMPEST_NETNS")
cd "$WS" && "${IN_NETNS[@]}" "$VENV/bin/tempest" run --regex "$REGEX" \
    --concurrency "${TEMPEST_CONCURRENCY:-2}"
