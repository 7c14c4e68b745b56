#!/usr/bin/env bash
# Overload on loopback: goodput of kdcha's KDC offered 2x and 4x its peak.
#
# Starts `kdcha dev` pinned to CPU 1 (GOMAXPROCS=1), measures its peak with
# a closed loop (`kdcha bench`, pinned to CPU 0), then offers 2x and 4x that
# rate in an open loop (`kdcha bench --rate`, every request distinct, 1 s
# timeout: MIT's first retry) and prints goodput (replies as the mode
# expects, per second) as a share of the peak, with `kdcha stats --watch`
# of the KDC during the 4x run (shed = requests dropped by
# kdc.request_max_age). About 4 x (DURATION + WARMUP + 2 s).
#
#   scripts/bench-overload.sh                  # MODE=as-preauth DURATION=5s
set -euo pipefail
cd "$(dirname "$0")/.."

MODE="${MODE:-as-preauth}"
DURATION="${DURATION:-5s}"
WARMUP="${WARMUP:-1s}"
PORT="${PORT:-18803}"
MAX_INFLIGHT="${MAX_INFLIGHT:-4096}"
REALM=BENCH.TEST

work="$(mktemp -d)"
pid=""
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/kdcha" ./cmd/kdcha
printf 'bench-Password-42\n' >"$work/password"
taskset -c 1 "$work/kdcha" dev --data-dir "$work/dev" --realm "$REALM" --kdc-addr "127.0.0.1:$PORT" --user user \
	>"$work/dev.out" 2>/dev/null &
pid=$!
for _ in $(seq 100); do grep -q "KDC on" "$work/dev.out" 2>/dev/null && break; sleep 0.1; done
export KDCHA_ADMIN_SOCKET="$work/dev/admin.sock"
"$work/kdcha" principal set-password user --password-file "$work/password" >/dev/null
"$work/kdcha" principal add host/bench --random-key >/dev/null

run() { # $@: extra bench flags; prints "ok/s timeouts not_sent p50 p99"
	local out
	out="$(taskset -c 0 "$work/kdcha" bench --json --kdc "127.0.0.1:$PORT" --realm "$REALM" --client user \
		--password-file "$work/password" --service host/bench --mode "$MODE" \
		--duration "$DURATION" --warmup "$WARMUP" --timeout 1s "$@")"
	field() { printf '%s\n' "$out" | sed -n "s/^ *\"$1\": \([0-9.e+-]*\),\{0,1\}$/\1/p" | head -1; }
	printf '%.0f %s %s %.2f %.2f\n' "$(field requests_per_second)" "$(field timeout || true)" "$(field not_sent || true)" \
		"$(field p50)" "$(field p99)"
}

read -r peak _ <<<"$(run --concurrency 32)"
echo "kdcha $MODE over UDP, KDC pinned to CPU 1, generator to CPU 0; peak (closed loop of 32): $peak req/s"
printf '\n| offered | goodput req/s | %% of peak | timeouts | not sent | p50 ms | p99 ms |\n|---|---|---|---|---|---|---|\n'
for x in 2 4; do
	rate=$((peak * x))
	if [ "$x" = 4 ]; then
		"$work/kdcha" stats --watch 1s --count "$(( ${DURATION%s} + ${WARMUP%s} + 1 ))" >"$work/stats.txt" &
		spid=$!
	fi
	read -r ok to ns p50 p99 <<<"$(run --rate "$rate" --concurrency "$MAX_INFLIGHT")"
	[ "$x" = 4 ] && wait "$spid"
	printf '| %dx = %d/s | %s | %.0f%% | %s | %s | %s | %s |\n' "$x" "$rate" "$ok" "$(awk -v a="$ok" -v b="$peak" 'BEGIN{print 100*a/b}')" \
		"${to:-0}" "${ns:-0}" "$p50" "$p99"
done
printf '\nkdcha stats --watch 1s during the 4x run:\n\n'
cat "$work/stats.txt"
printf '\nKDC totals (kdcha stats):\n\n'
"$work/kdcha" stats
