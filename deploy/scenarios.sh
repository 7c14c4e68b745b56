#!/usr/bin/env bash
# The failover scenario table of issue 9: a three-node kdcha cluster in
# network namespaces (192.0.2.0/24, VIP 192.0.2.10), MIT kinit -kt through
# the VIP in two staggered loops every 100 ms (0.5 s per attempt), and per
# scenario (hung KDC, agent killed, host dead, link down, graceful stop,
# rolling restart, crashed master restarting, busy master, login storm, hang
# during a storm): who took over, VIP move time, client outage (longest gap
# between successful kinits), failed kinits, slowest attempt, VIP moves.
# Medians (min-max) of RUNS runs per config variant. Needs root, iproute2,
# krb5-user and Go; about 10 minutes per variant at 5 runs.
#
#   sudo deploy/scenarios.sh [RUNS [VARIANT,...]]
#
# Variants (internal/scenario/table_test.go): defaults (the shipped
# config), defaults-rt (vrrp.realtime_priority: 50), v2-1s (keepalived
# interop), v3-100ms-udp (the defaults with the kinit probe over UDP).
# SCENARIO_ONLY=substring limits the scenarios; the table is also written
# to ${OUT:-scenarios.md}.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
variants=${2:-defaults}
out=$(realpath -m "${OUT:-scenarios.md}")
log=${out%.md}.log
status=0
KDCHA_SCENARIOS=1 KDCHA_SCENARIO_RUNS=$runs KDCHA_SCENARIO_VARIANTS=$variants \
	KDCHA_SCENARIO_ONLY=${SCENARIO_ONLY:-} KDCHA_SCENARIO_OUT=$out \
	go test -count=1 -timeout 3h -run '^TestScenarioTable$' -v ./internal/scenario/ >"$log" 2>&1 || status=$?
grep -E '^\s+table_test.go:[0-9]+: .* run [0-9]+:|^--- ' "$log" || true
if [ "$status" -ne 0 ]; then
	echo "scenario run failed (exit $status); full log: $log" >&2
	exit "$status"
fi
cat "$out"
