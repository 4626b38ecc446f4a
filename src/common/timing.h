/*
 * timing.h - phase timings for benchmarks: with PICOCENTER_TIMING set in
 * the environment, timing_mark("phase") prints the time since the previous
 * mark to stderr as "timing: phase 1.234 ms"; timing_span("what", t0, t1)
 * prints "timing: what 1.234 ms" for a span another thread measured
 * (now_ns() values), without moving the marks.
 */
#ifndef PC_TIMING_H
#define PC_TIMING_H

#include <stdint.h>

uint64_t now_ns(void);
void timing_mark(const char *phase);
void timing_span(const char *what, uint64_t t0, uint64_t t1);

#endif
