/*
 * tcppaced.c - a TCP stream inside the tree that keeps moving in the
 * kernel while the tree is frozen: the dump's network lock must stop it
 * before either end is read.
 *
 * The receiving end is fd 10 and the sending end fd 900, with 300 eventfds
 * in between, so the dump reads the receiver some milliseconds before the
 * sender.  The sender is paced (SO_MAX_PACING_RATE, 1 MB/s) with small
 * segments (TCP_MAXSEG 536) and always has data queued, so its kernel
 * sends a segment every half millisecond whether the app runs or not.
 * Without the lock, segments the receiver takes after it was read are
 * acknowledged, dropped from the sender's queue before the sender is read,
 * and in neither image: the restored stream has a hole and stops.
 * Check N: the reader moved on (within 5 s) and saw every value in order.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include "check.h"
#include "counter.h"

#define RECV_FD 10
#define SEND_FD 900
#define FILLERS 300
#define PACING (1u << 20)

static struct counter_stream tcp = { .name = "tcp", .wfd = SEND_FD, .rfd = RECV_FD };

/* A connection over 127.0.0.1: the sender at SEND_FD, paced, with small
 * segments; the receiver at RECV_FD. */
static void make_pair(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sin);
	unsigned rate = PACING;
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), s, r, mss = 536, one = 1;

	if (l < 0 || bind(l, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(l, 1) < 0 ||
	    getsockname(l, (struct sockaddr *)&sin, &len) < 0)
		ck_die("listen");
	s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0 || setsockopt(s, IPPROTO_TCP, TCP_MAXSEG, &mss, sizeof(mss)) < 0 ||
	    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0 ||
	    connect(s, (struct sockaddr *)&sin, sizeof(sin)) < 0)
		ck_die("connect");
	if (setsockopt(s, SOL_SOCKET, SO_MAX_PACING_RATE, &rate, sizeof(rate)) < 0)
		ck_die("SO_MAX_PACING_RATE");
	r = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	if (r < 0 || dup3(r, RECV_FD, O_CLOEXEC) < 0 || dup3(s, SEND_FD, O_CLOEXEC) < 0)
		ck_die("accept/dup3");
	close(l);
	close(r);
	close(s);
}

int main(int argc, char **argv)
{
	pthread_t t;

	ck_init(argc, argv);
	make_pair();
	for (int i = 0; i < FILLERS; i++)
		if (eventfd(0, EFD_CLOEXEC) < 0)
			ck_die("eventfd");
	if (pthread_create(&t, NULL, counter_writer, &tcp) ||
	    pthread_create(&t, NULL, counter_reader, &tcp))
		ck_die("pthread_create");
	ck_ready();
	for (int n = 0;; n++) {
		unsigned long long before;

		ck_wait_go(n);
		before = atomic_load(&tcp.got);
		counter_check(&tcp, before, 1000);
		ck_report(n);
	}
}
