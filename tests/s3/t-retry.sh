#!/bin/bash
# t-retry.sh - retries with backoff (503 SlowDown, 500, 429, a dropped
# connection), no retry on 4xx, If-None-Match, the signed headers on the
# wire: the backend against a scripted fake server (u-s3retry.c).
exec "${TBIN:-$(dirname "$0")/../../build/tests}/s3/u-s3retry"
