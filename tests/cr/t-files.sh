#!/bin/bash
# t-files.sh - progs/files.c through dump/restore cycles (see the program's header).
. "$(dirname "$0")/lib.sh"
cr_test files files 3
