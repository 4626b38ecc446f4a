/*
 * chroots.c - processes that chroot, and unix socket names that moved.
 *
 * `chroots CHECK_DIR MODE`, the jail being CHECK_DIR/jail:
 * - cwd: children whose root is the jail and whose cwd is a directory
 *   inside it ("sub": chroot then chdir /sub; its child "deep", forked
 *   inside the chroot, in /sub/deep), the jail's root itself ("top": chdir
 *   jail, chroot .), or outside it ("out": cwd CHECK_DIR, chroot jail).
 *   Each checks that / and . are the directories they were and that files
 *   resolve through them.
 * - unix: listeners bound before a chroot, as mail servers do: "rel"
 *   binds priv/rel.sock relative to the jail then chroots into it (Postfix),
 *   "abs" binds CHECK_DIR/jail/run/abs.sock by its absolute name then
 *   chroots into jail/run/empty (Dovecot).  The root connects to both by
 *   their names and each answers.
 * - renamed: the root holds a listener bound to r.sock.tmp and renamed to
 *   r.sock (HAProxy), one bound to u.sock then unlinked, and a datagram
 *   socket bound to d.sock.tmp renamed to d.sock.  The names the sockets
 *   give (getsockname) stay the bound ones, the files are where the app
 *   left them, and the renamed ones are reached by their new names.
 * - badroot: a child mounts a tmpfs that only the tree sees and chroots
 *   into it; a dump must refuse it (the root cannot be rebuilt).
 * Children answer the root's checks over a seqpacket socketpair.
 */
#include <poll.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "check.h"

#define MAXKIDS 4

static char jail[1024];
static int nkids;
static struct kid {
	const char *name;
	int ctl;              /* the root's end */
} kids[MAXKIDS];

static void path_in(char *out, size_t len, const char *base, const char *rel)
{
	snprintf(out, len, "%s/%s", base, rel);
}

static ino_t ino_of(const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0)
		ck_die("stat %s", path);
	return st.st_ino;
}

static void mkdir_p(const char *path)
{
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		ck_die("mkdir %s", path);
}

/* ---- the children's side ---- */

typedef void (*kid_check)(void);

