#!/bin/bash
# t-spec.sh - unit test of app specs and the API's create parser
# (progs/u-spec.c).
TBIN=${TBIN:-$(cd "$(dirname "$0")/../.." && pwd)/build/tests}
[ -x "$TBIN/serve/u-spec" ] || { echo "FAIL: no $TBIN/serve/u-spec (run make)"; exit 1; }
exec "$TBIN/serve/u-spec"
