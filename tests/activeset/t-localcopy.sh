#!/bin/bash
# t-localcopy.sh - the local copy a dump keeps (--local DIR: the store
# manifest, the small files and the page index of the generation it
# committed) is used by a restore of that generation, and never when it
# does not match: a copy of an older generation, a damaged one and a
# truncated one are each rejected (the reason in the restore's log) and
# the restore reads the store, answering with the newest data.
# - used: the store's manifest object is moved away first, so a restore
#   that read it would fail; counter local_copy = 1;
# - stale: the copy of generation 1 while generation 2 (pages rewritten)
#   is restored; damaged: one byte flipped in its manifest, one in its
#   files' first bytes, one in their last (the page index: pages is the
#   last file); truncated: its last byte cut.  local_copy = 2 each time,
#   and the answer is generation 2's.
. "$(dirname "$0")/lib.sh"
T=4096 W=64
STORE=file://$A_W/store
L=$A_W/local
PORT=$(a_port)

manifest_key() { printf '%s/store/images/ws/%020d' "$A_W" "$1"; }

# restore_gen GEN EXPECT: restore generation GEN with the local copy;
# local_copy must be EXPECT (and bytes_local the copy's size when used);
# the request must see pages 0..W of
# generation 7 (rewritten before dump 2) or 0 (gen 1).
restore_gen() {
	: >"$A_W/ps.log"
	a_restore "$STORE" ws --generation "$1" --local "$L" --log "$A_W/ps.log"
	lc=$(a_stat local_copy)
	[ "$lc" = "$2" ] || a_fail "generation $1: local_copy $lc, want $2 ($(cat "$A_W/ps.log"))"
	# bytes_local: the copy's length when used (what /metrics adds up).
	bl=$(a_stat bytes_local)
	if [ "$2" = 1 ]; then want=$(stat -c %s "$L/ws.copy"); else want=0; fi
	[ "$bl" = "$want" ] || a_fail "generation $1: bytes_local $bl, want $want"
	a_ask "$PORT" 0 "$W" "$([ "$1" = 1 ] && echo 0 || echo 7)"
}

kill_tree() {
	kill -KILL "$A_PID"
	for _ in $(seq 100); do kill -0 "$A_PID" 2>/dev/null || return 0; sleep 0.05; done
	a_fail "tree $A_PID still there"
}

# flip FILE OFFSET: xor one byte (OFFSET < 0: from the end).
flip() {
	python3 -c '
import sys
p, off = sys.argv[1], int(sys.argv[2])
b = bytearray(open(p, "rb").read())
b[off] ^= 0x20
open(p, "wb").write(b)' "$1" "$2" || a_fail "flip $1"
}

a_spawn "$PORT" "$T"
a_ask "$PORT" 0 "$W" 0
"$PICOCENTER" cr dump --pid "$A_PID" --store "$STORE" --image ws --local "$L" || a_fail "dump 1"
[ -s "$L/ws.copy" ] || a_fail "no local copy after the dump"
[ -f "$(manifest_key 1)" ] || a_fail "no manifest of generation 1 at $(manifest_key 1)"
cp "$L/ws.copy" "$A_W/copy.1"

# Used: the store's manifest is not read.
mv "$(manifest_key 1)" "$A_W/manifest.1"
restore_gen 1 1
mv "$A_W/manifest.1" "$(manifest_key 1)"
a_log "generation 1 restored from the local copy without its manifest"

"$WS" write "$PORT" 0 "$W" 7 || a_fail "write"
"$PICOCENTER" cr dump --pid "$A_PID" --store "$STORE" --image ws --local "$L" || a_fail "dump 2"
cp "$L/ws.copy" "$A_W/copy.2"

# Stale: generation 1's copy for generation 2.
cp "$A_W/copy.1" "$L/ws.copy"
restore_gen 2 2
grep -q "local copy .*holds generation 1 of image ws, not 2" "$A_W/ps.log" ||
	a_fail "stale copy: no reason logged: $(cat "$A_W/ps.log")"
kill_tree

# Damaged in the manifest (byte 40: its header), in the files' bytes
# after it (the small files and the page index; the copy's header is 24
# bytes), and truncated.
mlen=$(python3 -c 'import sys; print(int.from_bytes(open(sys.argv[1], "rb").read()[8:16], "little"))' \
	"$A_W/copy.2") || a_fail "read the copy's header"
for how in manifest files index truncated; do
	cp "$A_W/copy.2" "$L/ws.copy"
	case $how in
	manifest) flip "$L/ws.copy" 40 ;;
	files) flip "$L/ws.copy" $((24 + mlen + 100)) ;;
	index) flip "$L/ws.copy" $(($(stat -c %s "$L/ws.copy") - 100)) ;;
	truncated) truncate -s -1 "$L/ws.copy" ;;
	esac
	restore_gen 2 2
	grep -q "local copy .* not used" "$A_W/ps.log" || a_fail "$how: no reason logged"
	a_log "$how copy rejected: $(cut -c1-160 "$A_W/ps.log")"
	kill_tree
done

# Intact again: used.
cp "$A_W/copy.2" "$L/ws.copy"
restore_gen 2 1
a_log "ok"
