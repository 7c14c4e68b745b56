#!/usr/bin/env bash
# Compares kdcha's KDC with MIT krb5kdc on this machine, loopback only.
#
# Sets up MIT krb5kdc (Debian krb5-kdc; installed with apt-get when missing
# and running as root) and `kdcha dev` with the same realm and principals
# (user, password, requires preauth; host/bench, random key), pins each KDC
# to CPU 1 and `kdcha bench` to CPU 0, and prints one table per mode (as,
# as-preauth, tgs) and transport (udp, tcp): MIT default, MIT with
# disable_last_success, disable_lockout and kdc_tcp_listen_backlog = 1024
# ("tuned"), kdcha, and the ratios. Then the
# same with nothing pinned (MIT tuned with -w 2 workers). Every run is a closed
# loop of CONCURRENCY requests for DURATION after WARMUP; the whole script
# takes about 36 x (DURATION + WARMUP + 1 s): under 5 minutes by default.
#
#   scripts/bench-vs-mit.sh                 # DURATION=5s WARMUP=1s CONCURRENCY=32
#   DURATION=2s WARMUP=500ms scripts/bench-vs-mit.sh
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION="${DURATION:-5s}"
WARMUP="${WARMUP:-1s}"
CONCURRENCY="${CONCURRENCY:-32}"
MIT_PORT="${MIT_PORT:-18801}"
KDCHA_PORT="${KDCHA_PORT:-18802}"
REALM=BENCH.TEST
PASSWORD='bench-Password-42'

need() { command -v "$1" >/dev/null; }
if ! need krb5kdc || ! need kdb5_util || ! need kadmin.local; then
	if [ "$(id -u)" = 0 ] && need apt-get; then
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q krb5-kdc krb5-admin-server >/dev/null
	else
		echo "bench-vs-mit: needs MIT krb5kdc, kdb5_util, kadmin.local (apt-get install krb5-kdc krb5-admin-server)" >&2
		exit 1
	fi
fi
need taskset || { echo "bench-vs-mit: needs taskset (util-linux)" >&2; exit 1; }
if [ "$(nproc)" -lt 2 ]; then
	echo "bench-vs-mit: needs 2 CPUs (KDC on CPU 1, generator on CPU 0)" >&2
	exit 1
fi

work="$(mktemp -d)"
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/kdcha" ./cmd/kdcha
printf '%s\n' "$PASSWORD" >"$work/password"

# --- MIT realm --------------------------------------------------------------
mit="$work/mit"
mkdir -p "$mit"
mit_conf() { # $1: extra [kdcdefaults] lines, $2: extra [dbdefaults] lines
	cat <<EOF
[kdcdefaults]
	kdc_listen = 127.0.0.1:$MIT_PORT
	kdc_tcp_listen = 127.0.0.1:$MIT_PORT
$1
[dbdefaults]
$2
[realms]
	$REALM = {
		database_name = $mit/principal
		key_stash_file = $mit/stash
		acl_file = $mit/kadm5.acl
		supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal
	}
[logging]
	kdc = FILE:$mit/kdc.log
EOF
}
mit_conf "" "" >"$mit/kdc-default.conf"
# Tuned: no database write per AS exchange, and a TCP listen backlog that
# does not drop the SYNs of CONCURRENCY simultaneous connections (MIT's
# default of 5 makes clients wait for a SYN retransmission, a 1 s timeout).
mit_conf "	kdc_tcp_listen_backlog = 1024" "	disable_last_success = true
	disable_lockout = true" >"$mit/kdc-tuned.conf"
cat >"$mit/krb5.conf" <<EOF
[libdefaults]
	default_realm = $REALM
EOF
: >"$mit/kadm5.acl"
export KRB5_CONFIG="$mit/krb5.conf"
export KRB5_KDC_PROFILE="$mit/kdc-default.conf"
kdb5_util -r "$REALM" create -s -P master-password >/dev/null
kadmin.local -r "$REALM" -q "addprinc -pw $PASSWORD +requires_preauth user" >/dev/null
kadmin.local -r "$REALM" -q "addprinc -randkey host/bench" >/dev/null

# --- kdcha realm ------------------------------------------------------------
kd="$work/kdcha-dev"
kdcha_pid=""
start_kdcha() { # $1: taskset prefix or empty
	$1 "$work/kdcha" dev --data-dir "$kd" --realm "$REALM" --kdc-addr "127.0.0.1:$KDCHA_PORT" --user user \
		>"$work/kdcha-dev.out" 2>"$work/kdcha-dev.log" &
	kdcha_pid=$!
	pids+=("$kdcha_pid")
	for _ in $(seq 100); do
		grep -q "KDC on" "$work/kdcha-dev.out" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "kdcha dev did not start:" >&2
	cat "$work/kdcha-dev.log" >&2
	exit 1
}
stop() { kill "$1"; wait "$1" 2>/dev/null || true; }

start_kdcha "taskset -c 1"
export KDCHA_ADMIN_SOCKET="$kd/admin.sock"
"$work/kdcha" principal set-password user --password-file "$work/password" >/dev/null
"$work/kdcha" principal add host/bench --random-key >/dev/null

