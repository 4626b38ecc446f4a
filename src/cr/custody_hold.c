/*
 * custody_hold.c - the custody holder (custody_hold, `picocenter cr hold`):
 * keeps sets of sockets under tags for any number of apps (custody.h).
 * The main thread accepts; each connection is served by a thread of its
 * own, so a GET that stays open for a whole restore, or a client that
 * stalls (cut off by a receive timeout), delays no other app.  The sets
 * are guarded by one mutex; a GET lends duplicates and drops the set on
 * DONE only if it is still the one it lent (not replaced meanwhile).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/err.h"
#include "common/event_log.h"
#include "cr/cr.h"
#include "cr/custody.h"
#include "cr/custody_wire.h"

#define CLIENT_TIMEOUT_S 30
#define MAX_CONNS 1024             /* requests served at once */
#define CONN_STACK (256 * 1024)

struct held_set {
	char tag[CUSTODY_TAG_MAX];
	uint64_t id;                   /* which PUT made it */
	size_t n;
	struct custody_item *items;
};

struct holder {
	int log;                       /* event lines on stderr */
	const char *path;
	pthread_mutex_t mu;            /* guards everything below */
	pthread_cond_t idle;           /* conns reached 0 */
	struct held_set *sets;
	size_t nr_sets, cap;
	uint64_t next_id;
	int conns[MAX_CONNS];          /* the connections being served */
	int nr_conns;
	int stopping;                  /* a STOP was accepted */
	int wake[2];                   /* a STOP wakes the accept loop */
};

struct conn_arg {
	struct holder *h;
	int c;
};

static volatile sig_atomic_t hold_stop;

static void on_stop(int sig)
{
	(void)sig;
	hold_stop = 1;
}

/* An event line on stderr ("TIME hold: text"), if the holder logs. */
__attribute__((format(printf, 2, 3)))
static void hlog(struct holder *h, const char *fmt, ...)
{
	va_list ap;

	if (!h->log)
		return;
	va_start(ap, fmt);
	event_vlog("hold", fmt, ap);
	va_end(ap);
}

/* ---- the sets (h->mu held) ---- */

static struct held_set *find_set(struct holder *h, const char *tag)
{
	for (size_t i = 0; i < h->nr_sets; i++)
		if (!strcmp(h->sets[i].tag, tag))
			return &h->sets[i];
	return NULL;
}

static void drop_set(struct holder *h, struct held_set *set)
{
	custody_free(set->items, set->n);
	*set = h->sets[--h->nr_sets];
}

/* Keep items (n) under tag, replacing the set held there. */
static int keep_set(struct holder *h, const char *tag, struct custody_item *items, size_t n)
{
	struct held_set *set = find_set(h, tag);

	if (set) {
		drop_set(h, set);
	} else if (h->nr_sets == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 64;
		struct held_set *v = realloc(h->sets, cap * sizeof(*v));

		if (!v)
			return err_set("out of memory for %zu sets", cap);
		h->sets = v;
		h->cap = cap;
	}
	set = &h->sets[h->nr_sets++];
	snprintf(set->tag, sizeof(set->tag), "%s", tag);
	set->id = ++h->next_id;
	set->items = items;
	set->n = n;
	return 0;
}

/* Duplicates of the set under tag, to lend without the lock; *id = its id. */
static int lend_set(struct holder *h, const char *tag, struct custody_item **out, size_t *n,
		    uint64_t *id)
{
	struct held_set *set = find_set(h, tag);
	struct custody_item *v;

	if (!set)
		return err_set("no sockets held for %s", tag);
	v = calloc(set->n ? set->n : 1, sizeof(*v));
	if (!v)
		return err_set("out of memory");
	for (size_t i = 0; i < set->n; i++) {
		v[i].key = set->items[i].key;
		v[i].fd = fcntl(set->items[i].fd, F_DUPFD_CLOEXEC, 0);
		if (v[i].fd < 0) {
			err_sys("dup a socket of %s", tag);
			custody_free(v, i);
			return -1;
		}
	}
	*out = v;
	*n = set->n;
	*id = set->id;
	return 0;
}

/* ---- requests (without the lock, but to change the sets) ---- */

static int hold_put(struct holder *h, int c, const struct wire *req)
{
	struct custody_item *v = calloc(req->key ? req->key : 1, sizeof(*v));
	size_t cnt = 0;
	struct wire w;
	int fd, rc;

	if (req->key > CUSTODY_MAX_ITEMS || !v) {
		free(v);
		return err_set("PUT of %llu sockets refused", (unsigned long long)req->key);
	}
	while (cnt < req->key) {
		if (wire_recv(c, &w, &fd) < 0)
			break;
		if (w.op != OP_ITEM || fd < 0) {
			if (fd >= 0)
				close(fd);
			break;
		}
		v[cnt].key = w.key;
		v[cnt++].fd = fd;
	}
	fd = -1;
	if (cnt < req->key || wire_recv(c, &w, &fd) < 0 || w.op != OP_END || fd >= 0) {
		if (fd >= 0)
			close(fd);
		custody_free(v, cnt);
		return err_set("PUT %s: incomplete (%zu of %llu sockets)", req->tag, cnt,
			       (unsigned long long)req->key);
	}
	pthread_mutex_lock(&h->mu);
	rc = keep_set(h, req->tag, v, cnt);
	pthread_mutex_unlock(&h->mu);
	if (rc < 0) {
		custody_free(v, cnt);
		return -1;
	}
	hlog(h, "%s: holding %zu sockets", req->tag, cnt);
	return wire_send_op(c, OP_OK, 0, NULL, NULL);
}

