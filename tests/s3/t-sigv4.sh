#!/bin/bash
# t-sigv4.sh - SigV4 against the AWS documentation's examples, encoding,
# XML and listing parsing (no server).
exec "${TBIN:-$(dirname "$0")/../../build/tests}/s3/u-s3sign"