/* Answer each request on ctl with this check's verdict; also serve lsn. */
static void __attribute__((noreturn)) serve(int ctl, int lsn, kid_check check)
{
	for (;;) {
		struct pollfd p[2] = { { ctl, POLLIN, 0 }, { lsn, POLLIN, 0 } };
		int n;

		if (poll(p, lsn >= 0 ? 2 : 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			_exit(2);
		}
		if (p[0].revents) {
			if (read(ctl, &n, sizeof(n)) != sizeof(n))
				_exit(0);
			ck_msg[0] = '\0';
			ck_failures = 0;
			check();
			if (write(ctl, ck_failures ? ck_msg : "OK",
				  ck_failures ? strlen(ck_msg) : 2) < 0)
				_exit(2);
		}
		if (lsn >= 0 && p[1].revents) {
			int c = accept(lsn, NULL, NULL);
			unsigned char b;

			if (c < 0)
				continue;
			if (read(c, &b, 1) == 1) {
				b++;
				if (write(c, &b, 1) < 0)
					_exit(2);
			}
			close(c);
		}
	}
}

/* Fork a child that runs setup() then serves checks; its ctl end. */
static int kid(const char *name, void (*setup)(int ctl))
{
	int sv[2];
	pid_t p;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		ck_die("socketpair");
	p = fork();
	if (p < 0)
		ck_die("fork");
	if (p == 0) {
		close(sv[0]);
		for (int i = 0; i < nkids; i++)
			close(kids[i].ctl);
		setup(sv[1]);
		_exit(3);
	}
	close(sv[1]);
	kids[nkids].name = name;
	kids[nkids++].ctl = sv[0];
	return sv[0];
}

/* In the root: ask every child for check n. */
static void ask_kids(int n)
{
	for (int i = 0; i < nkids; i++) {
		struct pollfd p = { kids[i].ctl, POLLIN, 0 };
		char buf[2048];
		ssize_t len;

		if (write(kids[i].ctl, &n, sizeof(n)) != sizeof(n)) {
			ck_fail("%s: cannot ask: %s", kids[i].name, strerror(errno));
			continue;
		}
		if (poll(&p, 1, 5000) != 1) {
			ck_fail("%s: no answer within 5 s", kids[i].name);
			continue;
		}
		len = read(kids[i].ctl, buf, sizeof(buf) - 1);
		buf[len > 0 ? len : 0] = '\0';
		if (strcmp(buf, "OK") != 0)
			ck_fail("%s: %s", kids[i].name, len > 0 ? buf : "closed");
	}
}

/* ---- mode cwd ---- */

static ino_t jail_ino, sub_ino, deep_ino, dir_ino;

static void check_dirs(const char *who, ino_t root, ino_t cwd, const char *want_cwd)
{
	struct stat st;
	char buf[1024], got[64] = "";
	int fd;

	CK(stat("/", &st) == 0 && st.st_ino == root, "%s: / is inode %lu, want %lu", who,
	   (unsigned long)st.st_ino, (unsigned long)root);
	CK(stat(".", &st) == 0 && st.st_ino == cwd, "%s: . is inode %lu, want %lu", who,
	   (unsigned long)st.st_ino, (unsigned long)cwd);
	if (want_cwd)
		CK(getcwd(buf, sizeof(buf)) && !strcmp(buf, want_cwd), "%s: getcwd '%s', want '%s'",
		   who, buf, want_cwd);
	fd = open("/marker", O_RDONLY);
	CK(fd >= 0 && read(fd, got, sizeof(got) - 1) == 4 && !memcmp(got, "jail", 4),
	   "%s: /marker reads '%s' (%s)", who, got, fd < 0 ? strerror(errno) : "");
	if (fd >= 0)
		close(fd);
}

static void chk_sub(void) { check_dirs("sub", jail_ino, sub_ino, "/sub"); }
static void chk_deep(void) { check_dirs("deep", jail_ino, deep_ino, "/sub/deep"); }
static void chk_top(void) { check_dirs("top", jail_ino, jail_ino, "/"); }

static void chk_out(void)
{
	struct stat st;

	check_dirs("out", jail_ino, dir_ino, NULL);
	CK(stat("jail/marker", &st) == 0, "out: jail/marker from the cwd outside the root: %s",
	   strerror(errno));
}

static void setup_deep(int ctl)
{
	if (chdir("/sub/deep") < 0)
		ck_die("deep: chdir /sub/deep");
	serve(ctl, -1, chk_deep);
}

static int deep_ctl = -1;

static void setup_sub(int ctl)
{
	if (chroot(jail) < 0 || chdir("/sub") < 0)
		ck_die("sub: chroot %s", jail);
	/* a child forked inside the chroot: restored from there too */
	if (dup3(deep_ctl, 100, 0) < 0)
		ck_die("dup");
	if (fork() == 0) {
		close(ctl);
		setup_deep(100);
	}
	close(100);
	close(deep_ctl);
	serve(ctl, -1, chk_sub);
}

static void setup_top(int ctl)
{
	if (chdir(jail) < 0 || chroot(".") < 0)
		ck_die("top: chroot .");
	serve(ctl, -1, chk_top);
}

static void setup_out(int ctl)
{
	if (chdir(ck_dir) < 0 || chroot(jail) < 0)
		ck_die("out: chroot");
	serve(ctl, -1, chk_out);
}

static void mode_cwd(void)
{
	char p[1200];
	int sv[2], fd;

	path_in(p, sizeof(p), jail, "sub");
	mkdir_p(p);
	path_in(p, sizeof(p), jail, "sub/deep");
	mkdir_p(p);
	path_in(p, sizeof(p), jail, "marker");
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, "jail", 4) != 4)
		ck_die("write %s", p);
	close(fd);
	jail_ino = ino_of(jail);
	path_in(p, sizeof(p), jail, "sub");
	sub_ino = ino_of(p);
	path_in(p, sizeof(p), jail, "sub/deep");
	deep_ino = ino_of(p);
	dir_ino = ino_of(ck_dir);
	/* deep's channel is made here and handed down through sub */
	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) < 0)
		ck_die("socketpair");
	deep_ctl = sv[1];
	kid("sub", setup_sub);
	close(sv[1]);
	kids[nkids].name = "deep";
	kids[nkids++].ctl = sv[0];
	kid("top", setup_top);
	kid("out", setup_out);
}

