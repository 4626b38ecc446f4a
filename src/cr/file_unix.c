/*
 * file_unix.c - AF_UNIX sockets (CR_FILE_UNIX): stream, datagram and
 * seqpacket; unbound, bound to a path or an abstract name, listening,
 * connected inside the tree (socketpairs, accepted connections, datagram
 * sockets connected to a bound socket of the tree), connected to a
 * datagram socket outside the tree (reconnected by name), or whose peer
 * has closed.
 *
 * Dump: unix_diag (sock_diag.h) gives the state, the peer's inode, the
 * backlog and the shutdown bits; getsockname/getpeername the names.  The
 * receive queue is read without consuming it: SO_PEEK_OFF 0 and MSG_PEEK
 * on the dumper's duplicate, one data[] blob per message (datagram,
 * seqpacket) or per read (stream); the byte total is checked against
 * unix_diag.  A file descriptor in flight (SCM_RIGHTS) fails the dump.
 * link() turns the peer's inode into a file index.
 *
 * Restore: a connected pair is a socketpair (names are bound again when no
 * other socket of the image shares them: an accepted socket shares its
 * listener's name and stays unnamed); a socket whose peer closed is one
 * end of a socketpair whose other end is closed after its queue is
 * filled.  Others are socket + bind (a stale socket file of the dead
 * process is unlinked first; a name some live socket holds fails the
 * restore) + listen.  settle() then, once for all unix files: fills each
 * receive queue by sending from the peer's end (or, for a bound datagram
 * socket, from a temporary socket), closes spare ends, connects datagram
 * sockets to their peer's name, sets options, and applies shutdowns.
 * Listening sockets with a name may be kept by listener custody.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/err.h"
#include "cr/files.h"
#include "cr/rootpath.h"
#include "cr/sock_diag.h"
#include "cr/unix_name.h"

#ifndef TCP_LISTEN
#define TCP_LISTEN 10
#endif
#define PEEK_CMSG 4096                 /* control buffer while peeking */
#define STREAM_CHUNK (256u << 10)

/* ---- small helpers ---- */

static int sockopt_int(int fd, int opt, int *v)
{
	socklen_t len = sizeof(*v);

	if (getsockopt(fd, SOL_SOCKET, opt, v, &len) < 0)
		return err_sys("getsockopt %d", opt);
	return 0;
}

