/*
 * tcpsink.c - a TCP stream from a client outside the tree, arriving while
 * the tree is dumped, loses no byte.
 *
 * Listens on 127.0.0.1:PORT (argv[2]) and takes one connection; a reader
 * thread reads a running 64-bit counter from it and checks every value
 * is the next one.  The client (t-tcp-lock.sh) writes one value a
 * millisecond, so data arrives all through a dump: what arrives after the
 * dump has read the socket must not be acknowledged by the old tree.
 * Check N: the stream moved on (within 5 s) and no value was missing.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "check.h"
#include "counter.h"

static struct counter_stream tcp = { .name = "tcp", .wfd = -1 };

int main(int argc, char **argv)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	pthread_t t;
	int lfd, one = 1;

	ck_init(argc, argv);
	if (argc < 3)
		ck_die("usage: tcpsink CHKDIR PORT");
	sin.sin_port = htons((uint16_t)atoi(argv[2]));
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(lfd, 1) < 0)
		ck_die("listen on port %s", argv[2]);
	ck_ready();
	tcp.rfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);   /* the test's client */
	if (tcp.rfd < 0)
		ck_die("accept");
	if (pthread_create(&t, NULL, counter_reader, &tcp))
		ck_die("pthread_create");
	for (int n = 0;; n++) {
		unsigned long long before;

		ck_wait_go(n);
		before = atomic_load(&tcp.got);
		counter_check(&tcp, before, 50);
		ck_report(n);
	}
}
