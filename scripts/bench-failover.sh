#!/usr/bin/env bash
# Measures how long clients lose the KDC behind the VIP when the master
# kdcha agent's host dies (SIGKILL + link down) or the agent is stopped
# (SIGTERM), at advert intervals 1 s (v2) and 100 ms (v3), in network
# namespaces (root, iproute2; see TestFailoverFigures in
# cmd/kdcha/failover_bench_test.go). ROUNDS (default 5) rounds per case;
# prints a Markdown table of min / median / max.
set -euo pipefail
cd "$(dirname "$0")/.."
KDCHA_BENCH_FAILOVER=1 KDCHA_BENCH_ROUNDS="${ROUNDS:-5}" \
	go test -count=1 -timeout 20m -run '^TestFailoverFigures$' -v ./cmd/kdcha/ |
	sed -n -e 's/^ *failover_bench_test.go:[0-9]*: //p' -e 's/^ *\(|.*\)$/\1/p' -e '/^\(--- \|ok\|FAIL\)/p'