static int timeo_us(int fd, int opt, int64_t *us)
{
	struct timeval tv;
	socklen_t len = sizeof(tv);

	if (getsockopt(fd, SOL_SOCKET, opt, &tv, &len) < 0)
		return err_sys("getsockopt timeout %d", opt);
	*us = (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
	return 0;
}

/* A unix name for messages: the path, or "@name" for an abstract one. */
static const char *name_str(const struct cr_sockaddr *a, char *buf, size_t len)
{
	const char *p = (const char *)a->addr + 2;
	size_t n = a->len > 2 ? a->len - 2 : 0;

	if (n && p[0] == '\0')
		snprintf(buf, len, "@%.*s", (int)(n - 1), p + 1);
	else
		snprintf(buf, len, "%.*s", (int)n, p);
	return buf;
}

static int is_path(const struct cr_sockaddr *a)
{
	return a->len > 2 && a->addr[2] != '\0';
}

/* The path of a path name, NUL-terminated into buf. */
static const char *addr_path(const struct cr_sockaddr *a, char *buf, size_t len)
{
	size_t n = a->len - 2;

	if (n >= len)
		n = len - 1;
	memcpy(buf, a->addr + 2, n);
	buf[n] = '\0';
	return buf;
}

/* ---- dump ---- */

static int unix_match(const struct fd_dump *d)
{
	int v;
	socklen_t len = sizeof(v);

	return S_ISSOCK(d->st.st_mode) &&
	       getsockopt(d->dup, SOL_SOCKET, SO_DOMAIN, &v, &len) == 0 && v == AF_UNIX;
}

/* A path name: find the socket file where it was bound, renamed or
 * unlinked since (unix_name.c); the name becomes absolute as the restorer
 * sees it; record the file's mode and owner. */
static int dump_path(const struct fd_dump *d, const struct sock_diag_unix *u,
		     struct cr_file *f)
{
	static struct unix_name un;    /* large; the dump is single-threaded */
	char rel[128];
	size_t n;

	addr_path(&f->laddr, rel, sizeof(rel));
	if (unix_name_find(d->root_fd, rel, d->cwd, d->root ? d->root : "/", u->vfs_dev,
			   u->vfs_ino, &un) < 0)
		return -1;
	n = strlen(un.bound);
	if (n > sizeof(((struct sockaddr_un *)0)->sun_path) - 1)
		return err_set("bound to %s: absolute name too long (unsupported)", un.bound);
	if (un.state == CR_UNIX_NAME_RENAMED) {
		f->path = strdup(un.now);
		if (!f->path)
			return err_set("out of memory");
	}
	memcpy(f->laddr.addr + 2, un.bound, n);
	f->laddr.len = (uint32_t)(2 + n);
	f->un.name_state = un.state;
	f->un.name_mode = un.st.st_mode & 07777;
	f->un.name_uid = un.st.st_uid;
	f->un.name_gid = un.st.st_gid;
	return 0;
}

static int dump_names(const struct fd_dump *d, const struct sock_diag_unix *u,
		      struct cr_file *f)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(d->dup, (struct sockaddr *)&ss, &len) < 0)
		return err_sys("getsockname");
	if (len <= sizeof(sa_family_t))
		return 0;                       /* unnamed */
	if (len > sizeof(struct sockaddr_un))
		return err_set("socket name of %u bytes", (unsigned)len);
	memcpy(f->laddr.addr, &ss, len);
	f->laddr.len = len;
	/* A path name may hold a NUL at the end: cut the name at it. */
	if (is_path(&f->laddr)) {
		uint8_t *z = memchr(f->laddr.addr + 2, '\0', f->laddr.len - 2);

		if (z)
			f->laddr.len = (uint32_t)(z - f->laddr.addr);
		return dump_path(d, u, f);
	}
	return 0;
}

static int dump_opts(int fd, struct cr_file *f)
{
	int v;

	if (sockopt_int(fd, SO_PASSCRED, &v) < 0)
		return -1;
	f->un.passcred = v != 0;
	if (sockopt_int(fd, SO_RCVBUF, &v) < 0)
		return -1;
	f->un.rcvbuf = (uint64_t)v;
	if (sockopt_int(fd, SO_SNDBUF, &v) < 0)
		return -1;
	f->un.sndbuf = (uint64_t)v;
	if (timeo_us(fd, SO_RCVTIMEO, &f->un.rcvtimeo_us) < 0 ||
	    timeo_us(fd, SO_SNDTIMEO, &f->un.sndtimeo_us) < 0)
		return -1;
	return 0;
}

/* Close every fd an SCM_RIGHTS message put in our table; 1 if any. */
static int drop_rights(struct msghdr *mh)
{
	int found = 0;

	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		size_t n;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		found = 1;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			close(fd);
		}
	}
	return found;
}

/* The length of the next message (datagram, seqpacket), not moving the
 * peek offset; -1 with errno EAGAIN when the queue is empty. */
static ssize_t next_len(int fd)
{
	return recv(fd, NULL, 0, MSG_PEEK | MSG_TRUNC | MSG_DONTWAIT);
}

/* Peek one message or run of bytes into buf (cap bytes); returns the
 * bytes, 0 at the end, -1 on error (err_set). */
static ssize_t peek_one(int fd, uint8_t *buf, size_t cap)
{
	union {
		struct cmsghdr align;
		char b[PEEK_CMSG];
	} ctl;
	struct iovec iov = { buf, cap };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.b,
			     .msg_controllen = sizeof(ctl.b) };
	ssize_t n = recvmsg(fd, &mh, MSG_PEEK | MSG_DONTWAIT | MSG_CMSG_CLOEXEC);

	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return 0;
	if (n < 0)
		return err_sys("peek the receive queue");
	if (drop_rights(&mh))
		return err_set("a file descriptor in flight (SCM_RIGHTS) in its receive "
			       "queue (unsupported)");
	if (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC))
		return err_set("a queued message did not fit while peeking");
	return n;
}

