#!/bin/bash
# t-asyncfd.sh - progs/asyncfd.c (O_ASYNC, F_SETOWN_EX to a process and to
# a thread, F_SETSIG) through 3 dump/restore cycles and a second restore.
. "$(dirname "$0")/lib.sh"
cr_test asyncfd asyncfd 3
