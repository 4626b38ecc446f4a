/*
 * resident.c - the dump side of lazy restore: wait until a process's
 * memory is all in (no VMA registered with a userfaultfd, VmFlags "um"),
 * so that a dump never reads a page the page server has not filled yet.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/err.h"
#include "common/timing.h"
#include "mem/lazy.h"

/* 1 if some VMA of pid is registered for missing-page faults, 0 if none,
 * -1 if smaps cannot be read. */
static int has_uffd_vma(pid_t pid, char *where, size_t wlen)
{
	char path[64], line[512], last[128] = "";
	int found = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/smaps", pid);
	f = fopen(path, "re");
	if (!f)
		return err_sys("open %s", path);
	while (!found && fgets(line, sizeof(line), f)) {
		if ((line[0] >= '0' && line[0] <= '9') || (line[0] >= 'a' && line[0] <= 'f')) {
			snprintf(last, sizeof(last), "%.*s", (int)strcspn(line, " "), line);
			continue;
		}
		if (strncmp(line, "VmFlags:", 8) == 0 && strstr(line, " um"))
			found = 1;
	}
	fclose(f);
	if (found)
		snprintf(where, wlen, "%s", last);
	return found;
}

int mem_wait_resident(pid_t pid, int timeout_ms)
{
	uint64_t end = now_ns() + (uint64_t)timeout_ms * 1000000ull;
	char where[128];
	int r;

	while ((r = has_uffd_vma(pid, where, sizeof(where))) > 0) {
		struct timespec ts = { 0, 1000000 };

		if (now_ns() > end)
			return err_set("pid %d: memory at %s is still being filled by a lazy "
				       "restore (or the process uses userfaultfd itself)",
				       pid, where);
		nanosleep(&ts, NULL);
	}
	return r;
}