static int peek_stream(int fd, struct cr_file *f, uint64_t *total)
{
	uint8_t *buf = malloc(STREAM_CHUNK);
	ssize_t n;
	int rc = 0;

	if (!buf)
		return err_set("out of memory");
	while ((n = peek_one(fd, buf, STREAM_CHUNK)) > 0) {
		*total += (uint64_t)n;
		if (files_add_data(f, buf, (uint64_t)n) < 0) {
			rc = -1;
			break;
		}
	}
	free(buf);
	return n < 0 ? -1 : rc;
}

static int peek_messages(int fd, struct cr_file *f, uint64_t *total)
{
	for (;;) {
		ssize_t len = next_len(fd), n;
		uint8_t *buf;
		int rc;

		if (len < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (len < 0)
			return err_sys("peek the next message's length");
		if (len == 0)
			return f->un.shutdown & CR_UNIX_SHUT_RD ? 0 :
			       err_set("a zero-length message in its receive queue (unsupported)");
		buf = malloc((size_t)len);
		if (!buf)
			return err_set("out of memory for a %zd-byte message", len);
		n = peek_one(fd, buf, (size_t)len);
		rc = n == len ? files_add_data(f, buf, (uint64_t)n) :
		     n < 0 ? -1 : err_set("peeked %zd of a %zd-byte message", n, len);
		free(buf);
		if (rc < 0)
			return -1;
		*total += (uint64_t)n;
	}
}

/* Read the receive queue into f->data, restoring the peek offset after. */
static int peek_queue(int fd, const struct sock_diag_unix *u, struct cr_file *f)
{
	uint64_t total = 0;
	int old, zero = 0, rc;

	if (sockopt_int(fd, SO_PEEK_OFF, &old) < 0)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, &zero, sizeof(zero)) < 0)
		return err_sys("set SO_PEEK_OFF");
	rc = f->un.type == SOCK_STREAM ? peek_stream(fd, f, &total) :
	     peek_messages(fd, f, &total);
	if (setsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, &old, sizeof(old)) < 0 && rc == 0)
		rc = err_sys("restore SO_PEEK_OFF %d", old);
	if (rc == 0 && f->un.type != SOCK_DGRAM && total != u->rqueue)
		rc = err_set("read %llu of the %u queued bytes (out-of-band data?)",
			     (unsigned long long)total, u->rqueue);
	return rc;
}

static int unix_dump(struct dump_files *df, const struct fd_dump *d, struct cr_file *f)
{
	struct sock_diag_unix u;
	int type;

	f->pos = 0;
	if (sockopt_int(d->dup, SO_TYPE, &type) < 0 || sock_diag_unix(d->st.st_ino, &u) < 0)
		return -1;
	f->un.type = (uint32_t)type;
	f->un.shutdown = u.shutdown & (CR_UNIX_SHUT_RD | CR_UNIX_SHUT_WR);
	if (dump_names(d, &u, f) < 0 || dump_opts(d->dup, f) < 0)
		return -1;
	if (u.state == TCP_LISTEN) {
		f->un.state = CR_UNIX_LISTEN;
		f->un.backlog = u.wqueue;
		f->un.custody = f->laddr.len ? files_custody_tag(df) : 0;
		if (u.rqueue && !f->un.custody)
			fprintf(stderr, "picocenter: warning: pid %d fd %d: %u connection(s) "
				"waiting in a unix listener's queue are lost\n", d->pid, d->fd,
				u.rqueue);
		return 0;
	}
	if (!u.has_peer)
		f->un.state = CR_UNIX_UNCONN;
	else if (!u.peer_ino)
		f->un.state = CR_UNIX_PEER_GONE;
	else {
		f->un.state = CR_UNIX_CONN;
		f->obj = u.peer_ino;           /* link() makes it a file index */
	}
	return peek_queue(d->dup, &u, f);
}

