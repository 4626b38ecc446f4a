/*
 * netlock.c - the network lock of a dump (see netlock.h).
 *
 * Before any socket of the tree is read, every established TCP connection
 * stops moving: a socket filter that drops every packet keeps data and
 * ACKs from coming in, and a send window of zero (TCP_REPAIR_WINDOW) keeps
 * new data from going out.  All connections are then read as of one
 * instant, which gives two guarantees:
 * - the two ends of a connection inside the tree agree: no byte is acked
 *   by one end and missing from the other's image;
 * - nothing a client sends after the lock is acked and then lost with the
 *   old tree: it is dropped, and the client sends it again to the
 *   restored socket.
 * The kernel still retransmits bytes already sent; the peer drops those
 * as duplicates.  The lock lives in the sockets themselves (it needs no
 * firewall and no network namespace) and only in the dumper's duplicates
 * of them: when the tree is killed after the dump, the sockets close in
 * repair mode, without FIN or RST.  A dump that fails or leaves the tree
 * running lifts the lock, and so does one that hands the sockets to
 * custody: they live on in the holder, which takes in what peers send
 * while the app is down, and the restored app gets those same sockets.
 */
#include <errno.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/err.h"
#include "cr/netlock.h"
#include "cr/proc.h"
#include "cr/tcp_repair.h"

struct locked_conn {
	uint64_t ino;                  /* the socket's inode */
	int fd;                        /* our duplicate */
	struct tcp_repair_window win;  /* as it was before the lock */
};

struct netlock {
	size_t n, cap;
	struct locked_conn *conns;
};

static int repair_window(int fd, struct tcp_repair_window *w, int set)
{
	socklen_t len = sizeof(*w);

	if (set ? setsockopt(fd, IPPROTO_TCP, TCP_REPAIR_WINDOW, w, len)
		: getsockopt(fd, IPPROTO_TCP, TCP_REPAIR_WINDOW, w, &len))
		return err_sys("%s TCP_REPAIR_WINDOW", set ? "setsockopt" : "getsockopt");
	return 0;
}

/* The app's own filter would be replaced by ours: refuse such a socket. */
static int check_no_filter(int fd)
{
	socklen_t blocks = 0;

	if (getsockopt(fd, SOL_SOCKET, SO_GET_FILTER, NULL, &blocks) < 0)
		return err_sys("getsockopt SO_GET_FILTER (an eBPF socket filter?)");
	if (blocks)
		return err_set("the socket has a filter of its own (not supported)");
	return 0;
}

static int detach_filter(int fd)
{
	int zero = 0;     /* the kernel wants an int it does not read */

	if (setsockopt(fd, SOL_SOCKET, SO_DETACH_FILTER, &zero, sizeof(zero)) < 0)
		return err_sys("setsockopt SO_DETACH_FILTER");
	return 0;
}

static int attach_drop_all(int fd)
{
	struct sock_filter drop = BPF_STMT(BPF_RET | BPF_K, 0);
	struct sock_fprog prog = { .len = 1, .filter = &drop };

	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) < 0)
		return err_sys("setsockopt SO_ATTACH_FILTER");
	return 0;
}

/* Repair mode and filter off, keeping the error that led here. */
static void undo_lock(int fd)
{
	struct err_saved e;

	err_save(&e);
	tcp_repair_set(fd, 0);
	detach_filter(fd);
	err_restore(&e);
}

/*
 * An ACK the kernel holds back (delayed, to ride on the app's answer) goes
 * out now: a peer whose data or FIN is left unacked sends it again at its
 * retransmission timeout, and if that comes while the app is down (killed,
 * not yet restored) no socket is there and the kernel answers with a reset.
 * Setting TCP_QUICKACK sends a pending ACK; clearing it again puts the
 * socket back in the delayed-ACK mode it was in.
 */
static int flush_delayed_ack(int fd)
{
	int quick = 1;
	socklen_t len = sizeof(quick);

	if (getsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &quick, &len) < 0)
		return err_sys("getsockopt TCP_QUICKACK");
	if (setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &(int){ 1 }, sizeof(int)) < 0)
		return err_sys("setsockopt TCP_QUICKACK (sending a delayed ACK)");
	if (!quick && setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &(int){ 0 }, sizeof(int)) < 0)
		return err_sys("setsockopt TCP_QUICKACK off again");
	return 0;
}

/* Pending ACK out, filter on, repair mode on, send window to zero; undone
 * on error. */
static int lock_conn(struct locked_conn *c)
{
	struct tcp_repair_window zero;

	if (flush_delayed_ack(c->fd) < 0 || check_no_filter(c->fd) < 0 ||
	    attach_drop_all(c->fd) < 0)
		return -1;
	if (tcp_repair_set(c->fd, 1) < 0 || repair_window(c->fd, &c->win, 0) < 0)
		goto undo;
	zero = c->win;
	zero.snd_wnd = 0;
	/* rcv_wup <= rcv_nxt always; a lower snd_wl1 is harmless. */
	zero.snd_wl1 = zero.rcv_wup;
	if (repair_window(c->fd, &zero, 1) < 0)
		goto undo;
	return 0;
undo:
	undo_lock(c->fd);
	return -1;
}

