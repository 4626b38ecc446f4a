/*
 * custody.c - listener custody: the client side (custody_put, custody_get,
 * custody_done) and the holder (custody_hold).  Protocol in custody.h.
 *
 * Every message is one fixed-size struct wire on a SOCK_SEQPACKET unix
 * socket; an ITEM carries its socket as SCM_RIGHTS.  The holder serves one
 * connection at a time: requests take milliseconds, and a client that
 * stalls is cut off by a receive timeout.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
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
#include "common/io.h"
#include "cr/cr.h"
#include "cr/custody.h"

#define WIRE_MAGIC 0x55434350u      /* "PCCU" */
#define CLIENT_TIMEOUT_S 30
#define MAX_SETS 1024

enum wire_op { OP_PUT = 1, OP_GET, OP_ITEM, OP_END, OP_OK, OP_ERR, OP_DONE };

struct wire {
	uint32_t magic;
	uint32_t op;
	uint64_t key;                  /* ITEM: the key; PUT/END: the count */
	char tag[CUSTODY_TAG_MAX];
	char text[192];                /* ERR: the message */
};

/* ---- messages ---- */

static int send_wire(int s, const struct wire *w, int fd)
{
	while (send_with_fd(s, w, sizeof(*w), fd, MSG_NOSIGNAL) < 0) {
		if (errno != EINTR)
			return err_sys("custody: send");
	}
	return 0;
}

static int send_op(int s, uint32_t op, uint64_t key, const char *tag, const char *text)
{
	struct wire w;

	memset(&w, 0, sizeof(w));
	w.magic = WIRE_MAGIC;
	w.op = op;
	w.key = key;
	if (tag)
		snprintf(w.tag, sizeof(w.tag), "%s", tag);
	if (text)
		snprintf(w.text, sizeof(w.text), "%s", text);
	return send_wire(s, &w, -1);
}

/* Receive one message; *fd is the socket it carried or -1. */
static int recv_wire(int s, struct wire *w, int *fd)
{
	char cbuf[CMSG_SPACE(sizeof(int) * 4)];
	struct iovec iov = { w, sizeof(*w) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm;
	ssize_t n;

	*fd = -1;
	do
		n = recvmsg(s, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return err_sys("custody: receive");
	for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
			int nfd = (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));

			for (int i = 0; i < nfd; i++) {
				int f;

				memcpy(&f, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
				if (*fd < 0)
					*fd = f;
				else
					close(f);
			}
		}
	}
	if (n == 0)
		return err_set("custody: connection closed by the other side");
	if (n != (ssize_t)sizeof(*w) || w->magic != WIRE_MAGIC || (mh.msg_flags & MSG_CTRUNC)) {
		if (*fd >= 0)
			close(*fd);
		*fd = -1;
		return err_set("custody: malformed message (%zd bytes)", n);
	}
	w->tag[sizeof(w->tag) - 1] = '\0';
	w->text[sizeof(w->text) - 1] = '\0';
	return 0;
}

static int check_tag(const char *tag)
{
	if (!tag || !*tag || strlen(tag) >= CUSTODY_TAG_MAX)
		return err_set("custody: bad tag");
	return 0;
}

/* A seqpacket socket and the address of path. */
static int unix_socket(const char *path, struct sockaddr_un *sa)
{
	int s;

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		return err_set("custody: socket path too long: %s", path);
	strcpy(sa->sun_path, path);
	s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (s < 0)
		return err_sys("custody: socket");
	return s;
}

static int connect_holder(const char *path, int *out)
{
	struct sockaddr_un sa;
	int s = unix_socket(path, &sa);

	if (s < 0)
		return -1;
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		err_sys("custody: connect to the holder at %s", path);
		close(s);
		return -1;
	}
	*out = s;
	return 0;
}

/* ---- client ---- */

static int expect_reply(int s, uint32_t op, struct wire *w)
{
	int fd;

	if (recv_wire(s, w, &fd) < 0)
		return -1;
	if (fd >= 0)
		close(fd);
	if (w->op == OP_ERR)
		return err_set("custody holder: %s", w->text);
	if (w->op != op)
		return err_set("custody: unexpected message %u from the holder", w->op);
	return 0;
}

