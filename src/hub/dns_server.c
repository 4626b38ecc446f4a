/* dns_server.c - DNS over UDP and TCP (see dns_server.h). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"
#include "common/io.h"
#include "common/netaddr.h"
#include "hub/dns_server.h"

struct dns_server {
	const struct dns_zone *zone;
	dns_lookup_fn lookup;
	void *arg;
	int udp, tcp;
	int stop[2];               /* a pipe: readable once stopping */
	pthread_t udp_threads[DNS_UDP_THREADS], tcp_thread;
	int udp_started, tcp_started;   /* UDP: how many */
	atomic_int conns;          /* TCP connection threads alive */
};

struct conn {
	struct dns_server *s;
	int fd;
};

/* Wait until fd is readable (1), the server stops (0) or timeout_ms (0). */
static int wait_readable(struct dns_server *s, int fd, int timeout_ms)
{
	struct pollfd p[2] = { { .fd = fd, .events = POLLIN }, { .fd = s->stop[0], .events = POLLIN } };
	int n;

	do
		n = poll(p, 2, timeout_ms);
	while (n < 0 && errno == EINTR);
	if (n <= 0 || (p[1].revents & POLLIN))
		return 0;
	return 1;
}

static void *udp_loop(void *arg)
{
	struct dns_server *s = arg;
	uint8_t buf[DNS_TCP_MAX];

	while (wait_readable(s, s->udp, -1)) {
		struct sockaddr_storage from;
		socklen_t flen = sizeof(from);
		ssize_t n = recvfrom(s->udp, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from,
				     &flen);
		uint8_t *a;
		size_t alen;

		if (n < 0)
			continue;
		if (dns_answer(s->zone, buf, (size_t)n, 0, s->lookup, s->arg, &a, &alen) == 0 && a)
			sendto(s->udp, a, alen, MSG_DONTWAIT, (struct sockaddr *)&from, flen);
		free(a);
	}
	return NULL;
}

/* Read exactly len bytes, each wait bounded by the idle time; 1 read, 0 not. */
static int read_exact(struct dns_server *s, int fd, uint8_t *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n;

		if (!wait_readable(s, fd, DNS_TCP_IDLE_S * 1000))
			return 0;
		n = recv(fd, buf + got, len - got, MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			return 0;
		if (n > 0)
			got += (size_t)n;
	}
	return 1;
}

/* Answer one length-prefixed query; 0 when the connection is done. */
static int answer_one(struct dns_server *s, int fd, uint8_t *buf)
{
	uint8_t len[2], *a = NULL;
	size_t qlen, alen;
	int ok;

	if (!read_exact(s, fd, len, 2))
		return 0;
	qlen = (size_t)len[0] << 8 | len[1];
	if (!read_exact(s, fd, buf, qlen))
		return 0;
	if (dns_answer(s->zone, buf, qlen, 1, s->lookup, s->arg, &a, &alen) < 0 || !a)
		return 0;          /* no answer on a stream: close it */
	len[0] = (uint8_t)(alen >> 8);
	len[1] = (uint8_t)alen;
	ok = write_full(fd, len, 2, -1) == 0 && write_full(fd, a, alen, -1) == 0;
	free(a);
	return ok;
}

static void *conn_loop(void *arg)
{
	struct conn *c = arg;
	uint8_t *buf = malloc(DNS_TCP_MAX);

	while (buf && answer_one(c->s, c->fd, buf))
		;
	free(buf);
	close(c->fd);
	atomic_fetch_sub(&c->s->conns, 1);
	free(c);
	return NULL;
}

static void start_conn(struct dns_server *s, int fd)
{
	struct conn *c = malloc(sizeof(*c));
	pthread_attr_t at;
	pthread_t t;

	if (!c || atomic_load(&s->conns) >= DNS_TCP_CONNS) {
		free(c);
		close(fd);
		return;
	}
	c->s = s;
	c->fd = fd;
	atomic_fetch_add(&s->conns, 1);
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &at, conn_loop, c) != 0) {
		atomic_fetch_sub(&s->conns, 1);
		close(fd);
		free(c);
	}
	pthread_attr_destroy(&at);
}

static void *tcp_loop(void *arg)
{
	struct dns_server *s = arg;

	while (wait_readable(s, s->tcp, -1)) {
		int fd = accept4(s->tcp, NULL, NULL, SOCK_CLOEXEC);

		if (fd >= 0)
			start_conn(s, fd);
		else if (errno == EMFILE || errno == ENFILE)
			nanosleep(&(struct timespec){ 0, 100 * 1000000L }, NULL);
	}
	return NULL;
}

static int bind_socket(const struct sockaddr_storage *ss, socklen_t len, int type,
		       const char *spec, int *out)
{
	int s = socket(ss->ss_family, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), one = 1;

	if (s < 0)
		return err_sys("dns: socket");
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(s, (const struct sockaddr *)ss, len) < 0 ||
	    (type == SOCK_STREAM && listen(s, 128) < 0)) {
		err_sys("dns: %s on %s", type == SOCK_STREAM ? "TCP" : "UDP", spec);
		close(s);
		return -1;
	}
	*out = s;
	return 0;
}

int dns_server_start(const char *listen, const struct dns_zone *z, dns_lookup_fn lookup,
		     void *arg, struct dns_server **out)
{
	struct dns_server *s = calloc(1, sizeof(*s));
	struct sockaddr_storage ss;
	socklen_t len;

	if (!s)
		return err_set("out of memory");
	s->zone = z;
	s->lookup = lookup;
	s->arg = arg;
	s->udp = s->tcp = s->stop[0] = s->stop[1] = -1;
	if (netaddr_parse(listen, "--dns", &ss, &len) < 0 ||
	    bind_socket(&ss, len, SOCK_DGRAM, listen, &s->udp) < 0 ||
	    bind_socket(&ss, len, SOCK_STREAM, listen, &s->tcp) < 0)
		goto fail;
	if (pipe2(s->stop, O_CLOEXEC) < 0) {
		err_sys("dns: pipe");
		goto fail;
	}
	for (; s->udp_started < DNS_UDP_THREADS; s->udp_started++)
		if (pthread_create(&s->udp_threads[s->udp_started], NULL, udp_loop, s) != 0) {
			err_set("dns: cannot start a thread");
			goto fail;
		}
	if (pthread_create(&s->tcp_thread, NULL, tcp_loop, s) != 0) {
		err_set("dns: cannot start a thread");
		goto fail;
	}
	s->tcp_started = 1;
	*out = s;
	return 0;
fail:
	dns_server_stop(s);
	return -1;
}

void dns_server_stop(struct dns_server *s)
{
	if (!s)
		return;
	if (s->stop[1] >= 0 && write(s->stop[1], "x", 1) < 0)
		err_sys("dns: stop");   /* the threads then end on their timeouts */
	for (int i = 0; i < s->udp_started; i++)
		pthread_join(s->udp_threads[i], NULL);
	if (s->tcp_started)
		pthread_join(s->tcp_thread, NULL);
	while (atomic_load(&s->conns) > 0)
		nanosleep(&(struct timespec){ 0, 5 * 1000000L }, NULL);
	if (s->udp >= 0)
		close(s->udp);
	if (s->tcp >= 0)
		close(s->tcp);
	if (s->stop[0] >= 0)
		close(s->stop[0]);
	if (s->stop[1] >= 0)
		close(s->stop[1]);
	free(s);
}
