#!/bin/bash
# t-inotify.sh - progs/inotifysk.c (two inotify instances, watches on
# directories and a file, a gap in the wds) through 3 dump/restore cycles
# and a second restore: every watch keeps its wd and mask, and events fire
# for the right wd with nothing stray.
. "$(dirname "$0")/lib.sh"
cr_test inotify inotifysk 3
