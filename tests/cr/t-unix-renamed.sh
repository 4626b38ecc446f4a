#!/bin/bash
# t-unix-renamed.sh - progs/chroots.c renamed: a listener whose socket file
# was renamed after bind (HAProxy's admin.sock.N.tmp -> admin.sock), one
# whose file was unlinked, and a renamed datagram socket: 3 cycles and a
# re-restore keep getsockname's names, the files where the app left them,
# and the renamed ones reachable by their new names; `cr inspect` says
# which were renamed or unlinked.
. "$(dirname "$0")/lib.sh"
cr_start unix-renamed chroots renamed
cr_cycles 3
cr_rerestore
[ "$CR_NOCR" = 1 ] && cr_finish
"$PICOCENTER" cr inspect --dir "$CR_LAST_IMG" >"$CR_W/inspect" || cr_fail "cr inspect failed"
for want in "$CR_CHK/r.sock .*bound to $CR_CHK/r.sock.42.tmp, renamed" \
	"bound to $CR_CHK/u.sock, unlinked" "$CR_CHK/d.sock .*bound to $CR_CHK/d.sock.tmp, renamed"; do
	grep -q "$want" "$CR_W/inspect" || cr_fail "cr inspect does not say '$want'"
done
cr_finish
