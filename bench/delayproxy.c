/*
 * delayproxy.c - a small TCP proxy that delays (and optionally slows) the
 * bytes it forwards, to give loopback the latency of a real network.  This
 * kernel has no netem, so bench/store.sh and the S3 fault tests put this in
 * front of radosgw.
 *
 *   delayproxy -t HOST:PORT [-b ADDR] [-l PORT] [-d MS] [-u MS] [-r BYTES_PER_S]
 *
 * -b is the address it listens on (default 127.0.0.1; the hub tests give
 * workers in network namespaces of their own the store this way).
 * -d delays client->server bytes (each request) by MS milliseconds, -u
 * delays server->client bytes, -r limits the client->server rate (to make an
 * upload last long enough to be interrupted).  With -l 0 (the default) a
 * free port is chosen.  The port is printed on the first line of stdout.
 * Each direction of each connection is a reader thread that timestamps what
 * it reads and a writer thread that sends each piece when its time comes,
 * so the delay adds latency without reducing throughput.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PIECE 65536
#define QUEUE_MAX (4u << 20)        /* bytes held per direction: backpressure */

struct piece {
	struct piece *next;
	double due;                 /* monotonic seconds */
	size_t len;
	char data[];
};

/* One direction of one connection. */
struct pipe_dir {
	int from, to;
	double delay;               /* seconds */
	double rate;                /* bytes/s, 0: unlimited */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct piece *head, *tail;
	size_t queued;
	int eof;
	struct conn *conn;
};

struct conn {
	struct pipe_dir up, down;   /* client->server, server->client */
	int refs;                   /* threads still running */
	pthread_mutex_t lock;
};

static struct addrinfo *target;
static double up_delay, down_delay, up_rate;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void sleep_until(double t)
{
	double d = t - now();
	struct timespec ts;

	if (d <= 0)
		return;
	ts.tv_sec = (time_t)d;
	ts.tv_nsec = (long)((d - (double)ts.tv_sec) * 1e9);
	nanosleep(&ts, NULL);
}

static void conn_release(struct conn *c)
{
	int last;

	pthread_mutex_lock(&c->lock);
	last = --c->refs == 0;
	pthread_mutex_unlock(&c->lock);
	if (!last)
		return;
	close(c->up.from);
	close(c->up.to);
	free(c);
}

static void push(struct pipe_dir *d, struct piece *p)
{
	pthread_mutex_lock(&d->lock);
	while (p && d->queued > QUEUE_MAX)
		pthread_cond_wait(&d->cond, &d->lock);
	if (p) {
		d->queued += p->len;
		if (d->tail)
			d->tail->next = p;
		else
			d->head = p;
		d->tail = p;
	} else {
		d->eof = 1;
	}
	pthread_cond_broadcast(&d->cond);
	pthread_mutex_unlock(&d->lock);
}

/* Next piece, NULL at end of stream. */
static struct piece *pop(struct pipe_dir *d)
{
	struct piece *p;

	pthread_mutex_lock(&d->lock);
	while (!d->head && !d->eof)
		pthread_cond_wait(&d->cond, &d->lock);
	p = d->head;
	if (p) {
		d->head = p->next;
		if (!d->head)
			d->tail = NULL;
		d->queued -= p->len;
		pthread_cond_broadcast(&d->cond);
	}
	pthread_mutex_unlock(&d->lock);
	return p;
}

