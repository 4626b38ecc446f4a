#!/bin/bash
# t-fds.sh - progs/fds.c (regular, shared, unlinked and memfd files,
# directory, devices, a pipe across processes and a FIFO with data in
# flight) through 3 dump/restore cycles and a second restore.
. "$(dirname "$0")/lib.sh"
cr_test fds fds 3
