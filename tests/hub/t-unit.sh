#!/bin/bash
# t-unit.sh - unit tests of the hub's placement rule, tokens and names
# (tests/hub/progs/u-placement.c, linked with the library).
"$TBIN/hub/u-placement"
