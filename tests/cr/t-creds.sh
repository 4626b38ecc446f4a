#!/bin/bash
# t-creds.sh - progs/creds.c through dump/restore cycles (see the program's header).
. "$(dirname "$0")/lib.sh"
cr_test creds creds 3