int custody_put(const char *path, const char *tag, const struct custody_item *items, size_t n)
{
	struct wire w;
	int s, rc = 0;

	if (check_tag(tag) < 0)
		return -1;
	if (n > CUSTODY_MAX_ITEMS)
		return err_set("custody: %zu sockets (limit %d)", n, CUSTODY_MAX_ITEMS);
	if (connect_holder(path, &s) < 0)
		return -1;
	rc = send_op(s, OP_PUT, n, tag, NULL);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		memset(&w, 0, sizeof(w));
		w.magic = WIRE_MAGIC;
		w.op = OP_ITEM;
		w.key = items[i].key;
		rc = send_wire(s, &w, items[i].fd);
	}
	if (rc == 0)
		rc = send_op(s, OP_END, n, tag, NULL);
	if (rc == 0)
		rc = expect_reply(s, OP_OK, &w);
	close(s);
	return rc;
}

void custody_free(struct custody_item *items, size_t n)
{
	for (size_t i = 0; items && i < n; i++)
		if (items[i].fd >= 0)
			close(items[i].fd);
	free(items);
}

static int get_items(int s, struct custody_item **items, size_t *n)
{
	struct custody_item *v = NULL;
	size_t cnt = 0;
	struct wire w;
	int fd;

	for (;;) {
		if (recv_wire(s, &w, &fd) < 0)
			break;
		if (w.op == OP_END && fd < 0 && w.key == cnt) {
			*items = v;
			*n = cnt;
			return 0;
		}
		if (w.op != OP_ITEM || fd < 0 || cnt >= CUSTODY_MAX_ITEMS) {
			if (fd >= 0)
				close(fd);
			if (w.op == OP_ERR)
				err_set("custody holder: %s", w.text);
			else
				err_set("custody: unexpected message %u from the holder", w.op);
			break;
		}
		struct custody_item *g = realloc(v, (cnt + 1) * sizeof(*v));

		if (!g) {
			close(fd);
			err_set("out of memory");
			break;
		}
		v = g;
		v[cnt].key = w.key;
		v[cnt++].fd = fd;
	}
	custody_free(v, cnt);
	return -1;
}

int custody_get(const char *path, const char *tag, struct custody_item **items, size_t *n,
		int *conn)
{
	int s;

	*items = NULL;
	*n = 0;
	if (check_tag(tag) < 0 || connect_holder(path, &s) < 0)
		return -1;
	if (send_op(s, OP_GET, 0, tag, NULL) < 0 || get_items(s, items, n) < 0) {
		close(s);
		return -1;
	}
	*conn = s;
	return 0;
}

void custody_done(int conn, int ok)
{
	if (conn < 0)
		return;
	if (ok) {
		struct wire w;

		/* Wait for the holder's OK so that it has dropped the set before
		 * the caller goes on (a following dump puts a new one). */
		if (send_op(conn, OP_DONE, 0, NULL, NULL) == 0)
			expect_reply(conn, OP_OK, &w);
		err_clear();
	}
	close(conn);
}

/* ---- holder ---- */

struct held_set {
	char tag[CUSTODY_TAG_MAX];
	size_t n;
	struct custody_item *items;
};

struct holder {
	int log_fd;
	size_t nr_sets;
	struct held_set sets[MAX_SETS];
};

static volatile sig_atomic_t hold_stop;

static void on_stop(int sig)
{
	(void)sig;
	hold_stop = 1;
}

__attribute__((format(printf, 2, 3)))
static void hlog(struct holder *h, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int len;

	if (h->log_fd < 0)
		return;
	va_start(ap, fmt);
	len = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	if (len < 0)
		return;
	if (len > (int)sizeof(buf) - 2)
		len = (int)sizeof(buf) - 2;
	buf[len++] = '\n';
	if (write(h->log_fd, buf, (size_t)len) < 0)
		h->log_fd = -1;
}

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

