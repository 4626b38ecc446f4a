/*
 * file_tty.c - pseudo-terminal pairs (CR_FILE_TTY): the master (an open
 * of ptmx) and its slaves (opens of /dev/pts/N) in a devpts instance: the
 * host's, or a box's own.  Other terminals (/dev/tty, consoles, a slave
 * whose master is outside the tree) stay file_reg.c's: /dev/null.
 *
 * Dump: the pty's index (TIOCGPTN on a master, the device number of a
 * slave), each side's termios and the window size, the master's lock and
 * packet mode, a slave's exclusive mode and its devpts node's mode and
 * owner.  Data queued in either direction (FIONREAD on either side) is
 * not carried: the dump fails, marked transient (the reader usually
 * drains it within milliseconds, and the dump tries again).  A line being
 * typed into a canonical-mode slave, not finished by a newline, is not
 * seen by FIONREAD and is lost.  link() pairs each slave with the
 * master of its index and asks the master (TIOCGSID, TIOCGPGRP: allowed
 * on the master side) for the session it is the controlling terminal of
 * and its foreground group, as pids of the tree.
 *
 * Restore: the master is opened from the ptmx the app used, resolved in
 * the tree's root (a box's /dev/pts/ptmx).  The kernel gives the lowest
 * free index and no way to ask for one, so ptmx is opened until the
 * image's index comes up, the lower ones closed after.  In a box's own
 * devpts the index is free once the dumped tree is gone: one that is
 * taken fails the restore.  In the host's devpts (a tree without a box)
 * another program may hold it: the pair then comes back under the lowest
 * free index with a warning (the app's ttyname() changes; its fds work
 * the same).  Slaves are opened through the master (TIOCGPTPEER) while it
 * is unlocked; settle() then sets termios, window size, packet mode,
 * exclusive mode, the slave's mode and owner, and locks the master again
 * if it was.  A session leader takes its controlling terminal again
 * after setsid (tty_take_ctty), and the restorer gives the terminal its
 * foreground group once every group exists (tty_set_foreground).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <unistd.h>

#include "common/err.h"
#include "cr/file_tty.h"
#include "cr/files.h"
#include "cr/inject.h"
#include "cr/restore_ctx.h"
#include "cr/rootpath.h"

#define PTMX_MAJOR 5
#define PTMX_MINOR 2
#define PTS_MAJOR_FIRST 136            /* UNIX98_PTY_SLAVE_MAJOR */
#define PTS_MAJORS 8

static int is_ptmx(const struct stat *st)
{
	return major(st->st_rdev) == PTMX_MAJOR && minor(st->st_rdev) == PTMX_MINOR;
}

static int is_pts(const struct stat *st)
{
	return major(st->st_rdev) >= PTS_MAJOR_FIRST &&
	       major(st->st_rdev) < PTS_MAJOR_FIRST + PTS_MAJORS;
}

/* ---- dump ---- */

static int tty_match(const struct fd_dump *d)
{
	return S_ISCHR(d->st.st_mode) && (is_ptmx(&d->st) || is_pts(&d->st));
}

static int dump_termios(int fd, struct cr_file_tty *t)
{
	struct termios tio;
	struct winsize ws;
	uint8_t cc[sizeof(t->cc)] = { 0 };

	if (tcgetattr(fd, &tio) < 0)
		return err_sys("TCGETS");
	if (ioctl(fd, TIOCGWINSZ, &ws) < 0)
		return err_sys("TIOCGWINSZ");
	t->iflag = tio.c_iflag;
	t->oflag = tio.c_oflag;
	t->cflag = tio.c_cflag;
	t->lflag = tio.c_lflag;
	t->line = tio.c_line;
	if (t->line != 0)
		return err_set("line discipline %u (only N_TTY is carried)", t->line);
	memcpy(cc, tio.c_cc, CR_TTY_NCCS);
	memcpy(t->cc, cc, sizeof(cc));
	t->rows = ws.ws_row;
	t->cols = ws.ws_col;
	t->xpixel = ws.ws_xpixel;
	t->ypixel = ws.ws_ypixel;
	return 0;
}

/* Bytes waiting on side fd: not carried, so the dump waits for the
 * reader to take them (a transient failure: the dump is tried again). */
