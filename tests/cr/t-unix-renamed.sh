#!/bin/bash
# t-unix-renamed.sh - progs/chroots.c renamed: a listener whose socket file
# was renamed after bind (HAProxy's admin.sock.N.tmp -> admin.sock), one
# whose file was unlinked, and a renamed datagram socket: 3 cycles and a
# re-restore keep getsockname's names, the files where the app left them,
# and the renamed ones reachable by their new names.
. "$(dirname "$0")/lib.sh"
cr_test unix-renamed chroots 3 renamed
