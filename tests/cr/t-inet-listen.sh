#!/bin/bash
# t-inet-listen.sh - progs/tcpserver.c: listening v4 + v6 sockets with
# options (read back after every cycle, still accepting) and a connection
# inside the tree with bytes queued both ways, across 3 cycles and a
# second restore of the last image.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/inet_lib.sh"
cr_test inet-listen tcpserver 3 "$(inet_port)" "$(inet_port)"
