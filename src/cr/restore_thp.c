/*
 * restore_thp.c - the mode of transparent huge pages on this machine
 * (/sys/kernel/mm/transparent_hugepage/enabled), which decides where
 * writing a page faults in a whole huge page.  Read once per process
 * (pthread_once), so that restores running in threads of one process can
 * ask at the same time.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "cr/restore_ctx.h"

static pthread_once_t thp_once = PTHREAD_ONCE_INIT;
static char thp_enabled[128];

static void read_thp_enabled(void)
{
	FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "re");

	if (!f || !fgets(thp_enabled, sizeof(thp_enabled), f))
		snprintf(thp_enabled, sizeof(thp_enabled), "?");
	if (f)
		fclose(f);
}

int rst_thp_mode(const char *mode)
{
	char want[32];

	pthread_once(&thp_once, read_thp_enabled);
	snprintf(want, sizeof(want), "[%s]", mode);
	return strstr(thp_enabled, want) != NULL;
}
