/*
 * file_inet.c - the inet socket kinds of the file framework (files.h):
 * CR_FILE_TCP and CR_FILE_UDP, on top of the socket library (inet.h,
 * tcp_repair.h).  The image's form of a socket and its model are
 * image_inet.c's (image.h); listener custody marks and takes back the
 * sockets (custody_files.h, through files.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "cr/files.h"
#include "cr/netlock.h"
#include "cr/tcp_repair.h"

/* ---- dump ---- */

static int sock_is(const struct fd_dump *d, int type)
{
	int v;
	socklen_t len = sizeof(v);

	if (!S_ISSOCK(d->st.st_mode))
		return 0;
	if (getsockopt(d->dup, SOL_SOCKET, SO_DOMAIN, &v, &len) < 0 ||
	    (v != AF_INET && v != AF_INET6))
		return 0;
	len = sizeof(v);
	return getsockopt(d->dup, SOL_SOCKET, SO_TYPE, &v, &len) == 0 && v == type;
}

static int tcp_match(const struct fd_dump *d) { return sock_is(d, SOCK_STREAM); }
static int udp_match(const struct fd_dump *d) { return sock_is(d, SOCK_DGRAM); }

/* The network lock zeroed the send window it read: the image gets the
 * window from before the lock.  A connection the lock does not hold was
 * established after it; the dump is tried again. */
static int use_locked_window(const struct dump_files *df, const struct fd_dump *d,
			     struct cr_inet *sk)
{
	const struct tcp_repair_window *w = netlock_window(files_netlock(df), d->st.st_ino);

	if (!w) {
		err_set("TCP connection established during the dump");
		return err_mark_transient();
	}
	sk->tcp.p.snd_wl1 = w->snd_wl1;
	sk->tcp.p.snd_wnd = w->snd_wnd;
	sk->tcp.p.max_window = w->max_window;
	return 0;
}

/* A UDP socket's memberships and multicast options, as its data[0]. */
static int dump_mcast(int fd, const struct cr_inet *sk, struct cr_file *f)
{
	uint8_t *mc;
	uint32_t len;
	int rc;

	if (mcast_dump(fd, (int)sk->family, &mc, &len) < 0)
		return -1;
	rc = len ? files_add_data(f, mc, len) : 0;
	free(mc);
	return rc;
}

static int inet_dump_file(struct dump_files *df, const struct fd_dump *d, struct cr_file *f)
{
	struct cr_inet sk;
	int rc = 0;

	if (inet_dump(d->dup, &sk) < 0)
		return -1;
	if (sk.state == CR_INET_TCP_ESTABLISHED && use_locked_window(df, d, &sk) < 0) {
		inet_dump_undo(d->dup, &sk);
		inet_free(&sk);
		return -1;
	}
	f->inet.family = sk.family;
	f->inet.state = sk.state;
	f->inet.backlog = sk.backlog;
	f->inet.opts = sk.opts;
	f->inet.tcp = sk.tcp.p;
	f->inet.custody = inet_custody_kind(&sk) ? files_custody_tag(df) : 0;
	if (sk.bound_dev[0] && !(f->path = strdup(sk.bound_dev)))
		rc = err_set("out of memory");
	if (sk.local.port)
		cr_inet_addr_out(sk.family, &sk.local, &f->laddr);
	if (sk.peer.port)
		cr_inet_addr_out(sk.family, &sk.peer, &f->raddr);
	if (sk.state == CR_INET_TCP_ESTABLISHED &&
	    (files_add_data(f, sk.tcp.inq, sk.tcp.inq_len) < 0 ||
	     files_add_data(f, sk.tcp.outq, sk.tcp.outq_len) < 0))
		rc = -1;
	if (rc == 0 && sk.state == CR_INET_UDP)
		rc = dump_mcast(d->dup, &sk, f);
	inet_free(&sk);
	return rc;
}

/* ---- restore ---- */

/* The other end of connection f when it is in the image too, or NULL. */
static const struct cr_file *peer_in_image(const struct cr_image *img, const struct cr_file *f)
{
	for (uint32_t i = 0; i < img->nr_files; i++) {
		const struct cr_file *p = &img->files[i];

		if (p->kind == CR_FILE_TCP && p->inet.state == CR_INET_TCP_ESTABLISHED &&
		    p->inet.family == f->inet.family && p != f &&
		    p->laddr.len == f->raddr.len && p->raddr.len == f->laddr.len &&
		    !memcmp(p->laddr.addr, f->raddr.addr, f->raddr.len) &&
		    !memcmp(p->raddr.addr, f->laddr.addr, f->laddr.len))
			return p;
	}
	return NULL;
}

/* Is sk, a closed TCP socket, an accepted connection that its peer reset?
 * It still names the port of a listener of the image, and binding it
 * again would collide with that listener. */
