/*
 * badfd.c - holds one fd of a kind the dumper must refuse (argv[2]:
 * io_uring, netlink, packet or device) at fd 42, and answers checks; the
 * runner (t-bad-fds.sh) expects the dump to fail naming pid 1 fd 42 and
 * the program to keep running and checking fine afterwards.
 */
#include <linux/io_uring.h>
#include <linux/netlink.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <netinet/in.h>
#include <linux/if_ether.h>

#include "check.h"

static int open_kind(const char *kind)
{
	struct io_uring_params p;

	if (!strcmp(kind, "io_uring")) {
		memset(&p, 0, sizeof(p));
		return (int)syscall(SYS_io_uring_setup, 4, &p);
	}
	if (!strcmp(kind, "netlink"))
		return socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
	if (!strcmp(kind, "packet"))
		return socket(AF_PACKET, SOCK_DGRAM, htons(ETH_P_ALL));
	if (!strcmp(kind, "device"))
		return open("/dev/full", O_RDWR);
	errno = EINVAL;
	return -1;
}

int main(int argc, char **argv)
{
	int fd;

	ck_init(argc, argv);
	if (argc < 3)
		ck_die("usage: badfd CHECK_DIR KIND");
	fd = open_kind(argv[2]);
	if (fd < 0 || dup2(fd, 42) < 0 || close(fd) < 0)
		ck_die("open %s", argv[2]);
	ck_ready();
	for (int n = 0;; n++) {
		ck_wait_go(n);
		CK(fcntl(42, F_GETFD) >= 0, "fd 42 lost");
		ck_report(n);
	}
}