/* The peer's inode becomes a file index, or (datagram) its name. */
static int unix_link(struct dump_files *df, uint32_t id)
{
	struct cr_file *f = &files_image(df)->files[id];
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (f->un.state != CR_UNIX_CONN)
		return 0;
	f->peer = files_find_inode(df, CR_FILE_UNIX, f->dev, f->obj);
	f->obj = 0;
	if (f->peer != CR_FILE_NONE)
		return 0;
	if (f->un.type != SOCK_DGRAM)
		return err_set("unix socket connected outside the tree (unsupported)");
	if (getpeername(files_dup(df, id), (struct sockaddr *)&ss, &len) < 0)
		return err_sys("getpeername");
	if (len <= sizeof(sa_family_t) || len > sizeof(struct sockaddr_un))
		return err_set("unix socket connected outside the tree to an unnamed "
			       "socket (unsupported)");
	memcpy(f->raddr.addr, &ss, len);
	f->raddr.len = len;
	f->un.state = CR_UNIX_CONN_EXT;
	return 0;
}

/* ---- restore: names ---- */

static int same_addr(const struct cr_sockaddr *a, const struct cr_sockaddr *b)
{
	return a->len == b->len && !memcmp(a->addr, b->addr, a->len);
}

/* Does file id own its name (no other file of the image shares it)? */
static int owns_name(const struct cr_image *img, uint32_t id)
{
	const struct cr_file *f = &img->files[id];

	if (!f->laddr.len)
		return 0;
	if (f->un.state == CR_UNIX_LISTEN || f->un.type == SOCK_DGRAM)
		return 1;
	for (uint32_t i = 0; i < img->nr_files; i++)
		if (i != id && img->files[i].kind == CR_FILE_UNIX &&
		    same_addr(&img->files[i].laddr, &f->laddr))
			return 0;
	return 1;
}

/* A socket file left at path: the dead process's (remove it) or a live
 * socket's (the name is in use). */
static int clear_stale(const char *path)
{
	struct stat st;
	uint64_t holder;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : err_sys("lstat %s", path);
	if (!S_ISSOCK(st.st_mode))
		return err_set("%s exists and is not a socket", path);
	if (sock_diag_unix_bound(st.st_ino, &holder) < 0)
		return -1;
	if (holder)
		return err_set("%s: address in use by a live socket (inode %llu)", path,
			       (unsigned long long)holder);
	if (unlink(path) < 0)
		return err_sys("unlink the stale socket file %s", path);
	return 0;
}

/* A path operation on a socket, run where the image's paths resolve
 * (rst_in_root: in a child chrooted to the box's root when boxed; what
 * it creates is removed there if it fails half way). */
struct path_job {
	const struct cr_file *f;
	int fd;
	const char *path;              /* the name to bind */
	const struct cr_sockaddr *to;  /* connect_at: the peer's name */
	const struct sockaddr_un *trial; /* bind_trial_at: the trial name */
};

/* A trial restore (cr_verify) beside the live tree, which holds path:
 * bind a trial name in the same directory instead, to prove the
 * directory is there and takes a socket; it is removed after the trial. */
static int trial_name(const char *path, int fd, struct sockaddr_un *sa)
{
	const char *slash = strrchr(path, '/');
	int dirlen = slash ? (int)(slash - path) + 1 : 0;
	int n;

	sa->sun_family = AF_UNIX;
	n = snprintf(sa->sun_path, sizeof(sa->sun_path), "%.*s.pc-verify.%d.%d", dirlen,
		     path, (int)getpid(), fd);
	if (n < 0 || (size_t)n >= sizeof(sa->sun_path))
		return err_set("%s: no room for a trial name beside it", path);
	return 0;
}

static int bind_trial_at(void *arg)
{
	const struct path_job *j = arg;

	if (bind(j->fd, (const struct sockaddr *)j->trial, sizeof(*j->trial)) < 0)
		return err_sys("bind %s (trial name %s)", j->path, j->trial->sun_path);
	return 0;
}

/* The socket file goes where the app left it: renamed to its current
 * name, or unlinked (the socket keeps the name it was bound to). */
