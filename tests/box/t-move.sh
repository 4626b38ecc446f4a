#!/bin/bash
# t-move.sh - "another machine": lighttpd in a box writes files into its
# writable layer; it is dumped into an object store (the image carries the
# box's record and layer), the box is removed entirely, and the image is
# restored with an empty box dir.  The box is made again from the image
# with the same address and published port, the files are all there and
# served, twice over.  A restore into the box it left (kept) does not read
# the layer from the store: it succeeds with the layer's big chunks gone
# from the store (an 8 MB file of the layer's); one into an empty box dir
# reads it.  A layer with a path escaping the upper dir is
# refused and leaves nothing behind.
d=$(dirname "$0"); . "$d/lib.sh"
b_need lighttpd curl nsenter python3
b_init move
HP=$(b_port)
WWW=/srv/pc-www-$$
STORE=file://$B_DIR/store
b_lighttpd_conf "$WWW"
b_spawn web --port "$HP:80" -- sh -c "mkdir -p $WWW && exec lighttpd -D -f $B_DIR/lighttpd.conf" ||
	b_fail "spawn in a box failed"
PID=$B_PID
N=web-$$
ADDR=$(b_addr web)
get() { curl -sS --fail --max-time 5 "http://$1/$2"; }
b_in "$PID" sh -c "mkdir -p $WWW/sub && echo one > $WWW/a.txt && echo two > $WWW/sub/b.txt &&
	ln -s a.txt $WWW/link.txt && head -c 100000 /dev/urandom > $WWW/big.txt && rm -f /etc/motd &&
	head -c 8000000 /dev/urandom > $WWW/blob"
b_wait "lighttpd" get "127.0.0.1:$HP" a.txt
SUM=$(b_in "$PID" md5sum "$WWW/big.txt" | cut -d' ' -f1)
BLOB=$(b_in "$PID" md5sum "$WWW/blob" | cut -d' ' -f1)
"$PICOCENTER" cr dump --pid "$PID" --store "file://$B_DIR/store0" --image web0 --box-dir "$B_BOXES" ||
	b_fail "dump to the store, box kept"
# the layer's chunks of 64 KB and more (the blob's), not the pages' packs
gone=$(find "$B_DIR/store0/chunks" -type f -size +64k -print -delete | wc -l)
[ "$gone" -ge 8 ] || b_fail "only $gone big chunks in the store"
PID=$("$PICOCENTER" cr restore --store "file://$B_DIR/store0" --image web0 --box-dir "$B_BOXES") ||
	b_fail "restore into the kept box (its layer's chunks gone)"
B_PIDS+=("$PID")
[ "$(get "127.0.0.1:$HP" blob | md5sum | cut -d' ' -f1)" = "$BLOB" ] || b_fail "blob in the kept box"
b_log "restored into the kept box without $gone chunks of its layer"
BOXES1=$B_BOXES
for round in 1 2; do
	"$PICOCENTER" cr dump --pid "$PID" --store "$STORE" --image "web$round" --box-dir "$B_BOXES" ||
		b_fail "dump $round to the store"
	"$PICOCENTER" box rm --box-dir "$B_BOXES" "$N" || b_fail "box rm $round"
	b_leftovers "$N"
	B_BOXES=$B_DIR/boxes-$round   # an empty box dir: another machine
	PID=$("$PICOCENTER" cr restore --store "$STORE" --image "web$round" --box-dir "$B_BOXES") ||
		b_fail "restore $round from the store into an empty box dir"
	B_PIDS+=("$PID")
	[ "$(get "127.0.0.1:$HP" blob | md5sum | cut -d' ' -f1)" = "$BLOB" ] || b_fail "blob after round $round"
	[ "$(b_addr web)" = "$ADDR" ] || b_fail "address $(b_addr web), was $ADDR"
	[ "$(get "127.0.0.1:$HP" a.txt)" = one ] || b_fail "a.txt after round $round"
	[ "$(get "$ADDR" sub/b.txt)" = two ] || b_fail "sub/b.txt after round $round"
	[ "$(get "$ADDR" link.txt)" = one ] || b_fail "link.txt after round $round"
	[ "$(get "127.0.0.1:$HP" big.txt | md5sum | cut -d' ' -f1)" = "$SUM" ] || b_fail "big.txt after round $round"
	[ -L "$B_BOXES/$N/upper$WWW/link.txt" ] || b_fail "the symlink is not one in the new upper layer"
	b_in "$PID" test -e /etc/motd && [ -e /etc/motd ] && b_fail "the whiteout of /etc/motd was lost"
	[ "$(b_in "$PID" hostname)" = "$N" ] || b_fail "hostname after round $round"
	b_log "round $round: made again from the image with $ADDR"
done

# A layer whose path climbs out of the upper dir.
rm -rf "$B_DIR/img"
"$PICOCENTER" cr dump --pid "$PID" --dir "$B_DIR/img" --box-dir "$B_BOXES" || b_fail "dump to a dir"
"$PICOCENTER" box rm --box-dir "$B_BOXES" "$N"
python3 - "$B_DIR/img/box-layer" <<'PY'
import struct, sys
path = b"../../../../escaped-%d" % len(sys.argv)
entry = struct.pack("<BBHIIIqIQ", ord("f"), 0, 0, 0o644, 0, 0, 0, len(path), 2) + path + b"x\n"
end = struct.pack("<BBHIIIqIQ", ord("e"), 0, 0, 0, 0, 0, 0, 0, 0)
open(sys.argv[1], "wb").write(b"PCLAYER1" + entry + end)
PY
B_BOXES=$B_DIR/boxes-bad
err=$("$PICOCENTER" cr restore --dir "$B_DIR/img" --box-dir "$B_BOXES" 2>&1) && b_fail "a bad layer was restored"
printf '%s' "$err" | grep -q "bad path" || b_fail "bad layer: '$err'"
[ -e "$(dirname "$B_DIR")/escaped-2" ] && b_fail "a file escaped the upper dir"
b_leftovers "$N"
B_BOXES=$BOXES1
b_log PASS
