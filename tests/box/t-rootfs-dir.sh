#!/bin/bash
# t-rootfs-dir.sh - a box whose root is a directory (dash and its
# libraries): the app sees that tree, not the host's; what it writes lands
# in the box's upper layer and the directory itself stays as it was, across
# a dump/restore cycle.
d=$(dirname "$0"); . "$d/lib.sh"
b_need dash
b_init rootfs-dir
R=$B_DIR/rootfs
for f in /bin/dash /bin/sleep $(ldd /bin/dash | grep -o '/[^ ]*') $(ldd /bin/sleep | grep -o '/[^ ]*'); do
	mkdir -p "$R$(dirname "$f")" && cp -L "$f" "$R$f" || b_fail "copy $f"
done
mkdir -p "$R/etc" "$R/tmp" "$R/proc" "$R/sys" "$R/dev"
echo "marker-$$" >"$R/etc/marker"
before=$(find "$R" -printf '%p %s %T@\n' | sort | md5sum)
b_spawn dir --rootfs "$R" -- /bin/dash -c \
	'read m < /etc/marker; echo "$m" > /tmp/seen; test -e /usr/sbin/lighttpd && echo host > /tmp/seen; exec /bin/sleep 600' ||
	b_fail "spawn with a directory rootfs"
PID=$B_PID
BOX=$B_BOXES/dir-$$
b_wait "the app's file" test -s "$BOX/upper/tmp/seen"
[ "$(cat "$BOX/upper/tmp/seen")" = "marker-$$" ] || b_fail "the app saw: $(cat "$BOX/upper/tmp/seen")"
b_cycle dir "$PID" "$B_DIR/img"
b_in "$B_PID" /bin/dash -c 'echo after > /tmp/after' || b_fail "write in the box after the cycle"
[ "$(cat "$BOX/upper/tmp/after")" = after ] || b_fail "the write after the cycle is not in the upper layer"
[ "$(find "$R" -printf '%p %s %T@\n' | sort | md5sum)" = "$before" ] || b_fail "the rootfs directory changed"
"$PICOCENTER" box rm --box-dir "$B_BOXES" "dir-$$" || b_fail "box rm"
b_leftovers "dir-$$"
b_log PASS