static int move_name(const struct cr_file *f, const char *path)
{
	if (f->un.name_state == CR_UNIX_NAME_UNLINKED) {
		if (unlink(path) < 0)
			return err_sys("unlink %s after bind (it was unlinked at dump)", path);
		return 0;
	}
	if (f->un.name_state != CR_UNIX_NAME_RENAMED)
		return 0;
	if (clear_stale(f->path) < 0)
		return -1;
	if (rename(path, f->path) < 0)
		return err_sys("rename %s to %s (renamed at dump)", path, f->path);
	return 0;
}

/* Bind, then give the socket file its mode, owner and place. */
static int bind_path_at(void *arg)
{
	const struct path_job *j = arg;
	const struct cr_file *f = j->f;
	struct err_saved e;

	if (clear_stale(j->path) < 0)
		return -1;
	if (bind(j->fd, (const struct sockaddr *)f->laddr.addr, f->laddr.len) < 0)
		return err_sys("bind %s", j->path);
	if (f->un.name_state != CR_UNIX_NAME_UNLINKED &&
	    chmod(j->path, f->un.name_mode) < 0)
		err_sys("chmod %s 0%o", j->path, f->un.name_mode);
	else if (f->un.name_state != CR_UNIX_NAME_UNLINKED &&
		 lchown(j->path, f->un.name_uid, f->un.name_gid) < 0)
		err_sys("chown %s %u:%u", j->path, f->un.name_uid, f->un.name_gid);
	else if (move_name(f, j->path) == 0)
		return 0;
	err_save(&e);
	unlink(j->path);
	return err_restore(&e);
}

static int bind_path(struct rst_files *rf, const struct cr_file *f, int fd)
{
	struct sockaddr_un sa;
	struct path_job j = { f, fd, NULL, NULL, &sa };
	char path[128];

	addr_path(&f->laddr, path, sizeof(path));
	j.path = path;
	if (files_verifying(rf)) {
		if (trial_name(path, fd, &sa) < 0 ||
		    rst_in_root(files_root(rf), bind_trial_at, &j) < 0)
			return -1;
		return files_created(rf, sa.sun_path);
	}
	if (rst_in_root(files_root(rf), bind_path_at, &j) < 0)
		return -1;
	if (f->un.name_state == CR_UNIX_NAME_UNLINKED)
		return 0;
	return files_created(rf, f->un.name_state == CR_UNIX_NAME_RENAMED ? f->path : path);
}

static int connect_at(void *arg)
{
	const struct path_job *j = arg;
	char name[128];

	if (connect(j->fd, (const struct sockaddr *)j->to->addr, j->to->len) < 0)
		return err_sys("connect to %s", name_str(j->to, name, sizeof(name)));
	return 0;
}

/* Connect fd to a name, a path resolving in the image's root. */
static int connect_in_root(struct rst_files *rf, int fd, const struct cr_sockaddr *to)
{
	struct path_job j = { NULL, fd, NULL, to, NULL };

	return rst_in_root(is_path(to) ? files_root(rf) : -1, connect_at, &j);
}

static int bind_name(struct rst_files *rf, uint32_t id, int fd)
{
	const struct cr_file *f = &files_rimage(rf)->files[id];
	char name[128];

	if (!owns_name(files_rimage(rf), id))
		return 0;
	if (is_path(&f->laddr))
		return bind_path(rf, f, fd);
	if (bind(fd, (const struct sockaddr *)f->laddr.addr, f->laddr.len) < 0)
		return errno == EADDRINUSE ?
		       err_set("abstract name %s: address in use",
			       name_str(&f->laddr, name, sizeof(name))) :
		       err_sys("bind %s", name_str(&f->laddr, name, sizeof(name)));
	return 0;
}

/* ---- restore: open ---- */

static int mutual(const struct cr_image *img, uint32_t id)
{
	uint32_t p = img->files[id].peer;

	return p != CR_FILE_NONE && img->files[p].peer == id;
}

