/* timing.c - monotonic clock and optional phase timings (see timing.h). */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "common/timing.h"

uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int enabled(void)
{
	static int on = -1;

	if (on < 0)
		on = getenv("PICOCENTER_TIMING") != NULL;
	return on;
}

void timing_span(const char *what, uint64_t t0, uint64_t t1)
{
	if (enabled())
		fprintf(stderr, "timing: %s %.3f ms\n", what, (double)(t1 - t0) / 1e6);
}

void timing_mark(const char *phase)
{
	static uint64_t last;
	uint64_t t;

	if (!enabled())
		return;
	t = now_ns();
	if (last)
		fprintf(stderr, "timing: %s %.3f ms\n", phase, (double)(t - last) / 1e6);
	last = t;
}
