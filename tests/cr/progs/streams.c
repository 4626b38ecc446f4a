/*
 * streams.c - byte streams busy in both directions across the dump lose
 * and repeat nothing.
 *
 * Three channels, each with a writer thread that writes a running 64-bit
 * counter without pause (blocking writes of odd sizes, so records straddle
 * writes) and a reader thread that reads and checks every value is the
 * next one:
 * - a pipe;
 * - a unix stream socketpair;
 * - a TCP connection over 127.0.0.1 between two sockets of this process
 *   (so at the dump both ends hold data: the sender's unsent and unacked
 *   bytes, the receiver's queue).
 * Check N: every reader moved on (within 5 s: a TCP stream restored with
 * data in flight resumes at its retransmission timeout) and none saw a
 * wrong value.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "check.h"
#include "counter.h"

#define NCH 3

static struct counter_stream ch[NCH] = { { .name = "pipe" }, { .name = "unix" },
					 { .name = "tcp" } };

static void tcp_pair(int *a, int *b)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sin);
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (l < 0 || bind(l, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(l, 1) < 0 ||
	    getsockname(l, (struct sockaddr *)&sin, &len) < 0)
		ck_die("tcp listen");
	*a = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (*a < 0 || connect(*a, (struct sockaddr *)&sin, sizeof(sin)) < 0)
		ck_die("tcp connect");
	*b = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	if (*b < 0)
		ck_die("tcp accept");
	close(l);
}

int main(int argc, char **argv)
{
	int p[2], u[2];
	pthread_t t;

	ck_init(argc, argv);
	if (pipe2(p, O_CLOEXEC) < 0 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, u) < 0)
		ck_die("pipe/socketpair");
	ch[0].wfd = p[1], ch[0].rfd = p[0];
	ch[1].wfd = u[0], ch[1].rfd = u[1];
	tcp_pair(&ch[2].wfd, &ch[2].rfd);
	for (int i = 0; i < NCH; i++)
		if (pthread_create(&t, NULL, counter_writer, &ch[i]) ||
		    pthread_create(&t, NULL, counter_reader, &ch[i]))
			ck_die("pthread_create");
	ck_ready();
	for (int n = 0;; n++) {
		unsigned long long before[NCH];

		ck_wait_go(n);
		for (int i = 0; i < NCH; i++)
			before[i] = atomic_load(&ch[i].got);
		for (int i = 0; i < NCH; i++)
			counter_check(&ch[i], before[i], 1000);
		ck_report(n);
	}
}