mit_pid=""
start_mit() { # $1: profile, $2: taskset prefix or empty, $3...: krb5kdc flags
	local profile="$1" prefix="$2"
	shift 2
	KRB5_KDC_PROFILE="$profile" $prefix krb5kdc -n -r "$REALM" "$@" 2>>"$mit/stderr" &
	mit_pid=$!
	pids+=("$mit_pid")
	# Ready when it answers an AS-REQ.
	for _ in $(seq 100); do
		if "$work/kdcha" bench --kdc "127.0.0.1:$MIT_PORT" --realm "$REALM" --client user --mode as \
			--duration 50ms --warmup 0s --concurrency 1 --timeout 100ms >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.1
	done
	echo "krb5kdc did not start:" >&2
	cat "$mit/stderr" "$mit/kdc.log" >&2
	exit 1
}

# bench prints "rps p50 p99 p99.9 errors gencpu" for one run.
bench() { # $1: port, $2: mode, $3: transport, $4: taskset prefix or empty
	local out
	out="$($4 "$work/kdcha" bench --json --kdc "127.0.0.1:$1" --realm "$REALM" --client user \
		--password-file "$work/password" --service host/bench --mode "$2" --transport "$3" \
		--concurrency "$CONCURRENCY" --duration "$DURATION" --warmup "$WARMUP")"
	field() { printf '%s\n' "$out" | sed -n "s/^ *\"$1\": \([0-9.e+-]*\),\{0,1\}$/\1/p" | head -1; }
	local errs
	errs="$(printf '%s\n' "$out" | tr -d '\n' | sed -n 's/.*"errors": {\([^}]*\)}.*/\1/p' | tr -d ' "')"
	printf '%.0f %.3f %.3f %.3f %s %.2f\n' "$(field requests_per_second)" "$(field p50)" "$(field p99)" \
		"$(field p99_9)" "${errs:-none}" "$(field cores)"
}

declare -A R
modes=(as as-preauth tgs)
transports=(udp tcp)
run_all() { # $1: label, $2: port, $3: generator taskset prefix
	for m in "${modes[@]}"; do
		for t in "${transports[@]}"; do
			R["$1/$m/$t"]="$(bench "$2" "$m" "$t" "$3")"
		done
	done
}

row() { # $1: label, $2: key
	read -r rps p50 p99 p999 errs cpu <<<"${R[$2]}"
	printf '| %-36s | %8s | %7s | %7s | %7s | %-22s | %5s |\n' "$1" "$rps" "$p50" "$p99" "$p999" "$errs" "$cpu"
}
ratio() { # kdcha / other
	awk -v a="$(cut -d' ' -f1 <<<"${R[$1]}")" -v b="$(cut -d' ' -f1 <<<"${R[$2]}")" \
		'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "n/a" }'
}
header() {
	printf '\n### %s\n\n' "$1"
	printf '| %-36s | %8s | %7s | %7s | %7s | %-22s | %5s |\n' KDC "req/s" "p50 ms" "p99 ms" "p99.9" errors "gen CPU"
	printf '|%s|%s|%s|%s|%s|%s|%s|\n' "--------------------------------------" "----------" "---------" "---------" "---------" "------------------------" "-------"
}

echo "kdcha bench vs MIT krb5kdc $(dpkg-query -W -f='${Version}' krb5-kdc 2>/dev/null || true): $(nproc) CPUs, $DURATION per run after $WARMUP warm-up, closed loop of $CONCURRENCY; gen CPU = the generator's cores used"

# --- pinned: KDC on CPU 1, generator on CPU 0 ------------------------------
start_mit "$mit/kdc-default.conf" "taskset -c 1"
run_all mit "$MIT_PORT" "taskset -c 0"
stop "$mit_pid"
start_mit "$mit/kdc-tuned.conf" "taskset -c 1"
run_all mit-tuned "$MIT_PORT" "taskset -c 0"
stop "$mit_pid"
run_all kdcha "$KDCHA_PORT" "taskset -c 0"
stop "$kdcha_pid"

for m in "${modes[@]}"; do
	for t in "${transports[@]}"; do
		header "$m over $t, KDC pinned to CPU 1, generator to CPU 0"
		row "MIT krb5kdc (default)" "mit/$m/$t"
		row "MIT tuned (see above)" "mit-tuned/$m/$t"
		row "kdcha" "kdcha/$m/$t"
		printf '\nkdcha / MIT default: %s; kdcha / MIT tuned: %s\n' "$(ratio "kdcha/$m/$t" "mit/$m/$t")" "$(ratio "kdcha/$m/$t" "mit-tuned/$m/$t")"
	done
done

# --- whole machine: nothing pinned, MIT with 2 workers ---------------------
start_mit "$mit/kdc-tuned.conf" "" -w 2
run_all mit-w2 "$MIT_PORT" ""
stop "$mit_pid"
start_kdcha ""
run_all kdcha-all "$KDCHA_PORT" ""
stop "$kdcha_pid"
for m in "${modes[@]}"; do
	for t in "${transports[@]}"; do
		header "$m over $t, whole machine (generator shares both CPUs)"
		row "MIT tuned, -w 2" "mit-w2/$m/$t"
		row "kdcha" "kdcha-all/$m/$t"
		printf '\nkdcha / MIT -w 2: %s\n' "$(ratio "kdcha-all/$m/$t" "mit-w2/$m/$t")"
	done
done
