#!/bin/bash
# t-dnsmasq.sh - dnsmasq answering A queries from a local hosts file, over
# UDP and TCP (dig), through dump/restore cycles.  Before cycle N the name
# hN is added to the hosts file, dnsmasq re-reads it on SIGHUP (sent to the
# restored process from cycle 2 on: its handler must have survived), and the
# name is removed from the file again, so that only the daemon's memory
# holds it.  After the cycle hN and the names of the file resolve over UDP
# and TCP, and h(N-1) (gone with this cycle's re-read) and a name never
# added are NXDOMAIN.  D_DNSMASQ=wildcard runs dnsmasq on its default
# wildcard sockets (t-dnsmasq-wildcard.sh).
d=$(dirname "$0"); [ -f "$d/lib.sh" ] || d=$d/..; . "$d/lib.sh"
d_need dnsmasq dig
d_init "dnsmasq${D_DNSMASQ:+-$D_DNSMASQ}"
PORT=$(d_port)
d_spawn $(d_conf_dnsmasq "$PORT" "${D_DNSMASQ:-}")

q() { timeout "$D_TIMEOUT" dig @127.0.0.1 -p "$PORT" +time=2 +tries=1 "$@"; }
resolves() { [ "$(q "$1" A +short)" = "$2" ]; }
nxdomain() { q "$@" | grep -q 'status: NXDOMAIN'; }
cp "$D_DIR/hosts" "$D_DIR/hosts.base"

d_wait "dnsmasq" resolves www.pico.test 10.0.0.1

pre() {
	{ cat "$D_DIR/hosts.base"; echo "10.0.1.$1 h$1.pico.test"; } >"$D_DIR/hosts.new"
	mv "$D_DIR/hosts.new" "$D_DIR/hosts"
	kill -HUP "$D_PID" || d_fail "SIGHUP to $D_PID"
	d_wait "h$1.pico.test after SIGHUP" resolves "h$1.pico.test" "10.0.1.$1"
	cp "$D_DIR/hosts.base" "$D_DIR/hosts"
}

post() {
	local n ip
	for n in www:10.0.0.1 mail:10.0.0.2 "h$1:10.0.1.$1"; do
		ip=${n#*:} n=${n%%:*}.pico.test
		d_expect "$n over UDP after cycle $1" "$ip" q "$n" A +short
		d_expect "$n over TCP after cycle $1" "$ip" q "$n" A +short +tcp
	done
	for n in nosuch "h$(($1 - 1))"; do
		nxdomain "$n.pico.test" A || d_fail "no NXDOMAIN over UDP for $n after cycle $1"
		nxdomain "$n.pico.test" A +tcp || d_fail "no NXDOMAIN over TCP for $n after cycle $1"
	done
}

d_cycles pre post
d_finish
