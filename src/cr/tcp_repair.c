/*
 * tcp_repair.c - save and rebuild an established TCP connection with
 * TCP_REPAIR (see tcp_repair.h); a closing one (CLOSE_WAIT, FIN_WAIT1/2,
 * LAST_ACK, CLOSING) as an established one whose FINs are left out of the
 * sequence numbers and queue sizes, shut down again after the restore.
 *
 * Without a network lock the peer may still send data or ACKs while we
 * read, so the dump reads the sequence numbers and queue lengths again after
 * peeking the queues and starts over if anything moved.
 */
#include <errno.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "common/err.h"
#include "cr/sock_diag.h"
#include "cr/tcp_repair.h"

#define DUMP_TRIES 8
#define SEND_CHUNK (32u << 10)
#define ROOM_SLACK (256u << 10)
#define MAXSEG_MAX 32767u          /* the range TCP_MAXSEG takes */
#define MAXSEG_MIN 88u

/* The numbers that must not move while the queues are read. */
struct tcp_snap {
	uint32_t snd_seq, rcv_seq, outq, unsent, inq;
};

static int tcp_setopt(int fd, int opt, const void *v, socklen_t len, const char *what)
{
	if (setsockopt(fd, IPPROTO_TCP, opt, v, len) < 0)
		return err_sys("setsockopt %s", what);
	return 0;
}

static int tcp_setint(int fd, int opt, int v, const char *what)
{
	return tcp_setopt(fd, opt, &v, sizeof(v), what);
}

static int tcp_getopt(int fd, int opt, void *v, socklen_t len, const char *what)
{
	socklen_t got = len;

	if (getsockopt(fd, IPPROTO_TCP, opt, v, &got) < 0)
		return err_sys("getsockopt %s", what);
	if (got != len)
		return err_set("getsockopt %s: %u bytes, expected %u", what, got, len);
	return 0;
}

int tcp_repair_set(int fd, int on)
{
	return tcp_setint(fd, TCP_REPAIR, on ? 1 : TCP_REPAIR_OFF, on ? "TCP_REPAIR on"
			  : "TCP_REPAIR off");
}

static int select_queue(int fd, int q)
{
	return tcp_setint(fd, TCP_REPAIR_QUEUE, q, q == TCP_SEND_QUEUE
			  ? "TCP_REPAIR_QUEUE send" : q == TCP_RECV_QUEUE
			  ? "TCP_REPAIR_QUEUE recv" : "TCP_REPAIR_QUEUE none");
}

static int queue_seq(int fd, int q, uint32_t *seq)
{
	if (select_queue(fd, q) < 0)
		return -1;
	return tcp_getopt(fd, TCP_QUEUE_SEQ, seq, sizeof(*seq), "TCP_QUEUE_SEQ");
}

static int sk_ioctl(int fd, unsigned long req, const char *what, uint32_t *out)
{
	int v;

	if (ioctl(fd, req, &v) < 0)
		return err_sys("ioctl %s", what);
	if (v < 0 || (uint32_t)v > CR_INET_QUEUE_MAX)
		return err_set("%s: %d bytes queued (limit %u)", what, v, CR_INET_QUEUE_MAX);
	*out = (uint32_t)v;
	return 0;
}

static int snapshot(int fd, struct tcp_snap *s)
{
	if (queue_seq(fd, TCP_SEND_QUEUE, &s->snd_seq) < 0 ||
	    queue_seq(fd, TCP_RECV_QUEUE, &s->rcv_seq) < 0 ||
	    sk_ioctl(fd, SIOCOUTQ, "SIOCOUTQ", &s->outq) < 0 ||
	    sk_ioctl(fd, SIOCOUTQNSD, "SIOCOUTQNSD", &s->unsent) < 0 ||
	    sk_ioctl(fd, SIOCINQ, "SIOCINQ", &s->inq) < 0)
		return -1;
	if (s->unsent > s->outq)
		return err_set("send queue: %u unsent bytes of %u", s->unsent, s->outq);
	return 0;
}

