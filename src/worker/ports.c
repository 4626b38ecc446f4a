/* ports.c - ports in use on the host or in a process's network namespace,
 * from /proc/net (see ports.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/err.h"
#include "worker/ports.h"

#define TCP_LISTEN 0x0a

/* The local address of a /proc/net line (hex, as the kernel prints it)
 * is on loopback: 127.0.0.0/8, ::1 or ::ffff:127.0.0.0/104. */
static int is_loopback_hex(const char *hex)
{
	size_t n = strlen(hex);

	if (n == 8)                       /* IPv4, in host (little-endian) order */
		return !strncasecmp(hex + 6, "7F", 2);
	if (n != 32)
		return 0;
	if (!strcasecmp(hex, "00000000000000000000000001000000"))
		return 1;
	return !strncasecmp(hex, "0000000000000000FFFF0000", 24) &&
	       !strncasecmp(hex + 30, "7F", 2);
}

/* Scan one /proc/net table; want_state 0 = any state.  *found goes up to
 * PORT_LOOPBACK for a socket on loopback only, PORT_REACHABLE for any
 * other. */
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
			int kind = is_loopback_hex(local) ? PORT_LOOPBACK : PORT_REACHABLE;

			if (kind > *found)
				*found = kind;
			if (*found == PORT_REACHABLE)
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
	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]) && *used != PORT_REACHABLE; i++) {
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