static int check_empty(int fd, const struct cr_file_tty *t, const char *what)
{
	int n = 0;

	if (ioctl(fd, FIONREAD, &n) < 0)
		return err_sys("FIONREAD");
	if (n > 0) {
		err_set("pty %u: %d bytes %s are not read yet (queued terminal data is "
			"not carried)", t->index, n, what);
		return err_mark_transient();
	}
	return 0;
}

static int dump_master(const struct fd_dump *d, struct cr_file_tty *t)
{
	int v;

	t->master = 1;
	if (ioctl(d->dup, TIOCGPTN, &v) < 0)
		return err_sys("TIOCGPTN");
	t->index = (uint32_t)v;
	if (ioctl(d->dup, TIOCGPTLCK, &v) < 0)
		return err_sys("TIOCGPTLCK");
	t->locked = v != 0;
	if (ioctl(d->dup, TIOCGPKT, &v) < 0)
		return err_sys("TIOCGPKT");
	t->packet = v != 0;
	return check_empty(d->dup, t, "the terminal's programs wrote");
}

static int dump_slave(const struct fd_dump *d, struct cr_file_tty *t)
{
	int v;

	t->index = (major(d->st.st_rdev) - PTS_MAJOR_FIRST) * 256 + minor(d->st.st_rdev);
	if (ioctl(d->dup, TIOCGEXCL, &v) < 0)
		return err_sys("TIOCGEXCL");
	t->exclusive = v != 0;
	t->mode = d->st.st_mode & 07777;
	t->uid = d->st.st_uid;
	t->gid = d->st.st_gid;
	return check_empty(d->dup, t, "of input");
}

static int tty_dump(struct dump_files *df, const struct fd_dump *d, struct cr_file *f)
{
	struct cr_file_tty *t = &f->tty;

	(void)df;
	f->pos = 0;
	f->path = strdup(d->link);
	if (!f->path)
		return err_set("out of memory");
	if ((is_ptmx(&d->st) ? dump_master(d, t) : dump_slave(d, t)) < 0)
		return -1;
	if (t->index > CR_TTY_INDEX_MAX)
		return err_set("pty index %u above %d (unsupported)", t->index, CR_TTY_INDEX_MAX);
	return dump_termios(d->dup, t);
}

static uint32_t find_master(const struct cr_image *img, uint32_t index)
{
	for (uint32_t i = 0; i < img->nr_files; i++)
		if (img->files[i].kind == CR_FILE_TTY && img->files[i].tty.master &&
		    img->files[i].tty.index == index)
			return i;
	return CR_FILE_NONE;
}

/* A slave whose master is outside the tree is not carried: /dev/null,
 * as other terminals (file_reg.c). */
static int as_dev_null(struct dump_files *df, uint32_t id)
{
	struct cr_file *f = &files_image(df)->files[id];
	pid_t pid;
	int fd;

	files_where(df, id, &pid, &fd);
	fprintf(stderr, "picocenter: warning: pid %d fd %d: terminal %s has its master "
		"outside the tree and is not carried; it is /dev/null after a restore\n",
		pid, fd, f->path);
	free(f->path);
	f->path = strdup("/dev/null");
	if (!f->path)
		return err_set("out of memory");
	memset(&f->tty, 0, sizeof(f->tty));
	f->kind = CR_FILE_DEV;
	f->flags &= ~(uint32_t)O_ASYNC;
	f->owner = 0;
	return 0;
}

/* The session the pair is the controlling terminal of, asked through
 * the master, as pids of the tree (none when it is outside). */
static int dump_session(struct dump_files *df, uint32_t master, struct cr_file_tty *t)
{
	int mfd = files_dup(df, master);
	pid_t sid, pgrp;

	if (ioctl(mfd, TIOCGSID, &sid) < 0)
		return errno == ENOTTY ? 0 : err_sys("TIOCGSID");
	if (!files_tree_pid(df, sid, &t->sid))
		return 0;
	if (ioctl(mfd, TIOCGPGRP, &pgrp) < 0)
		return err_sys("TIOCGPGRP");
	if (pgrp > 0 && !files_tree_pid(df, pgrp, &t->fg_pgrp))
		return err_set("pty %u: foreground group %d outside the tree (unsupported)",
			       t->index, pgrp);
	return 0;
}

static int tty_link(struct dump_files *df, uint32_t id)
{
	struct cr_image *img = files_image(df);
	struct cr_file *f = &img->files[id];

	if (f->tty.master)
		return 0;
	f->peer = find_master(img, f->tty.index);
	if (f->peer == CR_FILE_NONE)
		return as_dev_null(df, id);
	return dump_session(df, f->peer, &f->tty);
}

