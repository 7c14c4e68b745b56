#!/usr/bin/env bash
# A three-node kdcha cluster with a VIP, in network namespaces on this host:
# build, init, join, add a user through a follower, kinit through the VIP,
# crash the master, kinit again. Needs root, iproute2 and krb5-user (kinit).
# Everything lives in 192.0.2.0/24 inside namespaces it creates and removes.
#
#   sudo deploy/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."

demo=$(mktemp -d /tmp/kdcha-demo.XXXXXX)
tag=$$
lan=kdL$tag client=kdC$tag
nodes=(kdc1 kdc2 kdc3)
prio=(150 100 50)
pids=()

cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	for ns in "$lan" "$client" "${nodes[@]/%/-$tag}"; do ip netns del "$ns" 2>/dev/null || true; done
	echo "logs and configs: $demo"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step() { printf '\n== %s\n' "$*"; }

step "build"
go build -o "$demo/kdcha" ./cmd/kdcha
kdcha=$demo/kdcha

step "network: bridge, three KDC hosts, one client (192.0.2.0/24, VIP 192.0.2.10)"
ip netns add "$lan"
ip -n "$lan" link add br0 type bridge
ip -n "$lan" link set br0 up
attach() { # ns addr
	ip netns add "$1"
	ip -n "$1" link set lo up
	ip -n "$lan" link add "p-$1" type veth peer name eth0 netns "$1"
	ip -n "$lan" link set "p-$1" master br0 up
	ip -n "$1" addr add "$2/24" dev eth0
	ip -n "$1" link set eth0 up
}
attach "$client" 192.0.2.100
for i in 0 1 2; do
	n=${nodes[$i]}
	attach "$n-$tag" "192.0.2.$((i + 1))"
	mkdir -p "$demo/$n"
	cat >"$demo/$n/kdcha.yaml" <<CFG
realm: DEMO.KDCHA.TEST
node: {name: $n, data_dir: $demo/$n/data, admin_socket: $demo/$n/admin.sock}
cluster: {listen: "192.0.2.$((i + 1)):7946"}
kdc: {listen: ["0.0.0.0:88"]}
metrics: {listen: ""}
vrrp:
  instances:
    - {name: VI_KDC, interface: eth0, vrid: 51, priority: ${prio[$i]}, version: 3, advert_interval: 100ms, virtual_ipaddresses: [192.0.2.10/24]}
CFG
done

start() { # node index
	local n=${nodes[$1]}
	ip netns exec "$n-$tag" "$kdcha" agent --config "$demo/$n/kdcha.yaml" 2>>"$demo/$n/agent.log" &
	pids[$1]=$!
	for _ in $(seq 100); do grep -q 'msg="node ready"' "$demo/$n/agent.log" 2>/dev/null && return; sleep 0.1; done
	echo "$n did not start; see $demo/$n/agent.log" >&2
	exit 1
}
admin() { KDCHA_ADMIN_SOCKET=$demo/$1/admin.sock "$kdcha" "${@:2}"; }
# holder names the live hosts (link up) that have the VIP.
holder() {
	for n in "${nodes[@]}"; do
		ip -n "$n-$tag" -4 addr show dev eth0 up | grep -q ' 192.0.2.10/' && echo "$n"
	done
	return 0
}

step "kdc1: cluster init, start"
ip netns exec "${nodes[0]}-$tag" "$kdcha" cluster init --config "$demo/kdc1/kdcha.yaml"
start 0
for i in 1 2; do
	step "${nodes[$i]}: join through kdc1, start"
	token=$("$kdcha" cluster token --config "$demo/kdc1/kdcha.yaml")
	ip netns exec "${nodes[$i]}-$tag" "$kdcha" cluster join 192.0.2.1:7946 --token - --config "$demo/${nodes[$i]}/kdcha.yaml" <<<"$token"
	start "$i"
done
for n in "${nodes[@]}"; do # every node healthy: its probe principal has replicated
	for _ in $(seq 100); do grep -q 'msg="health check up"' "$demo/$n/agent.log" && break; sleep 0.1; done
done
admin kdc1 cluster status

step "add alice through kdc3 (a follower: the write is forwarded to the leader)"
echo 'Demo-password-2026!' | admin kdc3 principal add alice --password-file -

cat >"$demo/krb5.conf" <<CONF
[libdefaults]
    default_realm = DEMO.KDCHA.TEST
    dns_lookup_kdc = false
    rdns = false
[realms]
    DEMO.KDCHA.TEST = {
        kdc = 192.0.2.10
    }
CONF
kinit_vip() {
	echo 'Demo-password-2026!' | KRB5_CONFIG=$demo/krb5.conf KRB5CCNAME=FILE:$demo/ccache \
		ip netns exec "$client" kinit alice >/dev/null && echo "kinit alice through the VIP: ok"
}

step "VIP holder: $(holder); client kinit through the VIP"
kinit_vip

step "crash kdc1 (SIGKILL, link down: a dead host)"
t0=$(date +%s%N)
kill -9 "${pids[0]}"
ip -n "${nodes[0]}-$tag" link set eth0 down
for _ in $(seq 1000); do [ "$(holder)" = kdc2 ] && break; sleep 0.01; done
echo "VIP on kdc2 after $((($(date +%s%N) - t0) / 1000000)) ms"
kinit_vip
admin kdc2 cluster status
