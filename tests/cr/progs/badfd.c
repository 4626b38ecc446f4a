/*
 * badfd.c - holds one fd of a kind the dumper must refuse (argv[2]:
 * io_uring, io_uring_mapped (its submission ring mapped too), netlink (NETLINK_XFRM: other protocols are carried), packet, device, scm_rights (a unix socket with a file
 * descriptor in flight in its queue) or unix_outside (a stream connected
 * to the listener at argv[3], outside the tree), timestamping (a UDP socket
 * with SO_TIMESTAMPING, which the image does not carry)) at fd 42, and answers
 * checks; the
 * runner (t-bad-fds.sh) expects the dump to fail naming pid 1 fd 42 and
 * the program to keep running and checking fine afterwards.
 */
#include <linux/io_uring.h>
#include <linux/net_tstamp.h>
#include <linux/netlink.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <netinet/in.h>
#include <linux/if_ether.h>
#include <sys/un.h>

#include "check.h"

/* A socketpair at 42/43 with /dev/null in flight from 43 to 42. */
static int scm_rights(void)
{
	union {
		struct cmsghdr align;
		char b[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct iovec iov = { "x", 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.b,
			     .msg_controllen = sizeof(ctl.b) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	int sv[2], nul = open("/dev/null", O_RDONLY);

	if (nul < 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0 || dup2(sv[1], 43) < 0)
		return -1;
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &nul, sizeof(int));
	if (sendmsg(43, &mh, 0) != 1)
		return -1;
	close(nul);
	close(sv[1]);
	return sv[0];
}

static int connect_outside(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path ? path : "");
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -1;
	return fd;
}

static int open_kind(const char *kind, const char *arg)
{
	struct io_uring_params p;

	if (!strcmp(kind, "io_uring") || !strcmp(kind, "io_uring_mapped")) {
		int fd;

		memset(&p, 0, sizeof(p));
		fd = (int)syscall(SYS_io_uring_setup, 4, &p);
		/* Its submission ring mapped, as liburing and libuv do. */
		if (fd >= 0 && kind[8] &&
		    mmap(NULL, p.sq_off.array + p.sq_entries * sizeof(unsigned),
			 PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd,
			 IORING_OFF_SQ_RING) == MAP_FAILED)
			return -1;
		return fd;
	}
	if (!strcmp(kind, "netlink"))
		return socket(AF_NETLINK, SOCK_RAW, NETLINK_XFRM);
	if (!strcmp(kind, "packet"))
		return socket(AF_PACKET, SOCK_DGRAM, htons(ETH_P_ALL));
	if (!strcmp(kind, "device"))
		return open("/dev/full", O_RDWR);
	if (!strcmp(kind, "scm_rights"))
		return scm_rights();
	if (!strcmp(kind, "unix_outside"))
		return connect_outside(arg);
	if (!strcmp(kind, "timestamping")) {   /* a UDP socket with SO_TIMESTAMPING */
		int fd = socket(AF_INET, SOCK_DGRAM, 0), flags = SOF_TIMESTAMPING_RX_SOFTWARE |
								   SOF_TIMESTAMPING_SOFTWARE;

		if (fd >= 0 && setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPING, &flags, sizeof(flags)) < 0)
			return -1;
		return fd;
	}
	errno = EINVAL;
	return -1;
}

int main(int argc, char **argv)
{
	int fd;

	ck_init(argc, argv);
	if (argc < 3)
		ck_die("usage: badfd CHECK_DIR KIND");
	fd = open_kind(argv[2], argc > 3 ? argv[3] : NULL);
	if (fd < 0 || dup2(fd, 42) < 0 || close(fd) < 0)
		ck_die("open %s", argv[2]);
	ck_ready();
	for (int n = 0;; n++) {
		ck_wait_go(n);
		CK(fcntl(42, F_GETFD) >= 0, "fd 42 lost");
		ck_report(n);
	}
}
