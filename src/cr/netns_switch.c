/*
 * netns_switch.c - step the calling thread into a network namespace and
 * back: the dumper reads a boxed tree's sockets (sock_diag, multicast
 * groups) from inside the tree's namespace.
 */
#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include "common/err.h"
#include "cr/netns_switch.h"

int netns_enter(int nsfd, int *own)
{
	*own = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (*own < 0)
		return err_sys("open /proc/thread-self/ns/net");
	if (setns(nsfd, CLONE_NEWNET) < 0) {
		err_sys("setns to a network namespace");
		close(*own);
		*own = -1;
		return -1;
	}
	return 0;
}

int netns_leave(int own)
{
	int rc = 0;

	if (own < 0)
		return 0;
	if (setns(own, CLONE_NEWNET) < 0)
		rc = err_sys("return to the dumper's network namespace");
	close(own);
	return rc;
}
