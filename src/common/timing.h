/*
 * timing.h - phase timings for benchmarks: with PICOCENTER_TIMING set in
 * the environment, timing_mark("phase") prints the time since the previous
 * mark to stderr as "timing: phase 1.234 ms".
 */
#ifndef PC_TIMING_H
#define PC_TIMING_H

#include <stdint.h>

uint64_t now_ns(void);
void timing_mark(const char *phase);

#endif