/* Peek len bytes of queue q into a new buffer *out (NULL when len is 0). */
static int peek_queue(int fd, int q, uint32_t len, uint8_t **out)
{
	uint8_t *buf;
	ssize_t n;

	*out = NULL;
	if (!len)
		return 0;
	buf = malloc(len);
	if (!buf)
		return err_set("out of memory for a %u-byte queue", len);
	if (select_queue(fd, q) < 0) {
		free(buf);
		return -1;
	}
	n = recv(fd, buf, len, MSG_PEEK | MSG_DONTWAIT);
	if (n != (ssize_t)len) {
		free(buf);
		if (n < 0)
			return err_sys("peek %s queue (%u bytes)", q == TCP_SEND_QUEUE ? "send" : "receive", len);
		return err_set("peek %s queue: %zd of %u bytes", q == TCP_SEND_QUEUE ? "send" :
			       "receive", n, len);
	}
	*out = buf;
	return 0;
}

int tcp_repair_carried_state(int state)
{
	return state == TCP_ESTABLISHED || state == TCP_CLOSE_WAIT || state == TCP_FIN_WAIT1 ||
	       state == TCP_FIN_WAIT2 || state == TCP_LAST_ACK || state == TCP_CLOSING;
}

/* Which FINs a closing state has seen go out and come in. */
static uint32_t fin_flags(int state)
{
	switch (state) {
	case TCP_FIN_WAIT1:
	case TCP_FIN_WAIT2:
		return CR_TCP_FIN_SENT;
	case TCP_CLOSE_WAIT:
		return CR_TCP_FIN_RCVD;
	case TCP_LAST_ACK:
	case TCP_CLOSING:
		return CR_TCP_FIN_SENT | CR_TCP_FIN_RCVD;
	default:
		return 0;
	}
}

/* Where a closing connection's FINs are counted. */
struct fin_seqs {
	int unacked;                   /* ours: in the send queue's sizes */
	int in_rcv_seq;                /* the peer's: in rcv_nxt */
};

/* The receive side is shut (the peer's FIN came, or shutdown(SHUT_RD)). */
static int read_shut(int fd)
{
	struct pollfd p = { fd, POLLRDHUP, 0 };

	return poll(&p, 1, 0) == 1 && (p.revents & POLLRDHUP);
}

/* Options negotiated at the handshake, the mss clamp, windows, clock, and
 * the FINs of a closing connection. */
static int read_params(int fd, struct cr_tcp_conn *c, struct fin_seqs *fin)
{
	struct tcp_info ti;
	struct tcp_repair_window w;
	socklen_t len = sizeof(ti);
	int mss;

	memset(&ti, 0, sizeof(ti));
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0)
		return err_sys("getsockopt TCP_INFO");
	if (!tcp_repair_carried_state(ti.tcpi_state))
		return err_set("TCP state %u is not ESTABLISHED or closing (unsupported)",
			       ti.tcpi_state);
	c->p.fin = fin_flags(ti.tcpi_state);
	fin->unacked = (c->p.fin & CR_TCP_FIN_SENT) && ti.tcpi_state != TCP_FIN_WAIT2;
	fin->in_rcv_seq = !!(c->p.fin & CR_TCP_FIN_RCVD);
	if (read_shut(fd))
		c->p.fin |= CR_TCP_FIN_RCVD;   /* shut by a restore, or the app */
	c->p.opts = 0;
	if (ti.tcpi_options & TCPI_OPT_SACK)
		c->p.opts |= CR_TCP_OPT_SACK;
	if (ti.tcpi_options & TCPI_OPT_TIMESTAMPS)
		c->p.opts |= CR_TCP_OPT_TS;
	if (ti.tcpi_options & TCPI_OPT_WSCALE) {
		c->p.opts |= CR_TCP_OPT_WSCALE;
		c->p.snd_wscale = ti.tcpi_snd_wscale;
		c->p.rcv_wscale = ti.tcpi_rcv_wscale;
	}
	/* In repair mode TCP_MAXSEG reads the mss clamp. */
	if (tcp_getopt(fd, TCP_MAXSEG, &mss, sizeof(mss), "TCP_MAXSEG") < 0)
		return -1;
	c->p.mss = (uint32_t)mss;
	if (tcp_getopt(fd, TCP_TIMESTAMP, &c->p.timestamp, sizeof(c->p.timestamp),
		       "TCP_TIMESTAMP") < 0 ||
	    tcp_getopt(fd, TCP_REPAIR_WINDOW, &w, sizeof(w), "TCP_REPAIR_WINDOW") < 0)
		return -1;
	c->p.snd_wl1 = w.snd_wl1;
	c->p.snd_wnd = w.snd_wnd;
	c->p.max_window = w.max_window;
	c->p.rcv_wnd = w.rcv_wnd;
	c->p.rcv_wup = w.rcv_wup;
	return 0;
}