/* Send window back, repair mode off, filter off.  The peer's packets
 * dropped meanwhile come again at its retransmission timeout. */
static int unlock_socket(int fd, uint32_t snd_wnd)
{
	struct tcp_repair_window w;

	if (tcp_repair_set(fd, 1) < 0 || repair_window(fd, &w, 0) < 0)
		return -1;
	w.snd_wnd = snd_wnd;
	if (w.max_window < w.snd_wnd)
		w.max_window = w.snd_wnd;
	if (repair_window(fd, &w, 1) < 0 || tcp_repair_set(fd, 0) < 0)
		return -1;
	return detach_filter(fd);
}

/* As much of the lock as can go goes, silently. */
static void lift_conn(struct locked_conn *c)
{
	struct err_saved e;

	err_save(&e);
	if (unlock_socket(c->fd, c->win.snd_wnd) < 0)
		undo_lock(c->fd);
	err_restore(&e);
}

static int is_established_tcp(int fd)
{
	struct tcp_info ti;
	socklen_t len = sizeof(int);
	int v;

	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &v, &len) < 0 ||
	    (v != AF_INET && v != AF_INET6))
		return 0;
	len = sizeof(v);
	if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &v, &len) < 0 || v != IPPROTO_TCP)
		return 0;
	len = sizeof(ti);
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0)
		return 0;
	/* a closing connection is dumped as an established one (tcp_repair.h) */
	return tcp_repair_carried_state(ti.tcpi_state);
}

static int holds(const struct netlock *nl, uint64_t ino)
{
	return netlock_window(nl, ino) != NULL;
}

/* fd (our duplicate, taken over) is locked and kept, or closed. */
static int add_conn(struct netlock *nl, uint64_t ino, int fd)
{
	struct locked_conn *c;

	if (!is_established_tcp(fd)) {
		close(fd);
		return 0;
	}
	if (nl->n == nl->cap) {
		size_t cap = nl->cap ? nl->cap * 2 : 16;
		struct locked_conn *nc = realloc(nl->conns, cap * sizeof(*nc));

		if (!nc) {
			close(fd);
			return err_set("out of memory");
		}
		nl->conns = nc;
		nl->cap = cap;
	}
	c = &nl->conns[nl->n];
	c->ino = ino;
	c->fd = fd;
	if (lock_conn(c) < 0) {
		close(fd);
		return -1;
	}
	nl->n++;
	return 0;
}

/* The inode of a "socket:[N]" fd link; 0 for any other file. */
static uint64_t socket_inode(const char *link)
{
	unsigned long long ino;

	return sscanf(link, "socket:[%llu]", &ino) == 1 ? ino : 0;
}

static int lock_process(struct netlock *nl, pid_t pid)
{
	struct proc_fd *pf;
	uint32_t n;
	int pidfd, rc = 0;

	if (proc_read_fd_links(pid, &pf, &n) < 0) {
		if (errno != ENOENT)
			return -1;
		err_set("pid %d ended during the dump", pid);
		return err_mark_transient();
	}
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0) {
		proc_free_fds(pf, n);
		return err_sys("pidfd_open %d", pid);
	}
	for (uint32_t i = 0; rc == 0 && i < n; i++) {
		uint64_t ino = socket_inode(pf[i].link);
		int fd;

		if (!ino || holds(nl, ino))
			continue;
		fd = (int)syscall(SYS_pidfd_getfd, pidfd, pf[i].fd, 0);
		if (fd < 0)
			rc = err_sys("pidfd_getfd fd %d", pf[i].fd);
		else if (add_conn(nl, ino, fd) < 0)
			rc = err_wrap("fd %d", pf[i].fd);
	}
	close(pidfd);
	proc_free_fds(pf, n);
	return rc;
}

int netlock_take(const pid_t *host_pids, size_t n, struct netlock **out)
{
	struct netlock *nl = calloc(1, sizeof(*nl));

	*out = NULL;
	if (!nl)
		return err_set("out of memory");
	for (size_t i = 0; i < n; i++) {
		if (lock_process(nl, host_pids[i]) < 0) {
			netlock_release(nl, 1);
			return err_wrap("network lock: pid %d", host_pids[i]);
		}
	}
	*out = nl;
	return 0;
}

const struct tcp_repair_window *netlock_window(const struct netlock *nl, uint64_t ino)
{
	for (size_t i = 0; nl && i < nl->n; i++)
		if (nl->conns[i].ino == ino)
			return &nl->conns[i].win;
	return NULL;
}

void netlock_release(struct netlock *nl, int lift)
{
	if (!nl)
		return;
	for (size_t i = 0; i < nl->n; i++) {
		if (lift)
			lift_conn(&nl->conns[i]);
		close(nl->conns[i].fd);
	}
	free(nl->conns);
	free(nl);
}
