#!/bin/bash
# t-attrs.sh - progs/attrs.c through dump/restore cycles (see the program's header).
. "$(dirname "$0")/lib.sh"
cr_test attrs attrs 3