static int same_snap(const struct tcp_snap *a, const struct tcp_snap *b)
{
	return a->snd_seq == b->snd_seq && a->rcv_seq == b->rcv_seq && a->outq == b->outq &&
	       a->unsent == b->unsent && a->inq == b->inq;
}

/* One attempt; *stable = 0 if the connection moved while being read. */
/* A FIN takes a sequence number but no byte of a queue: leave it out. */
static void leave_out_fins(struct tcp_snap *s, uint32_t fin, const struct fin_seqs *f)
{
	if (fin & CR_TCP_FIN_SENT)
		s->snd_seq--;
	if (f->in_rcv_seq)
		s->rcv_seq--;
	if (f->unacked && s->outq) {
		s->outq--;
		if (s->unsent)
			s->unsent--;   /* the FIN is last: unsent if anything is */
	}
}

static int dump_once(int fd, struct cr_tcp_conn *c, int *stable)
{
	struct tcp_snap before, after;
	struct fin_seqs fin = { 0, 0 };

	if (snapshot(fd, &before) < 0 || read_params(fd, c, &fin) < 0)
		return -1;
	leave_out_fins(&before, c->p.fin, &fin);
	if (peek_queue(fd, TCP_SEND_QUEUE, before.outq, &c->outq) < 0 ||
	    peek_queue(fd, TCP_RECV_QUEUE, before.inq, &c->inq) < 0 ||
	    snapshot(fd, &after) < 0)
		return -1;
	leave_out_fins(&after, c->p.fin, &fin);
	*stable = same_snap(&before, &after);
	c->p.snd_seq = before.snd_seq;
	c->p.rcv_seq = before.rcv_seq;
	/* the window was last advertised at most up to the FIN left out */
	if ((int32_t)(c->p.rcv_wup - c->p.rcv_seq) > 0)
		c->p.rcv_wup = c->p.rcv_seq;
	c->outq_len = before.outq;
	c->p.unsent_len = before.unsent;
	c->inq_len = before.inq;
	return select_queue(fd, TCP_NO_QUEUE);
}

int tcp_repair_dump(int fd, struct cr_tcp_conn *c)
{
	int stable = 0;

	memset(c, 0, sizeof(*c));
	if (tcp_repair_set(fd, 1) < 0)
		return -1;
	for (int i = 0; i < DUMP_TRIES; i++) {
		free(c->outq);
		free(c->inq);
		c->outq = c->inq = NULL;
		if (dump_once(fd, c, &stable) < 0)
			return -1;
		if (stable)
			return 0;
	}
	return err_set("the connection kept changing while it was read (%d tries)", DUMP_TRIES);
}

/* ---- restore ---- */

static int set_queue_seq(int fd, int q, uint32_t seq)
{
	if (select_queue(fd, q) < 0)
		return -1;
	return tcp_setopt(fd, TCP_QUEUE_SEQ, &seq, sizeof(seq), "TCP_QUEUE_SEQ");
}

