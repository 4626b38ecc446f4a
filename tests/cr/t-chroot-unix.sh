#!/bin/bash
# t-chroot-unix.sh - progs/chroots.c unix: listeners bound before their
# process chrooted, by a name relative to the jail (Postfix's private/
# sockets) and by an absolute name outside the new root (Dovecot's run/),
# keep answering at their names through 3 cycles and a re-restore.
. "$(dirname "$0")/lib.sh"
cr_test chroot-unix chroots 3 unix
