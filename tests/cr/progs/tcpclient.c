/*
 * tcpclient.c - TCP connections to a peer outside the tree:
 * `tcpclient CHECK_DIR PORT`.
 *
 * Connects to 127.0.0.1:PORT and [::1]:PORT, where tests/cr/inet_peer.py
 * listens: the peer sends a greeting of GREET bytes at once and then echoes
 * whatever it receives.  The greeting is left unread (it sits in the
 * receive queue across every checkpoint).  Checks 0..2 only look at the
 * connections (still ESTABLISHED, nothing read); from check 3 on each
 * connection reads the greeting (once) and then sends ECHO bytes and reads
 * them back: nothing lost, nothing reset.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "check.h"

#define GREET 3000
#define ECHO 65536
#define IDLE_CHECKS 3

static unsigned char greet_byte(size_t i) { return (unsigned char)(i * 7 + 3); }
static unsigned char echo_byte(int n, size_t i) { return (unsigned char)(i * 11 + (size_t)n); }

static int ioctl_inq(int fd, int *v)
{
	return ioctl(fd, FIONREAD, v);
}

/* The peer greets at once, but it is another process: give it 5 s. */
static void wait_greeting(int fd)
{
	int inq = 0;

	for (int i = 0; i < 5000 && (ioctl_inq(fd, &inq) < 0 || inq < GREET); i++)
		ck_sleep_us(1000);
}

static int dial(int family, int port)
{
	struct sockaddr_in a4 = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port) };
	int s = socket(family, SOCK_STREAM, 0);

	a4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a6.sin6_addr = in6addr_loopback;
	if (s < 0)
		ck_die("socket");
	if (family == AF_INET ? connect(s, (struct sockaddr *)&a4, sizeof(a4))
			      : connect(s, (struct sockaddr *)&a6, sizeof(a6)))
		ck_die("connect to the peer on port %d", port);
	return s;
}

static int read_full(int fd, unsigned char *buf, size_t len, const char *what)
{
	size_t got = 0;

	while (got < len) {
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t n;

		if (poll(&p, 1, 5000) <= 0) {
			ck_fail("%s: timeout after %zu of %zu bytes", what, got, len);
			return -1;
		}
		n = read(fd, buf + got, len - got);
		if (n <= 0) {
			ck_fail("%s: read: %s", what, n < 0 ? strerror(errno) : "EOF");
			return -1;
		}
		got += (size_t)n;
	}
	return 0;
}

static void check_state(int fd, const char *name)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);
	int inq = -1;

	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0) {
		ck_fail("%s: TCP_INFO: %s", name, strerror(errno));
		return;
	}
	CK(ti.tcpi_state == TCP_ESTABLISHED, "%s: state %u", name, ti.tcpi_state);
	if (ioctl_inq(fd, &inq) == 0)
		CK(inq == GREET, "%s: %d bytes queued, want the %d-byte greeting", name, inq, GREET);
}

static void exchange(int fd, int n, int *greeted, const char *name)
{
	static unsigned char buf[ECHO], back[ECHO];

	if (!*greeted) {
		if (read_full(fd, back, GREET, name) < 0)
			return;
		for (size_t i = 0; i < GREET; i++)
			if (back[i] != greet_byte(i)) {
				ck_fail("%s: greeting byte %zu differs", name, i);
				return;
			}
		*greeted = 1;
	}
	for (size_t i = 0; i < ECHO; i++)
		buf[i] = echo_byte(n, i);
	if (write(fd, buf, ECHO) != ECHO) {
		ck_fail("%s: write: %s", name, strerror(errno));
		return;
	}
	if (read_full(fd, back, ECHO, name) == 0 && memcmp(buf, back, ECHO))
		ck_fail("%s: echo differs", name);
}

int main(int argc, char **argv)
{
	int s4, s6, g4 = 0, g6 = 0;

	ck_init(argc, argv);
	if (argc < 3)
		ck_die("usage: tcpclient CHECK_DIR PORT");
	s4 = dial(AF_INET, atoi(argv[2]));
	s6 = dial(AF_INET6, atoi(argv[2]));
	wait_greeting(s4);
	wait_greeting(s6);
	ck_ready();
	for (int n = 0;; n++) {
		ck_wait_go(n);
		if (n < IDLE_CHECKS) {
			check_state(s4, "v4");
			check_state(s6, "v6");
		} else {
			exchange(s4, n, &g4, "v4");
			exchange(s6, n, &g6, "v6");
		}
		ck_report(n);
	}
}
