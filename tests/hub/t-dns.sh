#!/bin/bash
# t-dns.sh - the hub answers DNS for its zone over UDP and TCP, from its
# registry: A and AAAA for apps (the address of the worker each was
# placed on), SOA and NS at the apex, NXDOMAIN with the SOA for unknown
# names, NODATA for the other address family, REFUSED outside the zone,
# its --ttl on every record; malformed queries get FORMERR or nothing,
# and the hub still answers afterwards.
. "$(dirname "$0")/lib.sh"
h_init hub-dns
h_start a --ttl 7

tok=$(h_tenant a alice)
wtok=$("$PICOCENTER" hub worker-token --state-dir "$D_DIR/a") || h_fail "worker-token"
h_worker a "$wtok" w4 192.0.2.10 8192
h_worker a "$wtok" w6 2001:db8::6 4096
# The worker with more memory first, then the tenant is spread: web on
# w4, db on w6.
h_expect 201 a "$tok" POST /apps '{"name":"web","argv":["httpd"],"publish":["80:80"]}' >/dev/null
h_expect 201 a "$tok" POST /apps '{"name":"db","argv":["redis-server"],"publish":["6379:6379"]}' >/dev/null

for tcp in +notcp +tcp; do
	got=$(h_dig a $tcp +short web.$H_ZONE A)
	[ "$got" = 192.0.2.10 ] || h_fail "$tcp web A: '$got'"
	got=$(h_dig a $tcp +short db.$H_ZONE AAAA)
	[ "$got" = 2001:db8::6 ] || h_fail "$tcp db AAAA: '$got'"
	# names are case-insensitive; the answer keeps the question's case
	got=$(h_dig a $tcp +noall +answer WeB.Apps.Test A)
	echo "$got" | grep -q "^WeB.Apps.Test.[[:space:]]*7[[:space:]]*IN[[:space:]]*A[[:space:]]*192.0.2.10" ||
		h_fail "$tcp mixed case: '$got'"
	got=$(h_dig a $tcp +noall +answer $H_ZONE SOA)
	echo "$got" | grep -qE "^$H_ZONE.[[:space:]]+7[[:space:]]+IN[[:space:]]+SOA[[:space:]]+a.ns.$H_ZONE. hostmaster.$H_ZONE. [0-9]+ [0-9]+ [0-9]+ [0-9]+ 7$" ||
		h_fail "$tcp SOA: '$got'"
	got=$(h_dig a $tcp +short $H_ZONE NS)
	[ "$got" = "a.ns.$H_ZONE." ] || h_fail "$tcp NS: '$got'"
	got=$(h_dig a $tcp +noall +additional $H_ZONE NS)
	echo "$got" | grep -qE "^a.ns.$H_ZONE.[[:space:]]+7[[:space:]]+IN[[:space:]]+A[[:space:]]+127.0.0.1$" ||
		h_fail "$tcp NS glue: '$got'"
	for n in ns a.ns; do
		got=$(h_dig a $tcp +short $n.$H_ZONE A)
		[ "$got" = 127.0.0.1 ] || h_fail "$tcp $n A: '$got'"
	done
	[ "$(h_status a $tcp b.ns.$H_ZONE A)" = NXDOMAIN ] || h_fail "$tcp: an unknown hub resolves"
	# authoritative answers
	h_dig a $tcp web.$H_ZONE A | grep -q "flags: qr aa" || h_fail "$tcp: no aa flag"

	# NXDOMAIN with the SOA, for a name, a deeper name and a non-label
	for n in nope.$H_ZONE a.web.$H_ZONE 'we_b'.$H_ZONE; do
		out=$(h_dig a $tcp "$n" A)
		echo "$out" | grep -q "status: NXDOMAIN" || h_fail "$tcp $n: $out"
		echo "$out" | grep -A1 "AUTHORITY SECTION" | grep -q SOA || h_fail "$tcp $n: no SOA"
	done
	# NODATA: the other family, another type
	for q in "web.$H_ZONE AAAA" "db.$H_ZONE A" "web.$H_ZONE MX" "$H_ZONE A"; do
		out=$(h_dig a $tcp $q)
		echo "$out" | grep -q "status: NOERROR" || h_fail "$tcp $q: $out"
		echo "$out" | grep -q "ANSWER: 0," || h_fail "$tcp $q has answers: $out"
	done
	# outside the zone, zone transfers, another class
	[ "$(h_status a $tcp example.com A)" = REFUSED ] || h_fail "$tcp outside: not REFUSED"
	[ "$(h_status a $tcp test A)" = REFUSED ] || h_fail "$tcp parent: not REFUSED"
	[ "$(h_status a $tcp -c CH web.$H_ZONE A)" = REFUSED ] || h_fail "$tcp CH: not REFUSED"
done
# EDNS queries get an OPT record back
h_dig a +edns=0 web.$H_ZONE A | grep -q "OPT PSEUDOSECTION" || h_fail "no OPT in the answer"

