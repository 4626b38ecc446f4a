/*
 * unixsk.c - unix sockets of every shape, checked after every cycle:
 *   - a stream socketpair split between the root and a child (nginx's
 *     master/worker channel) with 100 KB in flight each way at each dump;
 *   - a datagram and a seqpacket socketpair with several messages of
 *     different sizes queued each way (boundaries must survive);
 *   - a stream listener bound to a path (backlog 7) that must accept a new
 *     connection, and an abstract-name seqpacket listener with an accepted
 *     connection carrying queued data both ways;
 *   - a datagram server bound to a path and a client connected to it, with
 *     messages queued in the server;
 *   - a stream pair half shut down (SHUT_WR) with data before the EOF, a
 *     socket whose peer has closed (data, then hang-up), an unbound
 *     datagram socket;
 *   - SO_PASSCRED, SO_RCVBUF, SO_SNDTIMEO, and SO_PEEK_OFF left untouched
 *     by the dumper's peeking.
 * Queued data is compared byte for byte; every connection must carry new
 * data both ways after each restore.
 */
#include <poll.h>
#include <stddef.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "check.h"

enum { FD_ST_R = 20, FD_ST_C, FD_DG_A, FD_DG_B, FD_SQ_A, FD_SQ_B, FD_LST, FD_ALST,
       FD_ACLI, FD_ASRV, FD_DSRV, FD_DCLI, FD_SHX, FD_SHY, FD_GONE, FD_UNB };
#define ST_LEN (100 * 1024)
#define RCVBUF_SET 100000
#define NR_DG 3

static char lst_path[200], dsrv_path[200], abs_name[64];
static int rcvbuf_want;

static void put_fd(int fd, int want)
{
	if (fd < 0)
		ck_die("socket for fd %d", want);
	if (fd != want) {
		if (dup2(fd, want) < 0)
			ck_die("dup2 %d", want);
		close(fd);
	}
}

static void pair(int type, int a, int b)
{
	int sv[2];

	if (socketpair(AF_UNIX, type, 0, sv) < 0)
		ck_die("socketpair %d", type);
	put_fd(sv[0], a);
	put_fd(sv[1], b);
}

static socklen_t path_addr(struct sockaddr_un *sa, const char *path)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	snprintf(sa->sun_path, sizeof(sa->sun_path), "%s", path);
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1);
}

static socklen_t abs_addr(struct sockaddr_un *sa)
{
	size_t n = strlen(abs_name);

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	memcpy(sa->sun_path + 1, abs_name, n);
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
}

/* Deterministic content of message i of stream/kind k for cycle n. */
static void pattern(char *buf, size_t len, int k, int n, int i)
{
	for (size_t j = 0; j < len; j++)
		buf[j] = (char)('A' + (j * 31 + (size_t)k * 7 + (size_t)n * 13 + (size_t)i * 5) % 57);
}

static size_t dg_len(int k, int i)
{
	static const size_t lens[NR_DG] = { 1, 5000, 333 };

	return lens[i] + (size_t)k;
}

static void write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t w = write(fd, buf, len);

		if (w <= 0)
			ck_die("write fd %d", fd);
		buf += w;
		len -= (size_t)w;
	}
}

/* Read exactly len bytes within 2 s (fd may be non-blocking). */
static int read_exact(int fd, char *buf, size_t len)
{
	double end = ck_now() + 2;
	size_t got = 0;

	while (got < len && ck_now() < end) {
		ssize_t r = recv(fd, buf + got, len - got, MSG_DONTWAIT);

		if (r > 0)
			got += (size_t)r;
		else if (r == 0)
			break;
		else
			ck_sleep_us(1000);
	}
	return got == len ? 0 : -1;
}

static void stream_send(int fd, int k, int n)
{
	static char buf[ST_LEN];

	pattern(buf, ST_LEN, k, n, 0);
	write_all(fd, buf, ST_LEN);
}

static void stream_check(int fd, int k, int n, const char *what)
{
	static char buf[ST_LEN], want[ST_LEN];

	pattern(want, ST_LEN, k, n, 0);
	if (read_exact(fd, buf, ST_LEN) < 0) {
		ck_fail("%s: could not read %d queued bytes", what, ST_LEN);
		return;
	}
	CK(!memcmp(buf, want, ST_LEN), "%s: queued bytes differ", what);
}

