#!/bin/bash
# t-oci.sh - boxes from an OCI image the test builds with umoci (redis and
# dash with their libraries; Entrypoint, Cmd, Env and WorkingDir set in the
# image config): spawned with no command, the app runs the image's, with
# its environment and working directory; keys survive 3 dump/restore
# cycles through a published port, SAVE lands in the box's upper layer; a
# second box of the same image (given as an oci-archive tarball) shares
# the one unpacked copy; it runs under the init (`cr spawn --init`: bound
# into the image's root), through a cycle and a move (its box made again
# from the image in an empty box dir).  A missing image, a missing tag and a relative
# path are one-line errors that leave no box behind.
d=$(dirname "$0"); . "$d/lib.sh"
b_need umoci redis-cli tar
b_init oci
L=$B_DIR/layout
umoci init --layout "$L" && umoci new --image "$L:app" &&
	umoci unpack --image "$L:app" "$B_DIR/bundle" >/dev/null || b_fail "umoci could not start an image"
R=$B_DIR/bundle/rootfs
for f in /usr/bin/redis-check-rdb /bin/dash $(ldd /usr/bin/redis-check-rdb | grep -o '/[^ ]*') \
	$(ldd /bin/dash | grep -o '/[^ ]*'); do
	mkdir -p "$R$(dirname "$f")" && cp -L "$f" "$R$f" || b_fail "copy $f into the image"
done
ln -s redis-check-rdb "$R/usr/bin/redis-server"
mkdir -p "$R/data" "$R/tmp" "$R/etc"
umoci repack --image "$L:app" "$B_DIR/bundle" &&
	umoci config --image "$L:app" --config.entrypoint /bin/dash --config.cmd -c \
		--config.cmd 'echo "$GREETING in $(pwd)" > /tmp/hello; exec /usr/bin/redis-server --port 6379 --protected-mode no' \
		--config.env GREETING=hi-$$ --config.workingdir /data || b_fail "umoci could not make the image"

HP=$(b_port)
b_spawn kv --rootfs "oci:$L:app" --port "127.0.0.1:$HP:6379" || b_fail "spawn from the image failed"
PID=$B_PID
BOX=$B_BOXES/kv-$$
b_wait "redis from the image" redis-cli -p "$HP" ping
[ "$(cat "$BOX/upper/tmp/hello")" = "hi-$$ in /data" ] || b_fail "the image's Env/WorkingDir: $(cat "$BOX/upper/tmp/hello")"
[ "$(readlink "/proc/$PID/cwd")" = /data ] || b_fail "cwd $(readlink "/proc/$PID/cwd")"
b_in "$PID" /bin/dash -c 'test -e /usr/sbin/lighttpd' && b_fail "the box sees the host's files"
for c in 1 2 3; do
	redis-cli -p "$HP" set "k$c" "v$c" >/dev/null
	b_cycle kv "$PID" "$B_DIR/img"
	PID=$B_PID
	for k in $(seq "$c"); do
		[ "$(redis-cli -p "$HP" get "k$k")" = "v$k" ] || b_fail "k$k after cycle $c"
	done
	b_log "cycle $c ok (pid $PID)"
done
[ "$(redis-cli -p "$HP" save)" = OK ] && [ -s "$BOX/upper/data/dump.rdb" ] || b_fail "SAVE did not land in the upper layer"
[ "$(ls "$B_BOXES/.oci" | wc -l)" = 1 ] || b_fail "unpacked images: $(ls "$B_BOXES/.oci")"

tar -cf "$B_DIR/app.tar" -C "$L" . || b_fail "tar the layout"
HP2=$(b_port)
b_spawn kv2 --init --rootfs "oci:$B_DIR/app.tar:app" --port "127.0.0.1:$HP2:6379" ||
	b_fail "spawn from the oci-archive"
PID2=$B_PID
b_wait "redis from the archive" redis-cli -p "$HP2" ping
[ "$(ls "$B_BOXES/.oci" | grep -vc '^\.')" = 1 ] || b_fail "the archive was unpacked again: $(ls -a "$B_BOXES/.oci")"
# kv2 runs under the init, bound into the image's root
is_init() { [ "$(cat /proc/"$1"/comm 2>/dev/null)" = picocenter-init ] || b_fail "kv2's pid 1 is not the init ($2)"; }
is_init "$PID2" "spawned"
b_in "$PID2" /bin/dash -c 'for f in /.picocenter/picocenter-init-*; do test -x "$f" || exit 1; done' ||
	b_fail "kv2 does not see its init"
redis-cli -p "$HP2" set under init >/dev/null
b_cycle kv2 "$PID2" "$B_DIR/img2"
PID2=$B_PID
is_init "$PID2" "restored"
[ "$(redis-cli -p "$HP2" get under)" = init ] || b_fail "kv2's key after a cycle under the init"

for spec in "oci:/nonexistent-$$:app" "oci:$L:nosuchtag" "oci:relative/dir" "oci:$B_DIR/app.tar:other"; do
	err=$("$PICOCENTER" cr spawn --name bad-$$ --box-dir "$B_BOXES" --bridge "$B_BRIDGE" \
		--subnet "$B_SUBNET" --rootfs "$spec" 2>&1) && b_fail "$spec accepted"
	[ "$(printf '%s\n' "$err" | wc -l)" = 1 ] || b_fail "$spec: not one line: $err"
	b_leftovers "bad-$$"
	b_log "$spec: $err"
done
"$PICOCENTER" box rm --box-dir "$B_BOXES" "kv-$$" || b_fail "box rm"
b_leftovers "kv-$$"
# kv2 "moves": its box made again from the image, the init bound in again
b_cycle_moved kv2 "$PID2" "$B_DIR/img3"
is_init "$B_PID" "restored into a box made again"
[ "$(redis-cli -p "$HP2" get under)" = init ] || b_fail "kv2's key after the move"
b_done "kv2-$$"
