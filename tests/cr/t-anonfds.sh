#!/bin/bash
# t-anonfds.sh - progs/anonfds.c (eventfd, timerfd, signalfd, epoll) through
# 3 dump/restore cycles and a second restore.
. "$(dirname "$0")/lib.sh"
cr_test anonfds anonfds 3