static int send_items(int c, const struct custody_item *v, size_t n)
{
	struct wire w;

	for (size_t i = 0; i < n; i++) {
		memset(&w, 0, sizeof(w));
		w.magic = WIRE_MAGIC;
		w.op = OP_ITEM;
		w.key = v[i].key;
		if (wire_send(c, &w, v[i].fd) < 0)
			return -1;
	}
	return wire_send_op(c, OP_END, n, NULL, NULL);
}

static int hold_get(struct holder *h, int c, const struct wire *req)
{
	struct custody_item *v = NULL;
	struct held_set *set;
	struct wire w;
	uint64_t id = 0;
	size_t n = 0;
	int fd, rc;

	pthread_mutex_lock(&h->mu);
	rc = lend_set(h, req->tag, &v, &n, &id);
	pthread_mutex_unlock(&h->mu);
	if (rc < 0)
		return -1;
	rc = send_items(c, v, n);
	custody_free(v, n);
	if (rc < 0)
		return -1;
	hlog(h, "%s: lent %zu sockets", req->tag, n);
	if (wire_recv(c, &w, &fd) < 0 || w.op != OP_DONE) {
		if (fd >= 0)
			close(fd);
		hlog(h, "%s: restore did not confirm; still holding", req->tag);
		err_clear();
		return 0;
	}
	pthread_mutex_lock(&h->mu);
	set = find_set(h, req->tag);
	if (set && set->id == id)
		drop_set(h, set);
	pthread_mutex_unlock(&h->mu);
	hlog(h, "%s: handed back", req->tag);
	return wire_send_op(c, OP_OK, 0, NULL, NULL);
}

static int hold_drop(struct holder *h, int c, const struct wire *req)
{
	struct held_set *set;
	size_t n = 0;

	pthread_mutex_lock(&h->mu);
	set = find_set(h, req->tag);
	if (set) {
		n = set->n;
		drop_set(h, set);
	}
	pthread_mutex_unlock(&h->mu);
	if (set)
		hlog(h, "%s: dropped %zu sockets", req->tag, n);
	return wire_send_op(c, OP_OK, 0, NULL, NULL);
}

/* STOP: accepted only with no other request under way; then nobody can
 * connect any more (the path is gone) when OK is sent, and the sets left
 * (the caller knows nobody needs them) are closed.  The accept loop is
 * woken once OK is sent (its end cuts every connection short). */
static int hold_stop_req(struct holder *h, int c)
{
	size_t sets;
	int conns, rc;

	pthread_mutex_lock(&h->mu);
	sets = h->nr_sets;
	conns = h->nr_conns;
	if (conns == 1 && !h->stopping) {
		h->stopping = 1;
		unlink(h->path);
	}
	pthread_mutex_unlock(&h->mu);
	if (conns != 1)
		return err_set("serving %d other requests", conns - 1);
	hlog(h, "stopping (%zu sets left)", sets);
	rc = wire_send_op(c, OP_OK, 0, NULL, NULL);
	if (write(h->wake[1], "s", 1) < 0)
		hlog(h, "wake the accept loop: %s", strerror(errno));
	return rc;
}

static void serve_one(struct holder *h, int c)
{
	struct timeval tv = { CLIENT_TIMEOUT_S, 0 };
	struct wire req;
	int fd, rc;

	setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (wire_recv(c, &req, &fd) < 0) {
		/* a connection closed unused is a liveness check */
		if (!strstr(err_msg(), "closed by the other side"))
			hlog(h, "%s", err_msg());
		return;
	}
	if (fd >= 0)
		close(fd);
	if (custody_check_tag(req.tag) < 0)
		rc = -1;
	else if (req.op == OP_PUT)
		rc = hold_put(h, c, &req);
	else if (req.op == OP_GET)
		rc = hold_get(h, c, &req);
	else if (req.op == OP_DROP)
		rc = hold_drop(h, c, &req);
	else if (req.op == OP_STOP)
		rc = hold_stop_req(h, c);
	else
		rc = err_set("unknown request %u", req.op);
	if (rc < 0) {
		hlog(h, "%s", err_msg());
		wire_send_op(c, OP_ERR, 0, NULL, err_msg());
	}
}

/* ---- connections ---- */