# An app removed is gone from DNS at once.
h_expect 200 a "$tok" DELETE /apps/db >/dev/null
[ "$(h_status a db.$H_ZONE AAAA)" = NXDOMAIN ] || h_fail "removed app still resolves"

# Malformed queries: FORMERR or no answer, never a crash; a zone
# transfer is REFUSED, another opcode NOTIMP.
python3 - "${H_DNS[a]}" <<'PY' || h_fail "malformed queries"
import random, socket, struct, sys
port = int(sys.argv[1])
def udp(pkt):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(0.5)
    s.sendto(pkt, ("127.0.0.1", port))
    try:
        return s.recv(65535)
    except socket.timeout:
        return None
    finally:
        s.close()
def tcp(pkt, prefix=True):
    s = socket.create_connection(("127.0.0.1", port), timeout=2)
    s.sendall((struct.pack(">H", len(pkt)) if prefix else b"") + pkt)
    s.shutdown(socket.SHUT_WR)
    data = b""
    try:
        while True:
            d = s.recv(65535)
            if not d:
                break
            data += d
    except socket.timeout:
        pass
    s.close()
    return data[2:] if data else None
def rcode(a):
    return a[3] & 0x0f
hdr = lambda qd, flags=0x0100: struct.pack(">HHHHHH", 0x1234, flags, qd, 0, 0, 0)
q = b"\x03web\x04apps\x04test\x00" + struct.pack(">HH", 1, 1)
cases = {
    "short": (b"\x12\x34\x01", None),
    "a response": (hdr(1, 0x8100) + q, None),
    "truncated question": (hdr(1) + q[:7], 1),
    "two questions": (hdr(2) + q + q, 1),
    "no question": (hdr(0), 1),
    "bad label": (hdr(1) + b"\x40" + b"x" * 70 + b"\x00\x00\x01\x00\x01", 1),
    "pointer loop": (hdr(1) + b"\xc0\x0c\x00\x01\x00\x01", 1),
    "notify opcode": (struct.pack(">HHHHHH", 0x1234, 0x2000, 1, 0, 0, 0) + q, 4),
    "zone transfer": (hdr(1) + b"\x04apps\x04test\x00" + struct.pack(">HH", 252, 1), 5),
}
for name, (pkt, want) in cases.items():
    for via in (udp, tcp):
        a = via(pkt)
        if want is None:
            if a:
                sys.exit("%s over %s: answered %r" % (name, via.__name__, a))
            continue
        if not a or len(a) < 12 or a[:2] != b"\x12\x34" or not (a[2] & 0x80) or rcode(a) != want:
            sys.exit("%s over %s: want rcode %d, got %r" % (name, via.__name__, want, a))
# 500 random datagrams at once; each answer is a response to one of them.
random.seed(7)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(0.5)
ids = set()
for i in range(500):
    pkt = bytes(random.randrange(256) for _ in range(random.randrange(1, 80)))
    ids.add(pkt[:2])
    s.sendto(pkt, ("127.0.0.1", port))
try:
    while True:
        a = s.recv(65535)
        if len(a) < 12 or a[:2] not in ids or not (a[2] & 0x80):
            sys.exit("random: bad answer %r" % a)
except socket.timeout:
    pass
s.close()
# a TCP client that sends half a length prefix and goes away
s = socket.create_connection(("127.0.0.1", port)); s.sendall(b"\x00"); s.close()
print("malformed queries: ok")
PY
kill -0 "${H_PID[a]}" || h_fail "the hub died"
[ "$(h_dig a +short web.$H_ZONE A)" = 192.0.2.10 ] || h_fail "no answer after malformed queries (udp)"
[ "$(h_dig a +tcp +short web.$H_ZONE A)" = 192.0.2.10 ] || h_fail "no answer after malformed queries (tcp)"
# The SOA serial moves on when a record changes (the hub reads it once a
# second at most), in the apex answer and in a negative one's authority.
serial() { h_dig a +short $H_ZONE SOA | awk '{ print $3 }'; }
s1=$(serial)
[ -n "$s1" ] || h_fail "no SOA serial"
h_expect 201 a "$tok" POST /apps '{"name":"serial","argv":["x"]}' >/dev/null
for i in $(seq 60); do
	[ "$(serial)" != "$s1" ] && break
	sleep 0.05
done
s2=$(serial)
[ "$s2" -gt "$s1" ] || h_fail "the SOA serial did not move on after a new app: $s1, then $s2"
h_dig a +noall +authority nothere.$H_ZONE A | grep -q " $s2 " ||
	h_fail "a negative answer's SOA has not serial $s2: $(h_dig a +noall +authority nothere.$H_ZONE A)"
h_expect 200 a "$tok" DELETE /apps/serial >/dev/null
for i in $(seq 60); do
	[ "$(serial)" != "$s2" ] && break
	sleep 0.05
done
[ "$(serial)" -gt "$s2" ] || h_fail "the SOA serial did not move on after app rm"
d_log "PASS"
