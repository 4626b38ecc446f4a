/* netaddr.h - "ADDR:PORT" and "[ADDR6]:PORT" as socket addresses, for the
 * options that name where a daemon listens (--listen, --dns). */
#ifndef PC_NETADDR_H
#define PC_NETADDR_H

#include <sys/socket.h>

/* Parse spec into *ss and *len; errors name the option (what). */
int netaddr_parse(const char *spec, const char *what, struct sockaddr_storage *ss,
		  socklen_t *len);

#endif
