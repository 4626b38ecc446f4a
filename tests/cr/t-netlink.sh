#!/bin/bash
# t-netlink.sh - progs/netlinksk.c (NETLINK_ROUTE bound to groups incl.
# one above 32, options; NETLINK_KOBJECT_UEVENT; an unbound route socket)
# through 3 dump/restore cycles and a second restore: memberships and
# options come back, requests are answered, notifications arrive.
. "$(dirname "$0")/lib.sh"
cr_test netlink netlinksk 3
