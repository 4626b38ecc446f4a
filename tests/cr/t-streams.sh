#!/bin/bash
# t-streams.sh - progs/streams.c: a pipe, a unix socketpair and a loopback
# TCP connection carry a counter without pause across dump/restore cycles;
# no byte is lost or repeated (3 cycles and a re-restore).
. "$(dirname "$0")/lib.sh"
cr_test streams streams 3