static int reset_on_listener_port(const struct cr_image *img, const struct cr_inet *sk)
{
	static const uint8_t any[16];

	for (uint32_t i = 0; sk->local.port && i < img->nr_files; i++) {
		const struct cr_file *l = &img->files[i];
		struct cr_inet_addr a;

		if (l->kind != CR_FILE_TCP || l->inet.state != CR_INET_TCP_LISTEN ||
		    l->inet.family != sk->family || cr_inet_addr_in(sk->family, &l->laddr, &a) < 0)
			continue;
		if (a.port == sk->local.port &&
		    (!memcmp(a.addr, sk->local.addr, 16) || !memcmp(a.addr, any, 16)))
			return 1;
	}
	err_clear();
	return 0;
}

/*
 * A connection whose other end is in the image too: the bytes this end
 * sent that the other never got (the dump's network lock dropped them) go
 * back as unsent data, sent at once when repair mode goes off, instead of
 * waiting for a retransmission timeout of a second or more.
 */
static void resend_unseen(const struct cr_file *peer, struct cr_inet *sk)
{
	uint32_t una = sk->tcp.p.snd_seq - sk->tcp.outq_len;
	uint32_t nxt = sk->tcp.p.snd_seq - sk->tcp.p.unsent_len;
	uint32_t got = peer->inet.tcp.rcv_seq;

	if (got - una <= nxt - una)       /* una <= got <= nxt, modulo 2^32 */
		sk->tcp.p.unsent_len = sk->tcp.p.snd_seq - got;
}

/* The model of file id for a restore, adjusted against the rest of the
 * image: a closed socket on a listener's port (an accepted connection its
 * peer reset) comes back unbound, so the app gets ENOTCONN from it where
 * it got ECONNRESET or an end of stream; see resend_unseen. */
static int restore_model(const struct cr_image *img, uint32_t id, struct cr_inet *sk)
{
	const struct cr_file *f = &img->files[id], *peer;

	if (cr_inet_model(f, sk) < 0)
		return -1;
	if (sk->state == CR_INET_TCP_CLOSED && reset_on_listener_port(img, sk))
		memset(&sk->local, 0, sizeof(sk->local));
	if (sk->state == CR_INET_TCP_ESTABLISHED && (peer = peer_in_image(img, f)))
		resend_unseen(peer, sk);
	return 0;
}

static int open_one(struct rst_files *rf, uint32_t id)
{
	struct cr_inet sk;
	int fd;

	if (files_custody_fd(rf, id, &fd) < 0)
		return -1;
	if (fd >= 0)
		return fd;
	if (restore_model(files_rimage(rf), id, &sk) < 0 || inet_open(&sk, files_verifying(rf), &fd) < 0)
		return -1;
	return fd;
}

/* A connection binds its local port, often a listener's: the listeners
 * must bind first (a connection out of repair mode blocks the port). */
static int open_listeners_first(struct rst_files *rf)
{
	const struct cr_image *img = files_rimage(rf);

	for (uint32_t i = 0; i < img->nr_files; i++) {
		const struct cr_file *f = &img->files[i];
		int fd;

		if (f->kind != CR_FILE_TCP || f->inet.state != CR_INET_TCP_LISTEN ||
		    files_get_fd(rf, i) >= 0)
			continue;
		fd = open_one(rf, i);
		if (fd < 0)
			return err_wrap("file %u", i);
		files_set_fd(rf, i, fd);
	}
	return 0;
}

static int inet_open_file(struct rst_files *rf, uint32_t id)
{
	const struct cr_file *f = &files_rimage(rf)->files[id];

	if (f->kind == CR_FILE_TCP && f->inet.state == CR_INET_TCP_ESTABLISHED &&
	    open_listeners_first(rf) < 0)
		return -1;
	return open_one(rf, id);
}

/* Every socket exists now: rebuilt connections leave repair mode. */
static int tcp_settle(struct rst_files *rf, uint32_t id)
{
	const struct cr_file *f = &files_rimage(rf)->files[id];
	struct cr_inet sk;

	if (f->inet.state != CR_INET_TCP_ESTABLISHED)
		return 0;
	if (files_in_custody(rf, id))
		return 0;   /* from custody: the very socket, live all along */
	if (restore_model(files_rimage(rf), id, &sk) < 0)
		return -1;
	return inet_finish(files_get_fd(rf, id), &sk);
}

const struct file_ops file_tcp_ops = {
	.kind = CR_FILE_TCP,
	.name = "tcp socket",
	.match = tcp_match,
	.dump = inet_dump_file,
	.open = inet_open_file,
	.settle = tcp_settle,
};

const struct file_ops file_udp_ops = {
	.kind = CR_FILE_UDP,
	.name = "udp socket",
	.match = udp_match,
	.dump = inet_dump_file,
	.open = inet_open_file,
};
