#!/bin/bash
# teardown.sh - stop the radosgw cluster started by setup.sh.
cd "$(dirname "$0")/../.." || exit 1
export PICOCENTER_S3_DIR=${TEST_TMP:-/tmp}/s3server
scripts/s3-server.sh stop
rm -f "${TEST_TMP:-/tmp}/s3.env"
