#!/bin/bash
# t-unit.sh - the ActiveSet file's parser and the policy (u-activeset.c).
exec "${TBIN:-$(dirname "$0")/../../build/tests}/activeset/u-activeset"
