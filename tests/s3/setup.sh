#!/bin/bash
# setup.sh - start the throwaway radosgw cluster for the S3 tests (a fresh
# one per test run, under $TEST_TMP) and create the test bucket.  The
# environment for the tests goes to $TEST_TMP/s3.env (see lib.sh).
cd "$(dirname "$0")/../.." || exit 1
TEST_TMP=${TEST_TMP:-/tmp}
export PICOCENTER_S3_DIR=$TEST_TMP/s3server
start=$(date +%s%N)
scripts/s3-server.sh start >"$TEST_TMP/s3.env.tmp" || exit 1
mv "$TEST_TMP/s3.env.tmp" "$TEST_TMP/s3.env"
. "$TEST_TMP/s3.env"
build/tests/s3/u-s3 mb pctest || exit 1
echo "s3 server up at $AWS_ENDPOINT_URL in $((($(date +%s%N) - start) / 1000000)) ms"
