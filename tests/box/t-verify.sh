#!/bin/bash
# t-verify.sh - t-lighttpd with every dump verified (`cr dump --verify`):
# the trial restore of a boxed tree resolves its paths in the box's root
# and makes its sockets outside the box's network namespace, where the
# live tree still holds them; the 10 cycles must pass as without it.
d=$(dirname "$0")
B_DUMP_ARGS=--verify exec "$d/t-lighttpd.sh"