static int send_all(int fd, const uint8_t *p, uint32_t len, const char *what)
{
	while (len) {
		size_t chunk = len < SEND_CHUNK ? len : SEND_CHUNK;
		ssize_t n = send(fd, p, chunk, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? err_sys("refill %s (%u bytes left)", what, len)
				     : err_set("refill %s: no progress", what);
		p += n;
		len -= (uint32_t)n;
	}
	return 0;
}

static int set_options(int fd, const struct cr_tcp_conn *c)
{
	struct tcp_repair_opt o[4];
	int n = 0;

	o[n].opt_code = TCPOPT_MAXSEG;
	o[n++].opt_val = c->p.mss;
	if (c->p.opts & CR_TCP_OPT_WSCALE) {
		o[n].opt_code = TCPOPT_WINDOW;
		o[n++].opt_val = c->p.snd_wscale | (c->p.rcv_wscale << 16);
	}
	if (c->p.opts & CR_TCP_OPT_SACK) {
		o[n].opt_code = TCPOPT_SACK_PERMITTED;
		o[n++].opt_val = 0;
	}
	if (c->p.opts & CR_TCP_OPT_TS) {
		o[n].opt_code = TCPOPT_TIMESTAMP;
		o[n++].opt_val = 0;
	}
	if (tcp_setopt(fd, TCP_REPAIR_OPTIONS, o, (socklen_t)(n * sizeof(o[0])),
		       "TCP_REPAIR_OPTIONS") < 0)
		return -1;
	if (c->p.opts & CR_TCP_OPT_TS)
		return tcp_setopt(fd, TCP_TIMESTAMP, &c->p.timestamp, sizeof(c->p.timestamp),
				  "TCP_TIMESTAMP");
	return 0;
}

/* The kernel takes a window only with snd_wl1 <= rcv_nxt + rcv_wnd, which
 * a live socket does not always keep (a segment dropped for want of buffer
 * still updates the window).  Then rcv_wup stands in: a lower snd_wl1 only
 * lets the peer's next window update in more easily. */
static uint32_t fit_wl1(uint32_t snd_wl1, uint32_t rcv_nxt, uint32_t rcv_wnd, uint32_t rcv_wup)
{
	return (int32_t)(snd_wl1 - (rcv_nxt + rcv_wnd)) > 0 ? rcv_wup : snd_wl1;
}

static int set_window(int fd, const struct cr_tcp_conn *c)
{
	struct tcp_repair_window w = {
		.snd_wl1 = fit_wl1(c->p.snd_wl1, c->p.rcv_seq, c->p.rcv_wnd, c->p.rcv_wup),
		.snd_wnd = c->p.snd_wnd, .max_window = c->p.max_window,
		.rcv_wnd = c->p.rcv_wnd, .rcv_wup = c->p.rcv_wup,
	};

	return tcp_setopt(fd, TCP_REPAIR_WINDOW, &w, sizeof(w), "TCP_REPAIR_WINDOW");
}

/* Buffers large enough for the queues to go back in whole: the kernel
 * doubles what is set, which covers its skb overhead.  The caller sets the
 * app's sizes afterwards (a receive buffer is kept if larger, inet.c). */
static int make_room(int fd, const struct cr_tcp_conn *c)
{
	int snd = (int)(c->outq_len + ROOM_SLACK / 2), rcv = (int)(c->inq_len + ROOM_SLACK / 2);

	if (c->outq_len && setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &snd, sizeof(snd)) < 0)
		return err_sys("setsockopt SO_SNDBUFFORCE %d", snd);
	if (c->inq_len && setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof(rcv)) < 0)
		return err_sys("setsockopt SO_RCVBUFFORCE %d", rcv);
	return 0;
}

/* Receive queue, then the part of the send queue the peer may have seen. */
static int refill_queues(int fd, const struct cr_tcp_conn *c)
{
	uint32_t sent = c->outq_len - c->p.unsent_len;

	if (make_room(fd, c) < 0)
		return -1;

	if (c->inq_len && (select_queue(fd, TCP_RECV_QUEUE) < 0 ||
			   send_all(fd, c->inq, c->inq_len, "receive queue") < 0))
		return -1;
	if (sent && (select_queue(fd, TCP_SEND_QUEUE) < 0 ||
		     send_all(fd, c->outq, sent, "send queue") < 0))
		return -1;
	return select_queue(fd, TCP_NO_QUEUE);
}