static int open_pair(struct rst_files *rf, uint32_t id)
{
	const struct cr_image *img = files_rimage(rf);
	const struct cr_file *f = &img->files[id];
	int sv[2];

	if (socketpair(AF_UNIX, (int)f->un.type | SOCK_CLOEXEC, 0, sv) < 0)
		return err_sys("socketpair type %u", f->un.type);
	if (f->un.state == CR_UNIX_PEER_GONE)
		*files_aux(rf, id) = sv[1];   /* closed by settle once filled */
	else
		files_set_fd(rf, f->peer, sv[1]);
	if (bind_name(rf, id, sv[0]) < 0 ||
	    (f->un.state == CR_UNIX_CONN && bind_name(rf, f->peer, sv[1]) < 0)) {
		close(sv[0]);
		return -1;                     /* sv[1] is the framework's or aux */
	}
	return sv[0];
}

static int unix_open(struct rst_files *rf, uint32_t id)
{
	const struct cr_file *f = &files_rimage(rf)->files[id];
	int fd;

	if (f->un.state == CR_UNIX_PEER_GONE ||
	    (f->un.state == CR_UNIX_CONN && mutual(files_rimage(rf), id)))
		return open_pair(rf, id);
	if (files_custody_fd(rf, id, &fd) < 0)
		return -1;
	if (fd >= 0)
		return fd;
	fd = socket(AF_UNIX, (int)f->un.type | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return err_sys("socket AF_UNIX type %u", f->un.type);
	if (bind_name(rf, id, fd) < 0)
		goto fail;
	if (f->un.state == CR_UNIX_LISTEN && listen(fd, (int)f->un.backlog) < 0) {
		err_sys("listen (backlog %u)", f->un.backlog);
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

/* ---- restore: settle ---- */

static uint64_t queued(const struct cr_file *f)
{
	uint64_t n = 0;

	for (uint32_t i = 0; i < f->nr_data; i++)
		n += f->data[i].len;
	return n;
}

/* Let the sender hold the whole queue in flight (unix charges it). */
static int grow_sndbuf(int fd, uint64_t bytes)
{
	int v = bytes > (1u << 29) ? 1 << 29 : (int)bytes + 65536;

	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &v, sizeof(v)) < 0)
		return err_sys("SO_SNDBUFFORCE %d", v);
	return 0;
}

static int send_all(int fd, const struct cr_file *f)
{
	for (uint32_t i = 0; i < f->nr_data; i++) {
		const uint8_t *p = f->data[i].data;
		uint64_t left = f->data[i].len;

		do {
			ssize_t n = send(fd, p, left, MSG_DONTWAIT | MSG_NOSIGNAL);

			if (n < 0)
				return err_sys("send %llu queued bytes (message %u)",
					       (unsigned long long)left, i);
			if (f->un.type != SOCK_STREAM && (uint64_t)n != left)
				return err_set("message %u sent short", i);
			p += n;
			left -= (uint64_t)n;
		} while (left);
	}
	return 0;
}

/* Put file id's queued data back into its receive queue (a bound
 * datagram socket's from a temporary socket connected to its name). */
static int fill_queue(struct rst_files *rf, uint32_t id)
{
	const struct cr_image *img = files_rimage(rf);
	const struct cr_file *f = &img->files[id];
	int from = -1, tmp = -1, rc;

	if (!f->nr_data)
		return 0;
	if (f->un.state == CR_UNIX_PEER_GONE)
		from = *files_aux(rf, id);
	else if (f->un.state == CR_UNIX_CONN && mutual(img, id))
		from = files_get_fd(rf, f->peer);
	else if (f->un.type == SOCK_DGRAM && owns_name(img, id))
		from = tmp = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	else
		return err_set("cannot refill the receive queue of this socket (no peer "
			       "and no name to send to)");
	if (from < 0)
		return err_sys("a socket to refill the queue");
	rc = grow_sndbuf(from, queued(f));
	if (rc == 0 && tmp >= 0)
		rc = connect_in_root(rf, tmp, &f->laddr);
	if (rc == 0)
		rc = send_all(from, f);
	if (tmp >= 0)
		close(tmp);
	if (rc < 0 && tmp >= 0 && errno == EAGAIN)
		return err_set("more datagrams queued than net.unix.max_dgram_qlen allows "
			       "to refill");
	return rc;
}

static int connect_dgram(struct rst_files *rf, uint32_t id)
{
	const struct cr_image *img = files_rimage(rf);
	const struct cr_file *f = &img->files[id];
	const struct cr_sockaddr *to;

	if (f->un.state == CR_UNIX_CONN_EXT)
		to = &f->raddr;
	else if (f->un.state == CR_UNIX_CONN && !mutual(img, id))
		to = &img->files[f->peer].laddr;
	else
		return 0;
	return connect_in_root(rf, files_get_fd(rf, id), to);
}

/* Set an option when a new socket's value differs. */
static int set_buf(int fd, int opt, int force, uint64_t want)
{
	int cur, v = (int)(want / 2);

	if (sockopt_int(fd, opt, &cur) < 0)
		return -1;
	if ((uint64_t)cur == want)
		return 0;
	if (setsockopt(fd, SOL_SOCKET, force, &v, sizeof(v)) < 0)
		return err_sys("setsockopt %d = %d", force, v);
	return 0;
}

static int set_timeo(int fd, int opt, int64_t us)
{
	struct timeval tv = { us / 1000000, us % 1000000 };

	if (us && setsockopt(fd, SOL_SOCKET, opt, &tv, sizeof(tv)) < 0)
		return err_sys("setsockopt timeout %d", opt);
	return 0;
}

static int set_opts(const struct cr_file *f, int fd)
{
	int one = 1;

	if (f->un.passcred && setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) < 0)
		return err_sys("SO_PASSCRED");
	if (set_buf(fd, SO_RCVBUF, SO_RCVBUFFORCE, f->un.rcvbuf) < 0 ||
	    set_buf(fd, SO_SNDBUF, SO_SNDBUFFORCE, f->un.sndbuf) < 0)
		return -1;
	return set_timeo(fd, SO_RCVTIMEO, f->un.rcvtimeo_us) < 0 ? -1 :
	       set_timeo(fd, SO_SNDTIMEO, f->un.sndtimeo_us);
}

