/*
 * custody.c - listener custody: the messages (custody_wire.h) and the
 * client side (custody_put, custody_get, custody_done, custody_drop,
 * custody_stop).  Protocol in custody.h; the holder is custody_hold.c.
 *
 * Every message is one fixed-size struct wire on a SOCK_SEQPACKET unix
 * socket; an ITEM carries its socket as SCM_RIGHTS.
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
#include "cr/custody_wire.h"

/* ---- messages ---- */

int wire_send(int s, const struct wire *w, int fd)
{
	while (send_with_fd(s, w, sizeof(*w), fd, MSG_NOSIGNAL) < 0) {
		if (errno != EINTR)
			return err_sys("custody: send");
	}
	return 0;
}

int wire_send_op(int s, uint32_t op, uint64_t key, const char *tag, const char *text)
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
	return wire_send(s, &w, -1);
}

/* Receive one message; *fd is the socket it carried or -1. */
int wire_recv(int s, struct wire *w, int *fd)
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

int custody_check_tag(const char *tag)
{
	if (!tag || !*tag || strlen(tag) >= CUSTODY_TAG_MAX)
		return err_set("custody: bad tag");
	return 0;
}

/* A seqpacket socket and the address of path. */
int custody_socket(const char *path, struct sockaddr_un *sa)
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

/* A holder that stops answering cuts a request off after this long. */
#define HOLDER_TIMEOUT_S 30

static int connect_holder(const char *path, int *out)
{
	struct timeval tv = { HOLDER_TIMEOUT_S, 0 };
	struct sockaddr_un sa;
	int s = custody_socket(path, &sa);

	if (s < 0)
		return -1;
	if (setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0 ||
	    connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
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

	if (wire_recv(s, w, &fd) < 0)
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

	if (custody_check_tag(tag) < 0)
		return -1;
	if (n > CUSTODY_MAX_ITEMS)
		return err_set("custody: %zu sockets (limit %d)", n, CUSTODY_MAX_ITEMS);
	if (connect_holder(path, &s) < 0)
		return -1;
	rc = wire_send_op(s, OP_PUT, n, tag, NULL);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		memset(&w, 0, sizeof(w));
		w.magic = WIRE_MAGIC;
		w.op = OP_ITEM;
		w.key = items[i].key;
		rc = wire_send(s, &w, items[i].fd);
	}
	if (rc == 0)
		rc = wire_send_op(s, OP_END, n, tag, NULL);
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
		if (wire_recv(s, &w, &fd) < 0)
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
	if (custody_check_tag(tag) < 0 || connect_holder(path, &s) < 0)
		return -1;
	if (wire_send_op(s, OP_GET, 0, tag, NULL) < 0 || get_items(s, items, n) < 0) {
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
		if (wire_send_op(conn, OP_DONE, 0, NULL, NULL) == 0)
			expect_reply(conn, OP_OK, &w);
		err_clear();
	}
	close(conn);
}


/* A request answered by OK alone (DROP, STOP). */
static int simple_request(const char *path, uint32_t op, const char *tag)
{
	struct wire w;
	int s, rc;

	if (connect_holder(path, &s) < 0)
		return -1;
	rc = wire_send_op(s, op, 0, tag, NULL);
	if (rc == 0)
		rc = expect_reply(s, OP_OK, &w);
	close(s);
	return rc;
}

int custody_drop(const char *path, const char *tag)
{
	if (custody_check_tag(tag) < 0)
		return -1;
	return simple_request(path, OP_DROP, tag);
}

int custody_stop(const char *path)
{
	return simple_request(path, OP_STOP, "-");
}