/* ---- restore ---- */

static int pty_index(int fd, uint32_t *index)
{
	int n;

	if (ioctl(fd, TIOCGPTN, &n) < 0)
		return err_sys("TIOCGPTN");
	*index = (uint32_t)n;
	return 0;
}

/* Open ptmx until index want comes up; lower ones go into spare. */
static int open_index(struct rst_files *rf, const struct cr_file *f, int *spare,
		      uint32_t *nr_spare)
{
	int flags = (int)(f->flags & O_ACCMODE) | O_NOCTTY | O_CLOEXEC;
	uint32_t want = f->tty.index, got = 0;

	for (;;) {
		int fd = rst_open(files_root(rf), f->path, flags, 0);

		if (fd < 0)
			return err_sys("open %s", f->path);
		if (pty_index(fd, &got) < 0) {
			close(fd);
			return -1;
		}
		if (got == want || (got > want && files_verifying(rf)))
			return fd;
		if (got > want && files_root(rf) < 0) {
			fprintf(stderr, "picocenter: warning: pty %u is taken in the host's devpts: "
				"it comes back as pty %u\n", want, got);
			return fd;
		}
		if (got > want || *nr_spare >= want) {
			close(fd);
			return err_set("pty %u is taken in the box's devpts (%s gave %u)", want,
				       f->path, got);
		}
		spare[(*nr_spare)++] = fd;
	}
}

/* The master of file id, unlocked so that its slaves can be opened. */
static int open_master(struct rst_files *rf, uint32_t id)
{
	const struct cr_file *f = &files_rimage(rf)->files[id];
	int *spare = calloc(f->tty.index + 1, sizeof(int)), unlock = 0, fd;
	uint32_t nr_spare = 0;

	if (!spare)
		return err_set("out of memory");
	fd = open_index(rf, f, spare, &nr_spare);
	while (nr_spare)
		close(spare[--nr_spare]);
	free(spare);
	if (fd >= 0 && ioctl(fd, TIOCSPTLCK, &unlock) < 0) {
		err_sys("pty %u: TIOCSPTLCK 0", f->tty.index);
		close(fd);
		return -1;
	}
	return fd;
}

static int tty_open(struct rst_files *rf, uint32_t id)
{
	const struct cr_file *f = &files_rimage(rf)->files[id];
	int mfd, fd;

	if (f->tty.master)
		return open_master(rf, id);
	mfd = files_get_fd(rf, f->peer);
	if (mfd < 0) {
		mfd = open_master(rf, f->peer);
		if (mfd < 0)
			return -1;
		files_set_fd(rf, f->peer, mfd);
	}
	/* Not O_CLOEXEC: TIOCGPTPEER keeps it in the file's flags, where
	 * fdinfo (and so the next dump) would see it on every fd of it. */
	fd = ioctl(mfd, TIOCGPTPEER, (int)(f->flags & O_ACCMODE) | O_NOCTTY);
	if (fd < 0)
		return err_sys("pty %u: open the slave (TIOCGPTPEER)", f->tty.index);
	if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
		err_sys("pty %u: set FD_CLOEXEC on the slave", f->tty.index);
		close(fd);
		return -1;
	}
	return fd;
}

static int set_termios(int fd, const struct cr_file_tty *t)
{
	struct termios tio;
	uint8_t cc[sizeof(t->cc)];

	if (tcgetattr(fd, &tio) < 0)
		return err_sys("TCGETS");
	tio.c_iflag = t->iflag;
	tio.c_oflag = t->oflag;
	tio.c_cflag = t->cflag;
	tio.c_lflag = t->lflag;
	tio.c_line = (cc_t)t->line;
	memcpy(cc, t->cc, sizeof(cc));
	memcpy(tio.c_cc, cc, CR_TTY_NCCS);
	if (tcsetattr(fd, TCSANOW, &tio) < 0)
		return err_sys("TCSETS");
	return 0;
}

