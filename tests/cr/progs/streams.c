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

#define NCH 3

struct channel {
	const char *name;
	int wfd, rfd;
	atomic_ullong got;       /* values read and checked */
	atomic_int bad;
	char why[128];
};

static struct channel ch[NCH] = { { .name = "pipe" }, { .name = "unix" }, { .name = "tcp" } };

static void *writer(void *arg)
{
	struct channel *c = arg;
	uint64_t next = 0, buf[1024];
	size_t sizes[] = { 8 * 3 + 5, 8 * 200 + 3, 8 * 1024 - 1 }, k = 0;
	size_t pending = 0, off = 0;

	for (;;) {
		ssize_t w;

		if (off == pending) {
			for (size_t i = 0; i < 1024; i++)
				buf[i] = next++;
			pending = sizeof(buf);
			off = 0;
		}
		w = write(c->wfd, (char *)buf + off,
			  pending - off < sizes[k % 3] ? pending - off : sizes[k % 3]);
		k++;
		if (w < 0) {
			if (errno == EINTR)
				continue;
			snprintf(c->why, sizeof(c->why), "write: %s", strerror(errno));
			atomic_store(&c->bad, 1);
			return NULL;
		}
		off += (size_t)w;
	}
	return NULL;
}

static void *reader(void *arg)
{
	struct channel *c = arg;
	uint64_t want = 0, v;
	uint8_t buf[5000];
	size_t have = 0;

	for (;;) {
		ssize_t r = read(c->rfd, buf + have, sizeof(buf) - have);
		size_t i;

		if (r <= 0) {
			if (r < 0 && errno == EINTR)
				continue;
			snprintf(c->why, sizeof(c->why), "read: %s", r ? strerror(errno) : "end of stream");
			atomic_store(&c->bad, 1);
			return NULL;
		}
		have += (size_t)r;
		for (i = 0; i + 8 <= have; i += 8) {
			memcpy(&v, buf + i, 8);
			if (v != want && !atomic_load(&c->bad)) {
				snprintf(c->why, sizeof(c->why), "read %llu, want %llu",
					 (unsigned long long)v, (unsigned long long)want);
				atomic_store(&c->bad, 1);
			}
			want = v + 1;
		}
		memmove(buf, buf + i, have - i);
		have -= i;
		atomic_store(&c->got, want);
	}
	return NULL;
}

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
		if (pthread_create(&t, NULL, writer, &ch[i]) || pthread_create(&t, NULL, reader, &ch[i]))
			ck_die("pthread_create");
	ck_ready();
	for (int n = 0;; n++) {
		unsigned long long before[NCH];

		ck_wait_go(n);
		for (int i = 0; i < NCH; i++)
			before[i] = atomic_load(&ch[i].got);
		/* A TCP connection restored with unacknowledged data in flight
		 * moves again only after its retransmission timeout. */
		for (int i = 0; i < NCH; i++) {
			double end = ck_now() + 5;

			while (atomic_load(&ch[i].got) <= before[i] + 1000 && ck_now() < end)
				ck_sleep_us(10000);
			CK(!atomic_load(&ch[i].bad), "%s: %s", ch[i].name, ch[i].why);
			CK(atomic_load(&ch[i].got) > before[i] + 1000, "%s: only %llu values in 5 s",
			   ch[i].name, atomic_load(&ch[i].got) - before[i]);
		}
		ck_report(n);
	}
}