static void *reader(void *arg)
{
	struct pipe_dir *d = arg;
	struct piece *p;
	ssize_t n;

	for (;;) {
		p = malloc(sizeof(*p) + PIECE);
		if (!p)
			break;
		n = read(d->from, p->data, PIECE);
		if (n <= 0) {
			free(p);
			break;
		}
		p->next = NULL;
		p->len = (size_t)n;
		p->due = now() + d->delay;
		push(d, p);
	}
	push(d, NULL);
	conn_release(d->conn);
	return NULL;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* End of one direction: pass the end on, and wake the readers that would
 * otherwise wait for a peer that is gone. */
static void dir_end(struct pipe_dir *d, int broken)
{
	if (d == &d->conn->up) {
		shutdown(d->to, broken ? SHUT_RDWR : SHUT_WR);
		if (broken)
			shutdown(d->from, SHUT_RD);
	} else {
		shutdown(d->to, SHUT_WR);
		shutdown(d->to, SHUT_RD);
		shutdown(d->from, SHUT_RDWR);
	}
}

static void *writer(void *arg)
{
	struct pipe_dir *d = arg;
	struct piece *p;
	double free_at = 0;
	int broken = 0;

	while ((p = pop(d))) {
		sleep_until(p->due > free_at ? p->due : free_at);
		if (!broken && write_all(d->to, p->data, p->len) < 0) {
			broken = 1;
			shutdown(d->from, SHUT_RD);   /* stop reading for nobody */
		}
		if (d->rate > 0)
			free_at = now() + (double)p->len / d->rate;
		free(p);
	}
	dir_end(d, broken);
	conn_release(d->conn);
	return NULL;
}

static void dir_init(struct pipe_dir *d, struct conn *c, int from, int to,
		     double delay, double rate)
{
	d->from = from;
	d->to = to;
	d->delay = delay;
	d->rate = rate;
	d->conn = c;
	pthread_mutex_init(&d->lock, NULL);
	pthread_cond_init(&d->cond, NULL);
}

static int connect_target(void)
{
	int one = 1, fd = socket(target->ai_family, SOCK_STREAM, 0);

	if (fd < 0)
		return -1;
	if (connect(fd, target->ai_addr, target->ai_addrlen) < 0) {
		close(fd);
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

static void start_threads(struct conn *c)
{
	void *(*fn[4])(void *) = { reader, writer, reader, writer };
	struct pipe_dir *arg[4] = { &c->up, &c->up, &c->down, &c->down };
	pthread_attr_t attr;
	pthread_t t;

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 128 * 1024);
	c->refs = 4;
	for (int i = 0; i < 4; i++)
		if (pthread_create(&t, &attr, fn[i], arg[i]) != 0) {
			perror("delayproxy: pthread_create");
			exit(1);
		}
	pthread_attr_destroy(&attr);
}

/* One client: connect to the server and start the four threads.  It runs
 * in a thread of its own, so a server slow to accept (radosgw restarting)
 * holds up only this client, never the accept loop. */
static void *serve(void *arg)
{
	int one = 1, client = (int)(intptr_t)arg, server = connect_target();
	struct conn *c;

	if (server < 0) {
		close(client);   /* the server is down: the client sees EOF */
		return NULL;
	}
	setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(client);
		close(server);
		return NULL;
	}
	pthread_mutex_init(&c->lock, NULL);
	dir_init(&c->up, c, client, server, up_delay, up_rate);
	dir_init(&c->down, c, server, client, down_delay, 0);
	start_threads(c);
	return NULL;
}

static void serve_in_thread(int client)
{
	pthread_attr_t attr;
	pthread_t t;

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 128 * 1024);
	if (pthread_create(&t, &attr, serve, (void *)(intptr_t)client) != 0) {
		perror("delayproxy: pthread_create");
		close(client);
	}
	pthread_attr_destroy(&attr);
}

static int listen_on(const char *addr, int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	socklen_t len = sizeof(a);
	int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);

	if (inet_pton(AF_INET, addr, &a.sin_addr) != 1) {
		fprintf(stderr, "delayproxy: -b %s is not an IPv4 address\n", addr);
		exit(2);
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(fd, 256) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
		perror("delayproxy: listen");
		exit(1);
	}
	printf("%d\n", ntohs(a.sin_port));
	fflush(stdout);
	return fd;
}

static void resolve(const char *hostport)
{
	char host[256];
	const char *colon = strrchr(hostport, ':');
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM };

	if (!colon || (size_t)(colon - hostport) >= sizeof(host)) {
		fprintf(stderr, "delayproxy: -t wants HOST:PORT\n");
		exit(2);
	}
	memcpy(host, hostport, (size_t)(colon - hostport));
	host[colon - hostport] = '\0';
	if (getaddrinfo(host, colon + 1, &hints, &target) != 0) {
		fprintf(stderr, "delayproxy: cannot resolve %s\n", hostport);
		exit(2);
	}
}

int main(int argc, char **argv)
{
	int opt, port = 0, lfd, cfd;
	const char *bind_addr = "127.0.0.1";

	signal(SIGPIPE, SIG_IGN);
	while ((opt = getopt(argc, argv, "t:l:b:d:u:r:")) != -1) {
		switch (opt) {
		case 't': resolve(optarg); break;
		case 'l': port = atoi(optarg); break;
		case 'b': bind_addr = optarg; break;
		case 'd': up_delay = atof(optarg) / 1e3; break;
		case 'u': down_delay = atof(optarg) / 1e3; break;
		case 'r': up_rate = atof(optarg); break;
		default:
			fprintf(stderr, "usage: delayproxy -t HOST:PORT [-b ADDR] [-l PORT] [-d MS] "
				"[-u MS] [-r BYTES_PER_S]\n");
			return 2;
		}
	}
	if (!target) {
		fprintf(stderr, "delayproxy: -t HOST:PORT is required\n");
		return 2;
	}
	lfd = listen_on(bind_addr, port);
	for (;;) {
		cfd = accept(lfd, NULL, NULL);
		if (cfd >= 0)
			serve_in_thread(cfd);
		else if (errno != EINTR && errno != ECONNABORTED)
			perror("delayproxy: accept");
	}
}
