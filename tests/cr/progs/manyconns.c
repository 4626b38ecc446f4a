/*
 * manyconns.c - many connections at once: 500 loopback TCP connections
 * (1000 sockets, both ends in this process) and 500 unix socketpairs, all
 * in one epoll set, with a different number of bytes queued on each.
 *
 * Check N: every socket is still in the epoll set (it reports the queued
 * bytes as readable), each connection's queued message reads back intact,
 * then a new message goes each way over every connection and is queued
 * again for the next cycle.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "check.h"

#define NTCP 500
#define NUNIX 500
#define NCONN (NTCP + NUNIX)

static int a[NCONN], b[NCONN], ep;

static size_t msg_len(int i, int n) { return 1 + (size_t)((i * 37 + n * 11) % 700); }

static void make_msg(char *buf, size_t len, int i, int n, char dir)
{
	for (size_t k = 0; k < len; k++)
		buf[k] = (char)(dir + i * 7 + n * 3 + (int)k);
}

static void queue_msgs(int n)
{
	char buf[800];

	for (int i = 0; i < NCONN; i++) {
		size_t len = msg_len(i, n);

		make_msg(buf, len, i, n, 'a');
		CK(write(a[i], buf, len) == (ssize_t)len, "conn %d: write a->b: %s", i, strerror(errno));
		make_msg(buf, len, i, n, 'b');
		CK(write(b[i], buf, len) == (ssize_t)len, "conn %d: write b->a: %s", i, strerror(errno));
	}
}

static void read_exact(int fd, char *buf, size_t len, int i)
{
	size_t got = 0;
	double end = ck_now() + 5;

	while (got < len && ck_now() < end) {
		ssize_t r = recv(fd, buf + got, len - got, MSG_DONTWAIT);

		if (r > 0)
			got += (size_t)r;
		else if (r == 0 || (errno != EAGAIN && errno != EINTR))
			break;
		else
			ck_sleep_us(200);
	}
	CK(got == len, "conn %d: %zu of %zu queued bytes read back", i, got, len);
}

static void check_msgs(int n)
{
	char want[800], got[800];

	for (int i = 0; i < NCONN; i++) {
		size_t len = msg_len(i, n);

		make_msg(want, len, i, n, 'a');
		read_exact(b[i], got, len, i);
		CK(!memcmp(want, got, len), "conn %d: message a->b differs", i);
		make_msg(want, len, i, n, 'b');
		read_exact(a[i], got, len, i);
		CK(!memcmp(want, got, len), "conn %d: message b->a differs", i);
	}
}

static void check_epoll(void)
{
	static struct epoll_event ev[2 * NCONN + 8];
	int n = epoll_wait(ep, ev, 2 * NCONN + 8, 1000);

	CK(n == 2 * NCONN, "epoll reports %d readable sockets, want %d", n, 2 * NCONN);
}

static void tcp_listen(int *l, struct sockaddr_in *sin)
{
	socklen_t len = sizeof(*sin);

	*l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin->sin_port = 0;
	if (*l < 0 || bind(*l, (struct sockaddr *)sin, sizeof(*sin)) < 0 ||
	    listen(*l, NTCP) < 0 || getsockname(*l, (struct sockaddr *)sin, &len) < 0)
		ck_die("listen");
}

int main(int argc, char **argv)
{
	struct rlimit rl = { 4096, 4096 };
	struct sockaddr_in sin;
	int l;

	ck_init(argc, argv);
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		ck_die("setrlimit");
	tcp_listen(&l, &sin);
	for (int i = 0; i < NTCP; i++) {
		a[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (a[i] < 0 || connect(a[i], (struct sockaddr *)&sin, sizeof(sin)) < 0)
			ck_die("connect %d", i);
		b[i] = accept4(l, NULL, NULL, SOCK_CLOEXEC);
		if (b[i] < 0)
			ck_die("accept %d", i);
	}
	close(l);
	for (int i = NTCP; i < NCONN; i++) {
		int sv[2];

		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
			ck_die("socketpair %d", i);
		a[i] = sv[0];
		b[i] = sv[1];
	}
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		ck_die("epoll_create1");
	for (int i = 0; i < NCONN; i++) {
		struct epoll_event e = { .events = EPOLLIN };

		e.data.u32 = (uint32_t)i;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, a[i], &e) < 0 ||
		    epoll_ctl(ep, EPOLL_CTL_ADD, b[i], &e) < 0)
			ck_die("epoll_ctl %d", i);
	}
	queue_msgs(0);
	ck_ready();
	for (int n = 0;; n++) {
		ck_wait_go(n);
		check_epoll();
		check_msgs(n);
		queue_msgs(n + 1);
		ck_report(n);
	}
}
