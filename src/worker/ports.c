/* ports.c - ports in use on the host or in a process's network namespace,
 * from /proc/net (see ports.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "worker/ports.h"

#define TCP_LISTEN 0x0a

/* Scan one /proc/net table; want_state 0 = any state. */
static int scan_table(const char *path, uint16_t port, unsigned want_state, int *found)
{
	char line[512];
	FILE *f = fopen(path, "re");

	if (!f)
		return errno == ENOENT ? 0 : err_sys("open %s", path);
	if (!fgets(line, sizeof(line), f)) {   /* header */
		fclose(f);
		return 0;
	}
	while (fgets(line, sizeof(line), f)) {
		unsigned lport, state;
		char local[64];

		if (sscanf(line, " %*d: %63[0-9A-Fa-f]:%x %*[0-9A-Fa-f]:%*x %x", local, &lport,
			   &state) != 3)
			continue;
		if (lport == port && (!want_state || state == want_state)) {
			*found = 1;
			break;
		}
	}
	fclose(f);
	return 0;
}

int port_in_use_at(pid_t pid, uint16_t port, int *used)
{
	static const char *const tables[] = { "tcp", "tcp6", "udp", "udp6" };
	char path[64];

	*used = 0;
	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]) && !*used; i++) {
		if (pid > 0)
			snprintf(path, sizeof(path), "/proc/%d/net/%s", (int)pid, tables[i]);
		else
			snprintf(path, sizeof(path), "/proc/net/%s", tables[i]);
		if (scan_table(path, port, tables[i][0] == 't' ? TCP_LISTEN : 0, used) < 0)
			return -1;
	}
	return 0;
}

int port_in_use(uint16_t port, int *used)
{
	return port_in_use_at(0, port, used);
}
