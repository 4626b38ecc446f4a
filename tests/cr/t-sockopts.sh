#!/bin/bash
# t-sockopts.sh - progs/sockopts.c: wildcard UDP servers (v4 and v6) and a
# listener with the options servers set (IP_PKTINFO, IPV6_RECVPKTINFO,
# TTL/TOS, timestamps, priority, mark...) keep them through cycles, and a
# datagram to loopback still brings its destination address.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/inet_lib.sh"
cr_test sockopts sockopts 3 "$(inet_port)" "$(inet_port)"