/* ---- mode unix ---- */

static int listen_at(const char *name)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int s = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", name);
	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s, 8) < 0)
		ck_die("listen on %s", name);
	return s;
}

static void chk_none(void) {}

static void setup_rel(int ctl)
{
	int s;

	if (chdir(jail) < 0)
		ck_die("rel: chdir");
	s = listen_at("priv/rel.sock");
	if (chroot(".") < 0 || chdir("/") < 0)
		ck_die("rel: chroot");
	serve(ctl, s, chk_none);
}

static void setup_abs(int ctl)
{
	char p[1200];
	int s;

	path_in(p, sizeof(p), jail, "run/abs.sock");
	s = listen_at(p);
	path_in(p, sizeof(p), jail, "run/empty");
	if (chroot(p) < 0 || chdir("/") < 0)
		ck_die("abs: chroot");
	serve(ctl, s, chk_none);
}

/* Connect to path, send n, expect n + 1. */
static void ping(const char *path, int n)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	unsigned char b = (unsigned char)n;
	int s = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof(a)) < 0) {
		ck_fail("connect to %s: %s", path, strerror(errno));
	} else {
		CK(write(s, &b, 1) == 1 && read(s, &b, 1) == 1 && b == (unsigned char)(n + 1),
		   "%s answered %u to %d", path, b, n);
	}
	if (s >= 0)
		close(s);
}

static void mode_unix(void)
{
	char p[1200];

	path_in(p, sizeof(p), jail, "priv");
	mkdir_p(p);
	path_in(p, sizeof(p), jail, "run");
	mkdir_p(p);
	path_in(p, sizeof(p), jail, "run/empty");
	mkdir_p(p);
	kid("rel", setup_rel);
	kid("abs", setup_abs);
}

static void check_unix(int n)
{
	char p[1200];

	path_in(p, sizeof(p), jail, "priv/rel.sock");
	ping(p, n);
	path_in(p, sizeof(p), jail, "run/abs.sock");
	ping(p, n);
}

/* ---- mode renamed ---- */

static int ren_l, unl_l, ren_d;
static char ren_tmp[1200], ren_now[1200], unl_name[1200], dg_tmp[1200], dg_now[1200];

static int bind_at(int type, const char *name)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int s = socket(AF_UNIX, type, 0);

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", name);
	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) < 0)
		ck_die("bind %s", name);
	return s;
}

static void mode_renamed(void)
{
	if (strlen(ck_dir) > 80)
		ck_die("CHECK_DIR %s too long for socket names", ck_dir);
	path_in(ren_tmp, sizeof(ren_tmp), ck_dir, "r.sock.42.tmp");
	path_in(ren_now, sizeof(ren_now), ck_dir, "r.sock");
	path_in(unl_name, sizeof(unl_name), ck_dir, "u.sock");
	path_in(dg_tmp, sizeof(dg_tmp), ck_dir, "d.sock.tmp");
	path_in(dg_now, sizeof(dg_now), ck_dir, "d.sock");
	ren_l = bind_at(SOCK_STREAM, ren_tmp);
	if (listen(ren_l, 8) < 0 || rename(ren_tmp, ren_now) < 0)
		ck_die("listen and rename %s", ren_tmp);
	unl_l = bind_at(SOCK_STREAM, unl_name);
	if (listen(unl_l, 8) < 0 || unlink(unl_name) < 0)
		ck_die("listen and unlink %s", unl_name);
	ren_d = bind_at(SOCK_DGRAM, dg_tmp);
	if (rename(dg_tmp, dg_now) < 0)
		ck_die("rename %s", dg_tmp);
}

