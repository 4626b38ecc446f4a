#!/bin/bash
# t-dnsmasq.sh - dnsmasq (as nobody) in a box from `host`, port 53
# published for UDP and TCP, through 10 dump/restore cycles driven by dig.
# Before cycle N a name is added to the hosts file inside the box (its upper
# layer), dnsmasq re-reads it on SIGHUP, and the name is removed again, so
# only the daemon's memory holds it; after the cycle it and every earlier
# name (kept in the file) resolve over UDP and TCP through 127.0.0.1:HOSTPORT
# and through the box's address.  dnsmasq listens its default way, on
# wildcard sockets that learn each query's interface from IP_PKTINFO
# (interface=eth0, no bind-interfaces).
d=$(dirname "$0"); . "$d/lib.sh"
b_need dnsmasq dig nsenter
b_init dnsmasq
HP=$(b_port)
H=/etc/pc-hosts-$$
cat >"$B_DIR/dnsmasq.conf" <<CONF
keep-in-foreground
no-resolv
no-hosts
addn-hosts=$H
port=53
interface=eth0
pid-file=
user=nobody
log-facility=-
local=/pico.test/
CONF
b_spawn dns --port "$HP:53/udp" --port "$HP:53/tcp" -- sh -c \
	"echo '10.0.0.1 www.pico.test' > $H && exec dnsmasq --conf-file=$B_DIR/dnsmasq.conf" ||
	b_fail "spawn in a box failed"
PID=$B_PID
ADDR=$(b_addr dns)
q() { timeout 10 dig "@$1" -p "$2" +time=2 +tries=2 "${@:3}" A +short; }
resolves() { [ "$(q 127.0.0.1 "$HP" "$1")" = "$2" ]; }
b_wait "dnsmasq through 127.0.0.1:$HP" resolves www.pico.test 10.0.0.1
[ -e "$H" ] && b_fail "$H appeared on the host"
for c in $(seq 10); do
	b_in "$PID" sh -c "cp $H $H.base && echo '10.0.1.$c h$c.pico.test' >> $H"
	kill -HUP "$PID"
	b_wait "h$c after SIGHUP" resolves "h$c.pico.test" "10.0.1.$c"
	b_in "$PID" sh -c "echo '10.0.2.$c k$c.pico.test' >> $H.base && mv $H.base $H"
	b_cycle dns "$PID" "$B_DIR/img"
	PID=$B_PID
	for n in "www:10.0.0.1" "h$c:10.0.1.$c"; do
		ip=${n#*:} n=${n%%:*}.pico.test
		[ "$(q 127.0.0.1 "$HP" "$n")" = "$ip" ] || b_fail "$n over UDP on 127.0.0.1:$HP after cycle $c"
		[ "$(q 127.0.0.1 "$HP" "$n" +tcp)" = "$ip" ] || b_fail "$n over TCP on 127.0.0.1:$HP after cycle $c"
		[ "$(q "$ADDR" 53 "$n")" = "$ip" ] || b_fail "$n over UDP on $ADDR after cycle $c"
	done
	kill -HUP "$PID"
	b_wait "k$c after SIGHUP to the restored dnsmasq" resolves "k$c.pico.test" "10.0.2.$c"
	b_log "cycle $c ok (pid $PID)"
done
"$PICOCENTER" box rm --box-dir "$B_BOXES" "dns-$$" || b_fail "box rm"
b_leftovers "dns-$$"
b_log PASS
