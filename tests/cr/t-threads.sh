#!/bin/bash
# t-threads.sh - progs/threads.c through dump/restore cycles (see the program's header).
. "$(dirname "$0")/lib.sh"
cr_test threads threads 3