static int hold_put(struct holder *h, int c, const struct wire *req)
{
	struct custody_item *v = calloc(req->key ? req->key : 1, sizeof(*v));
	struct held_set *set;
	size_t cnt = 0;
	struct wire w;
	int fd;

	if (req->key > CUSTODY_MAX_ITEMS || !v) {
		free(v);
		return err_set("PUT of %llu sockets refused", (unsigned long long)req->key);
	}
	while (cnt < req->key) {
		if (recv_wire(c, &w, &fd) < 0)
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
	if (cnt < req->key || recv_wire(c, &w, &fd) < 0 || w.op != OP_END || fd >= 0) {
		if (fd >= 0)
			close(fd);
		custody_free(v, cnt);
		return err_set("PUT %s: incomplete (%zu of %llu sockets)", req->tag, cnt,
			       (unsigned long long)req->key);
	}
	set = find_set(h, req->tag);
	if (set) {
		drop_set(h, set);
	} else if (h->nr_sets == MAX_SETS) {
		custody_free(v, cnt);
		return err_set("holding %d sets already", MAX_SETS);
	}
	set = &h->sets[h->nr_sets++];
	snprintf(set->tag, sizeof(set->tag), "%s", req->tag);
	set->items = v;
	set->n = cnt;
	hlog(h, "hold: %s: holding %zu sockets", req->tag, cnt);
	return send_op(c, OP_OK, 0, NULL, NULL);
}

static int hold_get(struct holder *h, int c, const struct wire *req)
{
	struct held_set *set = find_set(h, req->tag);
	struct wire w;
	int fd;

	if (!set)
		return err_set("no sockets held for %s", req->tag);
	for (size_t i = 0; i < set->n; i++) {
		memset(&w, 0, sizeof(w));
		w.magic = WIRE_MAGIC;
		w.op = OP_ITEM;
		w.key = set->items[i].key;
		if (send_wire(c, &w, set->items[i].fd) < 0)
			return -1;
	}
	if (send_op(c, OP_END, set->n, NULL, NULL) < 0)
		return -1;
	hlog(h, "hold: %s: lent %zu sockets", req->tag, set->n);
	if (recv_wire(c, &w, &fd) < 0 || w.op != OP_DONE) {
		if (fd >= 0)
			close(fd);
		hlog(h, "hold: %s: restore did not confirm; still holding", req->tag);
		err_clear();
		return 0;
	}
	set = find_set(h, req->tag);
	if (set)
		drop_set(h, set);
	hlog(h, "hold: %s: handed back", req->tag);
	return send_op(c, OP_OK, 0, NULL, NULL);
}

static void serve_one(struct holder *h, int c)
{
	struct timeval tv = { CLIENT_TIMEOUT_S, 0 };
	struct wire req;
	int fd, rc;

	setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (recv_wire(c, &req, &fd) < 0) {
		hlog(h, "hold: %s", err_msg());
		return;
	}
	if (fd >= 0)
		close(fd);
	if (check_tag(req.tag) < 0)
		rc = -1;
	else if (req.op == OP_PUT)
		rc = hold_put(h, c, &req);
	else if (req.op == OP_GET)
		rc = hold_get(h, c, &req);
	else
		rc = err_set("unknown request %u", req.op);
	if (rc < 0) {
		hlog(h, "hold: %s", err_msg());
		send_op(c, OP_ERR, 0, NULL, err_msg());
	}
}

static int listen_at(const char *path, int *out)
{
	struct sockaddr_un sa;
	int s = unix_socket(path, &sa);

	if (s < 0)
		return -1;
	unlink(path);   /* a stale socket of an earlier holder */
	if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(path, 0600) < 0 ||
	    listen(s, 64) < 0) {
		err_sys("custody: listen at %s", path);
		close(s);
		return -1;
	}
	*out = s;
	return 0;
}

int custody_hold(const char *path, int log_fd)
{
	struct holder *h = calloc(1, sizeof(*h));
	struct sigaction sa;
	int s = -1;

	if (!h)
		return err_set("out of memory");
	h->log_fd = log_fd;
	if (listen_at(path, &s) < 0) {
		free(h);
		return -1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	hlog(h, "hold: listening at %s", path);
	while (!hold_stop) {
		struct pollfd p = { s, POLLIN, 0 };
		int c;

		if (poll(&p, 1, 500) <= 0)
			continue;
		c = accept4(s, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			continue;
		serve_one(h, c);
		close(c);
	}
	while (h->nr_sets)
		drop_set(h, &h->sets[0]);
	close(s);
	unlink(path);
	free(h);
	if (log_fd >= 0)
		dprintf(log_fd, "hold: stopped\n");
	return 0;
}

int cr_hold(const char *path)
{
	return custody_hold(path, STDERR_FILENO);
}