static void check_name(int s, const char *want)
{
	struct sockaddr_un a;
	socklen_t len = sizeof(a);

	memset(&a, 0, sizeof(a));
	CK(getsockname(s, (struct sockaddr *)&a, &len) == 0 && !strcmp(a.sun_path, want),
	   "getsockname gives '%s', want '%s'", a.sun_path, want);
}

static void check_renamed(int n)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	struct stat st;
	int c, acc, v = 0;
	socklen_t len = sizeof(v);
	char b = (char)n;

	check_name(ren_l, ren_tmp);
	check_name(unl_l, unl_name);
	check_name(ren_d, dg_tmp);
	CK(stat(ren_now, &st) == 0 && S_ISSOCK(st.st_mode), "%s is not a socket", ren_now);
	CK(stat(dg_now, &st) == 0 && S_ISSOCK(st.st_mode), "%s is not a socket", dg_now);
	CK(lstat(ren_tmp, &st) < 0 && errno == ENOENT, "%s exists", ren_tmp);
	CK(lstat(dg_tmp, &st) < 0 && errno == ENOENT, "%s exists", dg_tmp);
	CK(lstat(unl_name, &st) < 0 && errno == ENOENT, "%s exists", unl_name);
	CK(getsockopt(unl_l, SOL_SOCKET, SO_ACCEPTCONN, &v, &len) == 0 && v == 1,
	   "the unlinked listener does not listen");
	/* the renamed listener, by its new name */
	memcpy(a.sun_path, ren_now, strlen(ren_now) + 1);
	c = socket(AF_UNIX, SOCK_STREAM, 0);
	if (c < 0 || connect(c, (struct sockaddr *)&a, sizeof(a)) < 0) {
		ck_fail("connect to %s: %s", ren_now, strerror(errno));
	} else {
		acc = accept(ren_l, NULL, NULL);
		CK(acc >= 0 && write(c, &b, 1) == 1 && read(acc, &b, 1) == 1 && b == (char)n,
		   "no byte through the renamed listener");
		if (acc >= 0)
			close(acc);
	}
	if (c >= 0)
		close(c);
	/* the renamed datagram socket, by its new name */
	memcpy(a.sun_path, dg_now, strlen(dg_now) + 1);
	c = socket(AF_UNIX, SOCK_DGRAM, 0);
	b = (char)(n + 7);
	CK(c >= 0 && sendto(c, &b, 1, 0, (struct sockaddr *)&a, sizeof(a)) == 1,
	   "sendto %s: %s", dg_now, strerror(errno));
	b = 0;
	CK(recv(ren_d, &b, 1, MSG_DONTWAIT) == 1 && b == (char)(n + 7),
	   "the renamed datagram socket got %d", b);
	if (c >= 0)
		close(c);
}

/* ---- mode badroot ---- */

static void setup_badroot(int ctl)
{
	char p[1200];

	path_in(p, sizeof(p), ck_dir, "mnt");
	mkdir_p(p);
	if (mount("tmpfs", p, "tmpfs", 0, "size=64k") < 0)
		ck_die("mount tmpfs on %s", p);
	if (chroot(p) < 0 || chdir("/") < 0)
		ck_die("chroot %s", p);
	serve(ctl, -1, chk_none);
}

int main(int argc, char **argv)
{
	const char *mode = argc > 2 ? argv[2] : "";

	ck_init(argc, argv);
	path_in(jail, sizeof(jail), ck_dir, "jail");
	mkdir_p(jail);
	if (!strcmp(mode, "cwd"))
		mode_cwd();
	else if (!strcmp(mode, "unix"))
		mode_unix();
	else if (!strcmp(mode, "renamed"))
		mode_renamed();
	else if (!strcmp(mode, "badroot"))
		kid("badroot", setup_badroot);
	else
		ck_die("unknown mode '%s'", mode);
	ck_ready();
	for (int n = 0;; n++) {
		ck_wait_go(n);
		ask_kids(n);
		if (!strcmp(mode, "unix"))
			check_unix(n);
		if (!strcmp(mode, "renamed"))
			check_renamed(n);
		ck_report(n);
	}
}