static void msgs_send(int fd, int k, int n)
{
	char buf[6000];

	for (int i = 0; i < NR_DG; i++) {
		pattern(buf, dg_len(k, i), k, n, i);
		if (send(fd, buf, dg_len(k, i), 0) != (ssize_t)dg_len(k, i))
			ck_die("send message %d on fd %d", i, fd);
	}
}

static void msgs_check(int fd, int k, int n, const char *what)
{
	char buf[8000], want[6000];

	for (int i = 0; i < NR_DG; i++) {
		ssize_t r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

		pattern(want, dg_len(k, i), k, n, i);
		if (r != (ssize_t)dg_len(k, i) || memcmp(buf, want, (size_t)r)) {
			ck_fail("%s: message %d: %zd bytes (want %zu) or content differs", what, i,
				r, dg_len(k, i));
			return;
		}
	}
	CK(recv(fd, buf, sizeof(buf), MSG_DONTWAIT) < 0 && errno == EAGAIN,
	   "%s: more messages than queued", what);
}

/* ---- setup ---- */

static void setup_listeners(void)
{
	struct sockaddr_un sa;
	socklen_t len;
	int c, s;

	snprintf(lst_path, sizeof(lst_path), "%s/l.sock", ck_dir);
	put_fd(socket(AF_UNIX, SOCK_STREAM, 0), FD_LST);
	len = path_addr(&sa, lst_path);
	if (bind(FD_LST, (struct sockaddr *)&sa, len) < 0 || listen(FD_LST, 7) < 0)
		ck_die("listen on %s", lst_path);
	snprintf(abs_name, sizeof(abs_name), "picocenter-unixsk-%d-%ld", getpid(),
		 (long)time(NULL));
	put_fd(socket(AF_UNIX, SOCK_SEQPACKET, 0), FD_ALST);
	len = abs_addr(&sa);
	if (bind(FD_ALST, (struct sockaddr *)&sa, len) < 0 || listen(FD_ALST, 3) < 0)
		ck_die("listen on @%s", abs_name);
	c = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	if (c < 0 || connect(c, (struct sockaddr *)&sa, len) < 0)
		ck_die("connect to @%s", abs_name);
	s = accept(FD_ALST, NULL, NULL);
	put_fd(c, FD_ACLI);
	put_fd(s, FD_ASRV);
}

static void setup_dgram_server(void)
{
	struct sockaddr_un sa;
	socklen_t len;

	snprintf(dsrv_path, sizeof(dsrv_path), "%s/d.sock", ck_dir);
	put_fd(socket(AF_UNIX, SOCK_DGRAM, 0), FD_DSRV);
	len = path_addr(&sa, dsrv_path);
	if (bind(FD_DSRV, (struct sockaddr *)&sa, len) < 0)
		ck_die("bind %s", dsrv_path);
	put_fd(socket(AF_UNIX, SOCK_DGRAM, 0), FD_DCLI);
	if (connect(FD_DCLI, (struct sockaddr *)&sa, len) < 0)
		ck_die("connect to %s", dsrv_path);
}

