#!/bin/bash
# t-inet-udp.sh - progs/udp.c: bound and connected UDP sockets, v4 and v6.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/inet_lib.sh"
cr_test inet-udp udp 3 "$(inet_port)" "$(inet_port)"
