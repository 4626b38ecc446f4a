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

void timing_mark(const char *phase)
{
	static int enabled = -1;
	static uint64_t last;
	uint64_t t;

	if (enabled < 0)
		enabled = getenv("PICOCENTER_TIMING") != NULL;
	if (!enabled)
		return;
	t = now_ns();
	if (last)
		fprintf(stderr, "timing: %s %.3f ms\n", phase, (double)(t - last) / 1e6);
	last = t;
}