static void setup_misc(void)
{
	int one = 1, gone;
	struct timeval tv = { 1, 500000 };
	socklen_t l = sizeof(rcvbuf_want);
	int sv[2];

	pair(SOCK_STREAM, FD_SHX, FD_SHY);
	write_all(FD_SHX, "bye", 3);
	if (shutdown(FD_SHX, SHUT_WR) < 0)
		ck_die("shutdown");
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		ck_die("socketpair");
	gone = sv[1];
	write_all(gone, "last words", 10);
	close(gone);
	put_fd(sv[0], FD_GONE);
	put_fd(socket(AF_UNIX, SOCK_DGRAM, 0), FD_UNB);
	one = RCVBUF_SET;
	if (setsockopt(FD_DG_B, SOL_SOCKET, SO_RCVBUF, &one, sizeof(one)) < 0 ||
	    getsockopt(FD_DG_B, SOL_SOCKET, SO_RCVBUF, &rcvbuf_want, &l) < 0)
		ck_die("SO_RCVBUF");
	one = 1;
	if (setsockopt(FD_SQ_A, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) < 0 ||
	    setsockopt(FD_ST_R, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
		ck_die("options");
}

/* Data every check consumes, sent for check n. */
static void arm(int n)
{
	msgs_send(FD_DG_A, 1, n);
	msgs_send(FD_DG_B, 2, n);
	msgs_send(FD_SQ_A, 3, n);
	msgs_send(FD_SQ_B, 4, n);
	msgs_send(FD_ACLI, 5, n);
	msgs_send(FD_ASRV, 6, n);
	msgs_send(FD_DCLI, 7, n);
	stream_send(FD_SHY, 8, n);
	stream_send(FD_ST_R, 9, n);
}

/* ---- checks ---- */

static void check_accepts(int lst, struct sockaddr_un *sa, socklen_t len, int type,
			  const char *what)
{
	int c, s = -1;
	char buf[8];
	struct pollfd p = { lst, POLLIN, 0 };

	/* Drop connections made while the app was down (t-unix-custody). */
	while (poll(&p, 1, 0) == 1 && (s = accept(lst, NULL, NULL)) >= 0)
		close(s);
	s = -1;
	c = socket(AF_UNIX, type, 0);

	if (c < 0 || connect(c, (struct sockaddr *)sa, len) < 0) {
		ck_fail("%s: connect: %s", what, strerror(errno));
		goto out;
	}
	if (poll(&p, 1, 2000) != 1 || (s = accept(lst, NULL, NULL)) < 0) {
		ck_fail("%s: accept: %s", what, strerror(errno));
		goto out;
	}
	CK(send(c, "ping", 4, 0) == 4 && read_exact(s, buf, 4) == 0 && !memcmp(buf, "ping", 4),
	   "%s: client to server", what);
	CK(send(s, "pong", 4, 0) == 4 && read_exact(c, buf, 4) == 0 && !memcmp(buf, "pong", 4),
	   "%s: server to client", what);
out:
	if (c >= 0)
		close(c);
	if (s >= 0)
		close(s);
}

static void check_names(void)
{
	struct sockaddr_un sa, want;
	socklen_t len = sizeof(sa), wlen = path_addr(&want, lst_path);

	CK(getsockname(FD_LST, (struct sockaddr *)&sa, &len) == 0 && len == wlen &&
	   !memcmp(&sa, &want, len), "listener name lost");
	check_accepts(FD_LST, &want, wlen, SOCK_STREAM, "path listener");
	wlen = abs_addr(&want);
	len = sizeof(sa);
	CK(getsockname(FD_ALST, (struct sockaddr *)&sa, &len) == 0 && len == wlen &&
	   !memcmp(&sa, &want, len), "abstract listener name lost");
	check_accepts(FD_ALST, &want, wlen, SOCK_SEQPACKET, "abstract listener");
	wlen = path_addr(&want, dsrv_path);
	len = sizeof(sa);
	CK(getpeername(FD_DCLI, (struct sockaddr *)&sa, &len) == 0 && len == wlen &&
	   !memcmp(&sa, &want, len), "datagram client's peer name lost");
	len = sizeof(sa);
	CK(getsockname(FD_UNB, (struct sockaddr *)&sa, &len) == 0 && len == sizeof(sa_family_t),
	   "unbound socket got a name");
}

/* Half shut down and peer-gone sockets, checked without consuming. */
static void check_ends(void)
{
	struct pollfd p[2] = { { FD_SHY, POLLIN | POLLRDHUP, 0 }, { FD_GONE, POLLIN | POLLRDHUP, 0 } };
	char buf[16];
	int q = -1;

	CK(poll(p, 2, 0) == 2, "poll of the shut down sockets");
	CK(p[0].revents & POLLRDHUP, "SHUT_WR lost: peer has no RDHUP (0x%x)", p[0].revents);
	CK((p[1].revents & (POLLHUP | POLLRDHUP)) == (POLLHUP | POLLRDHUP),
	   "closed peer lost: revents 0x%x", p[1].revents);
	CK(recv(FD_SHY, buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT) == 3 && !memcmp(buf, "bye", 3),
	   "data before the EOF lost");
	CK(ioctl(FD_GONE, FIONREAD, &q) == 0 && q == 10 &&
	   recv(FD_GONE, buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT) == 10 &&
	   !memcmp(buf, "last words", 10), "data of the closed peer lost (%d bytes)", q);
	CK(send(FD_SHX, "x", 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0 && errno == EPIPE,
	   "write after SHUT_WR did not fail with EPIPE");
}

static int opt(int fd, int name)
{
	int v = -2;
	socklen_t l = sizeof(v);

	getsockopt(fd, SOL_SOCKET, name, &v, &l);
	return v;
}

static void check_opts(void)
{
	struct timeval tv = { 0, 0 };
	socklen_t l = sizeof(tv);

	CK(opt(FD_DG_B, SO_RCVBUF) == rcvbuf_want, "SO_RCVBUF %d, want %d",
	   opt(FD_DG_B, SO_RCVBUF), rcvbuf_want);
	CK(opt(FD_SQ_A, SO_PASSCRED) == 1 && opt(FD_SQ_B, SO_PASSCRED) == 0, "SO_PASSCRED");
	CK(getsockopt(FD_ST_R, SOL_SOCKET, SO_SNDTIMEO, &tv, &l) == 0 && tv.tv_sec == 1 &&
	   tv.tv_usec == 500000, "SO_SNDTIMEO %ld.%06ld", (long)tv.tv_sec, (long)tv.tv_usec);
	CK(opt(FD_ST_R, SO_PEEK_OFF) == -1 && opt(FD_DG_B, SO_PEEK_OFF) == -1,
	   "SO_PEEK_OFF changed to %d/%d", opt(FD_ST_R, SO_PEEK_OFF), opt(FD_DG_B, SO_PEEK_OFF));
	CK(opt(FD_SQ_A, SO_TYPE) == SOCK_SEQPACKET && opt(FD_DG_A, SO_TYPE) == SOCK_DGRAM &&
	   opt(FD_UNB, SO_TYPE) == SOCK_DGRAM, "socket types");
}

static void check_root(int n)
{
	char buf[32];

	stream_check(FD_ST_R, 10, n, "stream pair (child to root)");
	msgs_check(FD_DG_B, 1, n, "dgram pair A->B");
	msgs_check(FD_DG_A, 2, n, "dgram pair B->A");
	msgs_check(FD_SQ_B, 3, n, "seqpacket pair A->B");
	msgs_check(FD_SQ_A, 4, n, "seqpacket pair B->A");
	msgs_check(FD_ASRV, 5, n, "accepted seqpacket client->server");
	msgs_check(FD_ACLI, 6, n, "accepted seqpacket server->client");
	msgs_check(FD_DSRV, 7, n, "dgram server");
	stream_check(FD_SHX, 8, n, "half-shut pair (reverse direction)");
	check_names();
	check_ends();
	check_opts();
	(void)buf;
}

static void child(void)
{
	close(FD_ST_R);
	stream_send(FD_ST_C, 10, 0);
	for (int n = 0;; n++) {
		ck_wait_go(n);
		stream_check(FD_ST_C, 9, n, "stream pair (root to child)");
		stream_send(FD_ST_C, 10, n + 1);
		ck_child_report("child", n);
	}
}

int main(int argc, char **argv)
{
	pid_t pid;

	ck_init(argc, argv);
	signal(SIGPIPE, SIG_IGN);
	pair(SOCK_STREAM, FD_ST_R, FD_ST_C);
	pair(SOCK_DGRAM, FD_DG_A, FD_DG_B);
	pair(SOCK_SEQPACKET, FD_SQ_A, FD_SQ_B);
	setup_listeners();
	setup_dgram_server();
	setup_misc();
	pid = fork();
	if (pid < 0)
		ck_die("fork");
	if (pid == 0)
		child();
	close(FD_ST_C);
	arm(0);
	ck_ready();
	for (int n = 0;; n++) {
		ck_wait_go(n);
		check_root(n);
		ck_collect("child", n, 5);
		arm(n + 1);
		ck_report(n);
	}
}