static void forget_conn(struct holder *h, int c)
{
	pthread_mutex_lock(&h->mu);
	for (int i = 0; i < h->nr_conns; i++)
		if (h->conns[i] == c) {
			h->conns[i] = h->conns[--h->nr_conns];
			break;
		}
	close(c);
	if (!h->nr_conns)
		pthread_cond_broadcast(&h->idle);
	pthread_mutex_unlock(&h->mu);
}

static void *conn_thread(void *arg)
{
	struct conn_arg *ca = arg;

	serve_one(ca->h, ca->c);
	forget_conn(ca->h, ca->c);
	free(ca);
	return NULL;
}

/* A detached thread with a small stack running conn_thread(ca). */
static int conn_spawn(struct conn_arg *ca)
{
	pthread_attr_t attr;
	pthread_t t;
	int rc;

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, CONN_STACK);
	rc = pthread_create(&t, &attr, conn_thread, ca);
	pthread_attr_destroy(&attr);
	return rc == 0 ? 0 : err_set("cannot start a thread for a request");
}

/* Serve connection c in a thread of its own (c is closed in any case). */
static void start_conn(struct holder *h, int c)
{
	struct conn_arg *ca;
	int taken = 0;

	pthread_mutex_lock(&h->mu);
	if (h->nr_conns < MAX_CONNS) {
		h->conns[h->nr_conns++] = c;
		taken = 1;
	}
	pthread_mutex_unlock(&h->mu);
	if (!taken) {
		hlog(h, "too many requests at once");
		wire_send_op(c, OP_ERR, 0, NULL, "holder busy");
		close(c);
		return;
	}
	ca = malloc(sizeof(*ca));
	if (ca) {
		*ca = (struct conn_arg){ h, c };
		if (conn_spawn(ca) == 0)
			return;
		hlog(h, "%s", err_msg());
		free(ca);
	}
	forget_conn(h, c);
}

/* Stop serving: cut the requests under way short, wait for their threads,
 * close every held socket. */
static void finish(struct holder *h)
{
	pthread_mutex_lock(&h->mu);
	for (int i = 0; i < h->nr_conns; i++)
		shutdown(h->conns[i], SHUT_RDWR);
	while (h->nr_conns)
		pthread_cond_wait(&h->idle, &h->mu);
	while (h->nr_sets)
		drop_set(h, &h->sets[0]);
	pthread_mutex_unlock(&h->mu);
}

static int listen_at(const char *path, int *out)
{
	struct sockaddr_un sa;
	int s = custody_socket(path, &sa);

	if (s < 0)
		return -1;
	unlink(path);   /* a stale socket of an earlier holder */
	if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(path, 0600) < 0 ||
	    listen(s, 256) < 0) {
		err_sys("custody: listen at %s", path);
		close(s);
		return -1;
	}
	*out = s;
	return 0;
}

static void accept_loop(struct holder *h, int s)
{
	while (!hold_stop && !h->stopping) {
		struct pollfd p[2] = { { s, POLLIN, 0 }, { h->wake[0], POLLIN, 0 } };
		int c;

		if (poll(p, 2, 500) <= 0 || !(p[0].revents & POLLIN))
			continue;
		c = accept4(s, NULL, NULL, SOCK_CLOEXEC);
		if (c >= 0)
			start_conn(h, c);
	}
}

static void free_holder(struct holder *h)
{
	if (h->wake[0] >= 0)
		close(h->wake[0]);
	if (h->wake[1] >= 0)
		close(h->wake[1]);
	pthread_cond_destroy(&h->idle);
	pthread_mutex_destroy(&h->mu);
	free(h->sets);
	free(h);
}

static struct holder *new_holder(const char *path, int log)
{
	struct holder *h = calloc(1, sizeof(*h));

	if (!h) {
		err_set("out of memory");
		return NULL;
	}
	h->log = log;
	h->path = path;
	h->wake[0] = h->wake[1] = -1;
	pthread_mutex_init(&h->mu, NULL);
	pthread_cond_init(&h->idle, NULL);
	if (pipe2(h->wake, O_CLOEXEC | O_NONBLOCK) < 0) {
		err_sys("custody: pipe");
		free_holder(h);
		return NULL;
	}
	return h;
}

int custody_hold(const char *path, int log)
{
	struct holder *h = new_holder(path, log);
	int s = -1;

	if (!h)
		return -1;
	if (listen_at(path, &s) < 0) {
		free_holder(h);
		return -1;
	}
	if (stop_signals_install(on_stop) < 0) {
		close(s);
		unlink(path);
		free_holder(h);
		return -1;
	}
	hlog(h, "listening at %s", path);
	accept_loop(h, s);
	close(s);
	if (!h->stopping)
		unlink(path);
	finish(h);
	hlog(h, "stopped");
	free_holder(h);
	return 0;
}

int cr_hold(const char *path)
{
	return custody_hold(path, 1);
}
