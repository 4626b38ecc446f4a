/*
 * resetconn.c - an accepted connection its client reset before the dump:
 * `resetconn CHECK_DIR PORT`.
 *
 * Listens on 127.0.0.1:PORT; the test connects and closes with a RST
 * (SO_LINGER 0), and the app keeps the accepted socket open without
 * touching it, so at the dump it is a closed TCP socket that still names
 * the listener's port.  Each check: that socket gives an error or an end
 * of stream (no data, no hang) and the listener still takes a connection.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include "check.h"

static struct sockaddr_in sin;
static int lfd, reset_fd = -1;

static void check_listener(void)
{
	int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), a;

	CK(c >= 0 && connect(c, (struct sockaddr *)&sin, sizeof(sin)) == 0,
	   "connect to the listener: %s", strerror(errno));
	a = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	CK(a >= 0, "accept: %s", strerror(errno));
	if (a >= 0)
		close(a);
	if (c >= 0)
		close(c);
}

static void check_reset_socket(void)
{
	char b;
	ssize_t n = recv(reset_fd, &b, 1, MSG_DONTWAIT);

	CK(n <= 0 && !(n < 0 && errno == EAGAIN), "the reset socket gave %zd (%s)", n,
	   n < 0 ? strerror(errno) : "data");
}

int main(int argc, char **argv)
{
	int one = 1;

	ck_init(argc, argv);
	if (argc < 3)
		ck_die("usage: resetconn CHECK_DIR PORT");
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((uint16_t)atoi(argv[2]));
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(lfd, 8) < 0)
		ck_die("listen on port %s", argv[2]);
	ck_ready();
	reset_fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);   /* the test's client */
	if (reset_fd < 0)
		ck_die("accept the client");
	for (int n = 0;; n++) {
		ck_wait_go(n);
		check_reset_socket();
		check_listener();
		ck_report(n);
	}
}
