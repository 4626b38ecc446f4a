#!/bin/bash
# t-inet-unit.sh - the inet socket library on its own (progs/u-inet.c):
# TCP connections with queued data rebuilt through TCP_REPAIR, listeners
# and UDP sockets with their options, listener custody, a taken port.
TBIN=${TBIN:-$(cd "$(dirname "$0")/../.." && pwd)/build/tests}
dir=$(mktemp -d /tmp/picocenter-inet.XXXXXX) || exit 1
trap 'rm -rf "$dir"' EXIT
"$TBIN/cr/u-inet" "$dir"