static int settle_master(int fd, const struct cr_file_tty *t)
{
	struct winsize ws = { (unsigned short)t->rows, (unsigned short)t->cols,
			      (unsigned short)t->xpixel, (unsigned short)t->ypixel };
	int packet = (int)t->packet, lock = 1;

	if (ioctl(fd, TIOCSWINSZ, &ws) < 0)
		return err_sys("TIOCSWINSZ %ux%u", t->cols, t->rows);
	if (ioctl(fd, TIOCPKT, &packet) < 0)
		return err_sys("TIOCPKT %d", packet);
	if (t->locked && ioctl(fd, TIOCSPTLCK, &lock) < 0)
		return err_sys("TIOCSPTLCK 1");
	return 0;
}

static int settle_slave(int fd, const struct cr_file_tty *t)
{
	if (t->exclusive && ioctl(fd, TIOCEXCL) < 0)
		return err_sys("TIOCEXCL");
	if (fchmod(fd, t->mode) < 0)
		return err_sys("chmod the slave 0%o", t->mode);
	if (fchown(fd, t->uid, t->gid) < 0)
		return err_sys("chown the slave %u:%u", t->uid, t->gid);
	return 0;
}

/* Termios first (a master's lock last: every slave is open by now). */
static int tty_settle(struct rst_files *rf, uint32_t id)
{
	const struct cr_file_tty *t = &files_rimage(rf)->files[id].tty;
	int fd = files_get_fd(rf, id);

	if (set_termios(fd, t) < 0 ||
	    (t->master ? settle_master(fd, t) : settle_slave(fd, t)) < 0)
		return err_wrap("pty %u %s", t->index, t->master ? "master" : "slave");
	return 0;
}

/* The slave file of the image that is the controlling terminal of the
 * session led by pid, or CR_FILE_NONE. */
static uint32_t ctty_of(const struct cr_image *img, int32_t pid)
{
	for (uint32_t i = 0; i < img->nr_files; i++)
		if (img->files[i].kind == CR_FILE_TTY && !img->files[i].tty.master &&
		    img->files[i].tty.sid == pid)
			return i;
	return CR_FILE_NONE;
}

int tty_take_ctty(struct rst_ctx *c, uint32_t idx)
{
	const struct cr_proc *p = &c->img.procs[idx];
	uint32_t id;

	if (p->sid != p->pid || (id = ctty_of(&c->img, p->pid)) == CR_FILE_NONE)
		return 0;
	if (ioctl(svc_cfile_fd(c, id), TIOCSCTTY, 0) < 0)
		return err_sys("pty %u: take it as the controlling terminal (TIOCSCTTY)",
			       c->img.files[id].tty.index);
	return 0;
}

/* TIOCSPGRP run by the session leader rp on its service fd of file id. */
static int give_foreground(struct rst_ctx *c, struct rst_proc *rp, uint32_t id)
{
	const struct cr_file_tty *t = &c->img.files[id].tty;
	uint64_t at = inj_data(&rp->inj, 0);
	int32_t pgrp = t->fg_pgrp;
	char what[64];

	if (inj_write(&rp->inj, at, &pgrp, sizeof(pgrp)) < 0)
		return -1;
	snprintf(what, sizeof(what), "pty %u: TIOCSPGRP %d", t->index, pgrp);
	return inj_call(&rp->inj, rp->host_tids[0], what, SYS_ioctl,
			(uint64_t)svc_cfile_fd(c, id), TIOCSPGRP, at, 0, 0, 0, NULL);
}

int tty_set_foreground(struct rst_ctx *c)
{
	for (uint32_t i = 0; i < c->img.nr_procs; i++) {
		struct rst_proc *rp = &c->procs[i];
		uint32_t id = ctty_of(&c->img, rp->p->pid);

		if (rp->p->zombie || rp->p->sid != rp->p->pid || id == CR_FILE_NONE)
			continue;
		if (rp->late)   /* tty_take_ctty runs in processes forked early */
			return err_set("pid %d: a session leader with a controlling terminal "
				       "forked late (unsupported)", rp->p->pid);
		if (c->img.files[id].tty.fg_pgrp == 0 ||
		    c->img.files[id].tty.fg_pgrp == rp->p->pid)
			continue;
		if (give_foreground(c, rp, id) < 0)
			return err_wrap("restore pid %d", rp->p->pid);
	}
	return 0;
}

const struct file_ops file_tty_ops = {
	.kind = CR_FILE_TTY,
	.name = "pty",
	.match = tty_match,
	.dump = tty_dump,
	.link = tty_link,
	.open = tty_open,
	.settle = tty_settle,
};