/*
 * The segment size is fixed at connect(), from the mss clamp and (once the
 * handshake shows it) half the largest window the peer offers; nothing
 * later in repair mode computes it again, and connect() forgets any window
 * set before it.  So TCP_MAXSEG gets both: the clamp (else the default,
 * 536, would stay for the connection's life) bounded by half the peer's
 * largest window as the kernel bounds it (else a peer with a small window
 * gets offered segments bigger than it, which the sender holds back as
 * silly-window avoidance, sending a little per persist timer).
 */
static int size_segments(int fd, const struct cr_tcp_conn *c)
{
	uint32_t mss = c->p.mss < MAXSEG_MAX ? c->p.mss : MAXSEG_MAX;
	uint32_t half = c->p.max_window > 536 ? c->p.max_window / 2 : c->p.max_window;

	if (half && half < mss)
		mss = half;
	if (mss < MAXSEG_MIN)
		mss = MAXSEG_MIN;
	return tcp_setint(fd, TCP_MAXSEG, (int)mss, "TCP_MAXSEG");
}

static int connect_repaired(int fd, const struct cr_tcp_conn *c, const struct sockaddr *local,
			    const struct sockaddr *peer, socklen_t alen)
{
	if (set_queue_seq(fd, TCP_RECV_QUEUE, c->p.rcv_seq - c->inq_len) < 0 ||
	    set_queue_seq(fd, TCP_SEND_QUEUE, c->p.snd_seq - c->outq_len) < 0 ||
	    select_queue(fd, TCP_NO_QUEUE) < 0)
		return -1;
	if (size_segments(fd, c) < 0)
		return -1;
	if (bind(fd, local, alen) < 0)
		return err_sys("bind to the old local address");
	/* In repair mode connect() sends nothing and goes straight to
	 * ESTABLISHED. */
	if (connect(fd, peer, alen) == 0)
		return 0;
	if (errno != EADDRNOTAVAIL)
		return err_sys("connect (repair) to the old peer");
	/* Another socket has these addresses: a leftover gives way. */
	if (sock_diag_tcp_evict(local, peer) < 0)
		return err_wrap("connect (repair) to the old peer");
	if (connect(fd, peer, alen) < 0)
		return err_sys("connect (repair) to the old peer, after its leftover went");
	return 0;
}

int tcp_repair_restore(int fd, const struct cr_tcp_conn *c, const struct sockaddr *local,
		       const struct sockaddr *peer, socklen_t alen)
{
	if (tcp_repair_set(fd, 1) < 0 || connect_repaired(fd, c, local, peer, alen) < 0 ||
	    set_options(fd, c) < 0 || refill_queues(fd, c) < 0 || set_window(fd, c) < 0)
		return -1;
	return 0;
}

/* A closing connection shuts down again: our FIN goes out (again: the
 * peer acks a FIN it had), and the peer's FIN becomes an end of stream
 * after the queued bytes.  The state reads ESTABLISHED with the receive
 * side shut rather than CLOSE_WAIT (no FIN is made up), unless the peer
 * is restored too and sends its FIN again.  A connection reset meanwhile
 * (the peer is gone: ENOTCONN) has nothing left to shut. */
static int shut_again(int fd, uint32_t fin)
{
	if ((fin & CR_TCP_FIN_RCVD) && shutdown(fd, SHUT_RD) < 0 && errno != ENOTCONN)
		return err_sys("shutdown(SHUT_RD) (the peer had closed)");
	if ((fin & CR_TCP_FIN_SENT) && shutdown(fd, SHUT_WR) < 0 && errno != ENOTCONN)
		return err_sys("shutdown(SHUT_WR) (the app had)");
	return 0;
}

int tcp_repair_finish(int fd, const struct cr_tcp_conn *c)
{
	uint32_t sent = c->outq_len - c->p.unsent_len;

	if (tcp_repair_set(fd, 0) < 0)
		return -1;
	/* Never sent before: send it now like any other data. */
	if (c->p.unsent_len && send_all(fd, c->outq + sent, c->p.unsent_len, "unsent data") < 0)
		return -1;
	return shut_again(fd, c->p.fin);
}