static int apply_shutdown(const struct cr_file *f, int fd)
{
	static const int how[] = { -1, SHUT_RD, SHUT_WR, SHUT_RDWR };
	int h = how[f->un.shutdown & 3];

	if (h < 0 || f->un.state == CR_UNIX_PEER_GONE)
		return 0;
	if (shutdown(fd, h) < 0 && errno != ENOTCONN)
		return err_sys("shutdown %d", h);
	return 0;
}

typedef int (*unix_step)(struct rst_files *rf, uint32_t id);

static int step_spare(struct rst_files *rf, uint32_t id)
{
	int *aux = files_aux(rf, id);

	if (*aux >= 0)
		close(*aux);
	*aux = -1;
	return 0;
}

static int step_opts(struct rst_files *rf, uint32_t id)
{
	const struct cr_file *f = &files_rimage(rf)->files[id];
	int fd = files_get_fd(rf, id);

	if (f->un.custody && f->un.state == CR_UNIX_LISTEN)
		return 0;                      /* the held socket kept its own */
	return set_opts(f, fd) < 0 ? -1 : apply_shutdown(f, fd);
}

/* Run step on every unix file of the image. */
static int for_unix(struct rst_files *rf, unix_step step)
{
	const struct cr_image *img = files_rimage(rf);

	for (uint32_t i = 0; i < img->nr_files; i++)
		if (img->files[i].kind == CR_FILE_UNIX && step(rf, i) < 0)
			return err_wrap("file %u", i);
	return 0;
}

/* Once, at the first unix file: every queue, connection and option. */
static int unix_settle(struct rst_files *rf, uint32_t id)
{
	const struct cr_image *img = files_rimage(rf);

	for (uint32_t i = 0; i < id; i++)
		if (img->files[i].kind == CR_FILE_UNIX)
			return 0;
	if (for_unix(rf, fill_queue) < 0 || for_unix(rf, step_spare) < 0 ||
	    for_unix(rf, connect_dgram) < 0 || for_unix(rf, step_opts) < 0) {
		for_unix(rf, step_spare);
		return -1;
	}
	return 0;
}

const struct file_ops file_unix_ops = {
	.kind = CR_FILE_UNIX,
	.name = "unix socket",
	.match = unix_match,
	.dump = unix_dump,
	.link = unix_link,
	.open = unix_open,
	.settle = unix_settle,
};
