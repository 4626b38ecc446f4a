/*
 * u-image.c - unit test of src/cr/image*.c (the manifest writer/parser).
 *
 * Builds a rich image in memory, writes it, reads it back and compares every
 * field; then checks that flipped bytes, truncations, invalid fields behind a
 * valid checksum, invalid in-memory images and a missing manifest are all
 * rejected with a message naming the problem, and that a rejected parse
 * leaves the image zeroed.  Exit 0: all passed.
 *
 *   u-image            run the tests (in a temporary directory)
 *   u-image --seed D   only write a valid manifest into D (fuzzing seed)
 *
 * The byte offsets used to patch manifests are those of docs/image-format.md.
 */
#include <stddef.h>
#include "cr/image.h"
#include "common/err.h"

#include <errno.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define PAGE CR_PAGE_SIZE
#define HDR_LEN 56
#define HDR_OFF_LENGTH 16
#define HDR_OFF_SHA 24

enum { REC_IMAGE = 1, REC_SHMEM, REC_RUN, REC_PROC, REC_CREDS, REC_RLIMITS,
       REC_MM, REC_AUXV, REC_SIGACTIONS, REC_TIMER, REC_SIGINFO, REC_THREAD,
       REC_XSAVE, REC_VMA, REC_FD, REC_FILE, REC_FDATA, REC_FENT, REC_END,
       REC_SEM, REC_MSGQ, REC_MSG };
#define REC_LOCKS 0x80000001u  /* optional */

static int failures;

static void fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("FAIL: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	failures++;
}

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);

	if (!p) {
		perror("calloc");
		exit(2);
	}
	return p;
}

static char *xstrdup(const char *s)
{
	char *d = strdup(s);

	if (!d) {
		perror("strdup");
		exit(2);
	}
	return d;
}

/* ---- A rich image: 2 procs, 3 threads, every vma kind, 2 shmem ---- */

#define XSAVE_SIZE 832

static struct cr_page_run *make_runs(const uint64_t (*spec)[3], uint32_t n)
{
	struct cr_page_run *r = xcalloc(n, sizeof(*r));

	for (uint32_t i = 0; i < n; i++)
		r[i] = (struct cr_page_run){ spec[i][0], spec[i][1],
					     spec[i][2] * PAGE, 0 };
	return r;
}

static void set_siginfo(struct cr_siginfo *si, int32_t signo, uint8_t fill)
{
	memset(si->raw, fill, sizeof(si->raw));
	memcpy(si->raw, &signo, sizeof(signo));
}

static void make_thread(struct cr_thread *t, int32_t tid, uint32_t nr_pending)
{
	unsigned long long *regs = (unsigned long long *)&t->regs;

	t->tid = tid;
	snprintf(t->comm, sizeof(t->comm), "worker-%d", tid);
	for (int i = 0; i < 27; i++)
		regs[i] = 0x1000000ull * (uint64_t)tid + 0x101ull * (uint64_t)i;
	t->xsave_len = XSAVE_SIZE;
	t->xsave = xcalloc(1, XSAVE_SIZE);
	for (int i = 0; i < XSAVE_SIZE; i++)
		t->xsave[i] = (uint8_t)(i * 7 + tid);
	t->rseq_addr = 0x7f0000100000ull + (uint64_t)tid * 32;
	t->rseq_len = 32;
	t->rseq_sig = 0x53053053;
	t->robust_head = 0x7f0000200000ull + (uint64_t)tid;
	t->robust_len = 24;
	t->clear_tid = 0x7f0000300000ull + (uint64_t)tid;
	t->sigmask = 0x8000000000000001ull >> tid;
	t->altstack_sp = 0x7f0000400000ull;
	t->altstack_size = 65536;
	t->altstack_flags = tid == 1 ? SS_DISABLE : 0;
	t->nr_pending = nr_pending;
	t->pending = xcalloc(nr_pending, sizeof(*t->pending));
	for (uint32_t i = 0; i < nr_pending; i++)
		set_siginfo(&t->pending[i], 10 + (int32_t)i, (uint8_t)(0xa0 + i));
}

static void set_vma(struct cr_vma *v, uint64_t start, uint64_t pages,
		    uint32_t kind, uint32_t prot, uint32_t flags)
{
	v->start = start;
	v->end = start + pages * PAGE;
	v->kind = kind;
	v->prot = prot;
	v->flags = flags;
}

static void set_file(struct cr_vma *v, const char *path, uint64_t pgoff)
{
	v->path = xstrdup(path);
	v->pgoff = pgoff;
	v->file_size = 123456;
	v->file_mtime_ns = 1700000000123456789ll;
}

/* All eight kinds of VMA, sorted, with page runs in the ANON and FILE ones. */
static void make_vmas_init(struct cr_proc *p)
{
	static const uint64_t text[][3] = { { 0x400000, 1, 0 } };
	static const uint64_t heap[][3] = { { 0x600000, 2, 1 },
					    { 0x603000, 1, 3 } };
	static const uint64_t stack[][3] = { { 0x7ffc00020000, 1, 4 } };
	struct cr_vma *v = xcalloc(9, sizeof(*v));

	set_vma(&v[0], 0x400000, 2, CR_VMA_FILE, PROT_READ | PROT_EXEC, 0);
	set_file(&v[0], "/usr/bin/app", 0);
	v[0].nr_runs = 1;
	v[0].runs = make_runs(text, 1);
	set_vma(&v[1], 0x600000, 4, CR_VMA_ANON, PROT_READ | PROT_WRITE,
		CR_VMA_F_HEAP);
	v[1].nr_runs = 2;
	v[1].runs = make_runs(heap, 2);
	set_vma(&v[2], 0x7f0000000000, 8, CR_VMA_SHMEM, PROT_READ | PROT_WRITE,
		CR_VMA_F_SHARED | CR_VMA_F_DONTFORK);
	v[2].pgoff = 0;
	set_vma(&v[3], 0x7f0000010000, 2, CR_VMA_FILE_SHARED, PROT_READ,
		CR_VMA_F_SHARED | CR_VMA_F_LOCKED);
	set_file(&v[3], "/data/db", 2 * PAGE);
	set_vma(&v[4], 0x7ffc00000000, 0x21, CR_VMA_ANON, PROT_READ | PROT_WRITE,
		CR_VMA_F_STACK | CR_VMA_F_GROWSDOWN | CR_VMA_F_NOHUGEPAGE);
	v[4].nr_runs = 1;
	v[4].runs = make_runs(stack, 1);
	set_vma(&v[5], 0x7ffd00000000, 3, CR_VMA_VVAR, PROT_READ, 0);
	set_vma(&v[6], 0x7ffd00003000, 1, CR_VMA_VVAR_VCLOCK, PROT_READ, 0);
	set_vma(&v[7], 0x7ffd00004000, 2, CR_VMA_VDSO, PROT_READ | PROT_EXEC,
		CR_VMA_F_DONTDUMP);
	set_vma(&v[8], 0xffffffffff600000ull, 1, CR_VMA_VSYSCALL, PROT_EXEC, 0);
	p->nr_vmas = 9;
	p->vmas = v;
}

/* fds[i][0] is the fd number, fds[i][1] the file. */
static void make_fds(struct cr_proc *p, const int32_t (*fds)[2], uint32_t n)
{
	p->nr_fds = n;
	p->fds = xcalloc(n, sizeof(*p->fds));
	for (uint32_t i = 0; i < n; i++) {
		struct cr_fd *f = &p->fds[i];

		f->fd = fds[i][0];
		f->file = (uint32_t)fds[i][1];
		f->cloexec = i == 2;
	}
}

static void add_blob(struct cr_file *f, const char *s)
{
	size_t n = strlen(s);

	f->data = realloc(f->data, (f->nr_data + 1) * sizeof(*f->data));
	if (!f->data)
		exit(2);
	f->data[f->nr_data].flags = 0;
	f->data[f->nr_data].len = n;
	f->data[f->nr_data].data = xcalloc(n + 1, 1);
	memcpy(f->data[f->nr_data].data, s, n);
	f->nr_data++;
}

static void set_unix_addr(struct cr_sockaddr *a, const char *name, size_t n)
{
	a->len = (uint32_t)(2 + n);
	a->addr[0] = AF_UNIX;
	memcpy(a->addr + 2, name, n);
}

/* One file of every kind (files.h), referenced by the processes' fds. */
enum { F_LOG, F_NULL, F_UNLINKED, F_PIPE_R, F_PIPE_W, F_UNIX_A, F_UNIX_B,
       F_EPOLL, F_EVENTFD, F_TIMERFD, F_SIGNALFD, F_INOTIFY, F_DIR, F_FIFO,
       F_LISTEN, F_NETLINK, F_MQUEUE, F_PTM, F_PTS, NR_FILES };

static void make_files_sockets(struct cr_file *f)
{
	f[F_UNIX_A].kind = f[F_UNIX_B].kind = f[F_LISTEN].kind = CR_FILE_UNIX;
	f[F_UNIX_A].flags = f[F_UNIX_B].flags = f[F_LISTEN].flags = O_RDWR;
	f[F_UNIX_A].un = (struct cr_file_unix){ SOCK_SEQPACKET, CR_UNIX_CONN, 0, 1,
						212992, 4608, 1500000, 0, 0, 0, 0,
						CR_UNIX_SHUT_WR, 0, CR_UNIX_NAME_BOUND };
	f[F_UNIX_B].un = f[F_UNIX_A].un;
	f[F_UNIX_A].peer = F_UNIX_B;
	f[F_UNIX_B].peer = F_UNIX_A;
	set_unix_addr(&f[F_UNIX_A].laddr, "\0abstract", 9);
	add_blob(&f[F_UNIX_A], "message one");
	add_blob(&f[F_UNIX_A], "two");
	f[F_LISTEN].un = (struct cr_file_unix){ SOCK_STREAM, CR_UNIX_LISTEN, 128, 0,
						 1000, 2000, 0, 0, 0755, 1000, 100,
						 0, 0x1234, CR_UNIX_NAME_RENAMED };
	set_unix_addr(&f[F_LISTEN].laddr, "/run/app.sock", 13);
	f[F_LISTEN].path = xstrdup("/run/app.sock.now");
	f[F_NETLINK].kind = CR_FILE_NETLINK;
	f[F_NETLINK].flags = O_RDWR;
	f[F_NETLINK].nl = (struct cr_file_netlink){ NETLINK_ROUTE, SOCK_RAW, 4242,
		CR_NETLINK_O_NO_ENOBUFS | CR_NETLINK_O_EXT_ACK, { 0x41, 1ull << 36 },
		212992, 212992, 0, 0 };
}

static void make_files_anon(struct cr_file *f)
{
	f[F_EPOLL].kind = CR_FILE_EPOLL;
	f[F_EPOLL].nr_ents = 2;
	f[F_EPOLL].ents = xcalloc(2, sizeof(struct cr_file_ent));
	f[F_EPOLL].ents[0] = (struct cr_file_ent){ 0, EPOLLIN, 7, NULL };
	f[F_EPOLL].ents[1] = (struct cr_file_ent){ 7, EPOLLOUT | EPOLLET, 0x1234, NULL };
	f[F_EVENTFD].kind = CR_FILE_EVENTFD;
	f[F_EVENTFD].efd = (struct cr_file_eventfd){ 5, 1 };
	f[F_TIMERFD].kind = CR_FILE_TIMERFD;
	f[F_TIMERFD].tfd = (struct cr_file_timerfd){ 1, 0, 1000, 500, 2 };
	f[F_SIGNALFD].kind = CR_FILE_SIGNALFD;
	f[F_SIGNALFD].sfd.mask = 0x4000;
	f[F_INOTIFY].kind = CR_FILE_INOTIFY;
	f[F_INOTIFY].nr_ents = 1;
	f[F_INOTIFY].ents = xcalloc(1, sizeof(struct cr_file_ent));
	f[F_INOTIFY].ents[0] = (struct cr_file_ent){ 1, IN_MODIFY, 0, xstrdup("/etc") };
}

/* A pty pair: a locked master in packet mode, a slave that is the
 * controlling terminal of session 1 (the root's). */
static void make_files_tty(struct cr_file *f)
{
	f[F_PTM] = (struct cr_file){ .kind = CR_FILE_TTY, .flags = O_RDWR | O_NONBLOCK,
				     .peer = CR_FILE_NONE, .path = xstrdup("/dev/pts/ptmx") };
	f[F_PTM].tty = (struct cr_file_tty){ .master = 1, .index = 3, .locked = 1, .packet = 1,
					     .iflag = 0x500, .oflag = 5, .cflag = 0xbf,
					     .lflag = 0x8a3b, .cc = { 0x1c7f15, 0x1a, 0 },
					     .rows = 24, .cols = 80 };
	f[F_PTS] = (struct cr_file){ .kind = CR_FILE_TTY, .flags = O_RDWR, .peer = F_PTM,
				     .path = xstrdup("/dev/pts/3") };
	f[F_PTS].tty = f[F_PTM].tty;
	f[F_PTS].tty.master = f[F_PTS].tty.locked = f[F_PTS].tty.packet = 0;
	f[F_PTS].tty.exclusive = 1;
	f[F_PTS].tty.mode = 0620;
	f[F_PTS].tty.uid = 1000;
	f[F_PTS].tty.gid = 5;
	f[F_PTS].tty.sid = 1;
	f[F_PTS].tty.fg_pgrp = 1;
}

static void make_files(struct cr_image *img)
{
	struct cr_file *f = xcalloc(NR_FILES, sizeof(*f));

	img->nr_files = NR_FILES;
	img->files = f;
	for (int i = 0; i < NR_FILES; i++)
		f[i] = (struct cr_file){ .peer = CR_FILE_NONE };
	f[F_LOG] = (struct cr_file){ .kind = CR_FILE_REG, .flags = O_WRONLY | O_APPEND,
				     .pos = 1234, .owner_type = F_OWNER_PID, .owner = 2,
				     .sig = SIGRTMIN, .peer = CR_FILE_NONE,
				     .path = xstrdup("/var/log/app.log") };
	f[F_LOG].reg.mode = 0640;
	f[F_LOG].reg.size = 4000;
	f[F_NULL] = (struct cr_file){ .kind = CR_FILE_DEV, .flags = O_RDWR,
				      .peer = CR_FILE_NONE, .path = xstrdup("/dev/null") };
	f[F_UNLINKED] = (struct cr_file){ .kind = CR_FILE_REG, .flags = O_RDWR, .pos = 3,
					  .peer = CR_FILE_NONE, .path = xstrdup("/memfd:scratch") };
	f[F_UNLINKED].reg = (struct cr_file_reg){ 1, 0600, 11, 0x6, 1, 1000, 1001 };   /* sealed memfd, its owner */
	add_blob(&f[F_UNLINKED], "hello world");
	f[F_PIPE_R].kind = f[F_PIPE_W].kind = CR_FILE_PIPE;
	f[F_PIPE_W].flags = O_WRONLY | O_NONBLOCK;
	f[F_PIPE_R].obj = f[F_PIPE_W].obj = 77;
	f[F_PIPE_R].pipe = (struct cr_file_pipe){ 65536, 1 };
	f[F_PIPE_W].pipe = (struct cr_file_pipe){ 65536, 0 };
	add_blob(&f[F_PIPE_R], "in flight");
	f[F_MQUEUE] = (struct cr_file){ .kind = CR_FILE_MQUEUE, .flags = O_WRONLY | O_NONBLOCK,
					.peer = CR_FILE_NONE, .obj = 79, .path = xstrdup("/queue") };
	f[F_MQUEUE].mq = (struct cr_file_mqueue){ 1, 0640, 70, 71, 10, 64, 1 };
	add_blob(&f[F_MQUEUE], "prio 0");
	add_blob(&f[F_MQUEUE], "prio 7");
	f[F_MQUEUE].data[1].flags = 7;
	f[F_DIR].kind = CR_FILE_DIR;
	f[F_DIR].flags = O_RDONLY | O_DIRECTORY;
	f[F_DIR].path = xstrdup("/srv");
	f[F_FIFO].kind = CR_FILE_FIFO;
	f[F_FIFO].flags = O_RDWR;
	f[F_FIFO].obj = 78;
	f[F_FIFO].pipe = (struct cr_file_pipe){ 4096, 1 };
	f[F_FIFO].path = xstrdup("/run/fifo");
	make_files_sockets(f);
	make_files_anon(f);
	make_files_tty(f);
}

/* Everything that is not a list: ids, creds, limits, mm, sigactions. */
static void make_proc_fields(struct cr_proc *p, int32_t pid, int32_t ppid)
{
	p->pid = pid;
	p->ppid = ppid;
	p->pgid = 1;
	p->sid = 1;
	p->exit_signal = SIGCHLD;
	snprintf(p->comm, sizeof(p->comm), "app-%d", pid);
	p->umask = 022;
	p->personality = 0x0040000 * (uint32_t)(pid - 1);
	p->cwd = xstrdup(pid == 1 ? "/" : "/srv/www");
	p->root = xstrdup("/");
	p->creds = (struct cr_creds){ 1000, 1001, 1002, 1003, 2000, 2001, 2002,
				      2003, 3, { 4, 24, 27 }, 0x1, 0x2, 0x3,
				      0x1ffffffffffull, 0x4, 1, 0x2f };
	for (int i = 0; i < CR_NR_RLIMITS; i++)
		p->rlimits[i] = (struct cr_rlimit){ 100u + (uint64_t)i,
						    i % 3 ? ~0ull : 200u };
	p->mm = (struct cr_mm){ 0x400000, 0x401000, 0x601000, 0x602000,
				0x603000, 0x604000, 0x7ffc00020ff0,
				0x7ffc00020000, 0x7ffc00020100,
				0x7ffc00020100, 0x7ffc00020200, 6,
				{ 6, 4096, 25, 0x7ffc00020300, 0, 0 }, NULL };
	p->mm.exe_path = xstrdup("/usr/bin/app");
	for (int i = 0; i < CR_NSIG; i++)
		if (i + 1 != SIGKILL && i + 1 != SIGSTOP)
			p->sigactions[i] = (struct cr_sigaction){
				i % 4 == 0 ? 0x401000u + (uint64_t)i : (uint64_t)(i % 2),
				0x04000000u, 0x401800, 1ull << i };
	p->itimers[0] = (struct cr_itimer){ 1000000, 250000 };
	p->itimers[2] = (struct cr_itimer){ 0, 5 };
}

static void make_init(struct cr_proc *p)
{
	static const int32_t fds[][2] = {
		{ 0, F_NULL }, { 1, F_LOG }, { 7, F_EPOLL }, { 8, F_UNLINKED },
		{ 9, F_PIPE_R }, { 10, F_PIPE_W }, { 11, F_UNIX_A }, { 12, F_EVENTFD },
		{ 13, F_TIMERFD }, { 14, F_SIGNALFD }, { 15, F_INOTIFY }, { 16, F_DIR },
		{ 17, F_FIFO }, { 18, F_LISTEN }, { 19, F_LOG },
	};

	make_proc_fields(p, 1, 0);
	p->nr_timers = 2;
	p->timers = xcalloc(2, sizeof(*p->timers));
	p->timers[0] = (struct cr_posix_timer){ 0, 1, SIGEV_SIGNAL, SIGALRM, 0,
						0xdeadbeef, 5000000, 1000 };
	p->timers[1] = (struct cr_posix_timer){ 3, 0, SIGEV_THREAD_ID, SIGRTMIN + 1,
						3, 42, 0, 999999999 };
	p->nr_shared_pending = 1;
	p->shared_pending = xcalloc(1, sizeof(*p->shared_pending));
	set_siginfo(&p->shared_pending[0], SIGUSR2, 0x5a);
	p->nr_threads = 2;
	p->threads = xcalloc(2, sizeof(*p->threads));
	make_thread(&p->threads[0], 1, 0);
	make_thread(&p->threads[1], 3, 2);
	make_vmas_init(p);
	make_fds(p, fds, sizeof(fds) / sizeof(fds[0]));
	p->nr_locks = 3;
	p->locks = xcalloc(3, sizeof(*p->locks));
	p->locks[0] = (struct cr_lock){ 1, CR_LOCK_FLOCK, 1, 0, 0 };
	p->locks[1] = (struct cr_lock){ 19, CR_LOCK_POSIX, 0, 10, 10 };
	p->locks[2] = (struct cr_lock){ 8, CR_LOCK_OFD, 1, 4096, 0 };
}

static void make_child(struct cr_proc *p)
{
	static const int32_t fds[][2] = { { 0, F_NULL }, { 2, F_LOG }, { 3, F_UNIX_B } };
	static const uint64_t anon[][3] = { { 0x10000, 3, 10 } };
	struct cr_vma *v = xcalloc(2, sizeof(*v));

	make_proc_fields(p, 2, 1);
	p->nr_threads = 1;
	p->threads = xcalloc(1, sizeof(*p->threads));
	make_thread(&p->threads[0], 2, 1);
	set_vma(&v[0], 0x10000, 4, CR_VMA_ANON, PROT_READ | PROT_WRITE,
		CR_VMA_F_WIPEONFORK | CR_VMA_F_HUGEPAGE);
	v[0].nr_runs = 1;
	v[0].runs = make_runs(anon, 1);
	set_vma(&v[1], 0x7f0000000000, 2, CR_VMA_SHMEM, PROT_READ,
		CR_VMA_F_SHARED);
	v[1].shmem_id = 1;
	v[1].pgoff = PAGE;
	p->nr_vmas = 2;
	p->vmas = v;
	make_fds(p, fds, 3);
}

/* SysV objects of the tree's IPC namespace: a semaphore set, a queue. */
static void make_ipc(struct cr_image *img)
{
	static const char m0[] = "first message", m1[] = "2";

	img->ipc_ns = 1;
	img->nr_sems = 1;
	img->sems = xcalloc(1, sizeof(*img->sems));
	img->sems[0] = (struct cr_sem_set){ { 5, 0x1234, 0, 0, 0, 0, 0640 }, 3,
					    xcalloc(3, sizeof(uint16_t)) };
	img->sems[0].vals[0] = 1;
	img->sems[0].vals[2] = 32767;
	img->nr_msgqs = 1;
	img->msgqs = xcalloc(1, sizeof(*img->msgqs));
	img->msgqs[0] = (struct cr_msg_queue){ { 0, 0, 1, 2, 3, 4, 0666 }, 16384, 2,
					       xcalloc(2, sizeof(struct cr_msg)) };
	img->msgqs[0].msgs[0] = (struct cr_msg){ 7, sizeof(m0), xcalloc(1, sizeof(m0)) };
	memcpy(img->msgqs[0].msgs[0].data, m0, sizeof(m0));
	img->msgqs[0].msgs[1] = (struct cr_msg){ 1, 1, xcalloc(1, 1) };
	memcpy(img->msgqs[0].msgs[1].data, m1, 1);
}

static void make_image(struct cr_image *img)
{
	static const uint64_t sh0[][3] = { { 0, 2, 40 }, { 4 * PAGE, 1, 42 } };
	static const uint64_t sh1[][3] = { { PAGE, 1, 63 } };

	memset(img, 0, sizeof(*img));
	img->version = CR_IMAGE_VERSION;
	img->xsave_size = XSAVE_SIZE;
	img->xfeatures = 0x2e7;
	img->pages_size = 64 * PAGE;
	img->pages_hash = 0x0123456789abcdefull;
	img->nr_shmem = 2;
	img->shmem = xcalloc(2, sizeof(*img->shmem));
	img->shmem[0] = (struct cr_shmem){ .size = 8 * PAGE, .nr_runs = 2,
					   .runs = make_runs(sh0, 2) };
	img->shmem[1] = (struct cr_shmem){ .size = 4 * PAGE, .nr_runs = 1,
					   .runs = make_runs(sh1, 1), .sysv = 1,
					   .perm = { 32768, 0xa7833e, 26, 27, 0, 0, 0600 },
					   .segsz = 3 * PAGE + 56 };
	make_ipc(img);
	img->nr_procs = 2;
	img->procs = xcalloc(2, sizeof(*img->procs));
	make_init(&img->procs[0]);
	make_child(&img->procs[1]);
	make_files(img);
	img->box = xstrdup("web-1");
}

/* ---- Field-by-field comparison ---- */

#define EQ(field) \
	do { \
		if ((a)->field != (b)->field) \
			fail("%s: " #field " differs: 0x%llx vs 0x%llx", ctx, \
			     (unsigned long long)(a)->field, \
			     (unsigned long long)(b)->field); \
	} while (0)
#define EQMEM(field, len) \
	do { \
		if (memcmp((a)->field, (b)->field, (len))) \
			fail("%s: " #field " differs", ctx); \
	} while (0)
#define EQSTR(field) \
	do { \
		if (!(a)->field != !(b)->field || \
		    ((a)->field && strcmp((a)->field, (b)->field))) \
			fail("%s: " #field " differs: %s vs %s", ctx, \
			     (a)->field ? (a)->field : "(null)", \
			     (b)->field ? (b)->field : "(null)"); \
	} while (0)

/* sub = "ctx what i" (cut to fit). */
static void sub_ctx(char *sub, size_t size, const char *ctx, const char *what,
		    uint32_t i)
{
	if (snprintf(sub, size, "%s %s %u", ctx, what, i) >= (int)size)
		sub[size - 1] = '\0';
}

static void cmp_runs(const char *ctx, const struct cr_page_run *ra,
		     const struct cr_page_run *rb, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		const struct cr_page_run *a = &ra[i], *b = &rb[i];

		EQ(addr);
		EQ(nr_pages);
		EQ(file_off);
	}
}

static void cmp_siginfos(const char *ctx, const struct cr_siginfo *sa,
			 const struct cr_siginfo *sb, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		if (memcmp(sa[i].raw, sb[i].raw, CR_SIGINFO_SIZE))
			fail("%s: siginfo %u differs", ctx, i);
}

static void cmp_regs(const char *ctx, const struct user_regs_struct *a,
		     const struct user_regs_struct *b)
{
	EQ(r15); EQ(r14); EQ(r13); EQ(r12); EQ(rbp); EQ(rbx); EQ(r11);
	EQ(r10); EQ(r9); EQ(r8); EQ(rax); EQ(rcx); EQ(rdx); EQ(rsi);
	EQ(rdi); EQ(orig_rax); EQ(rip); EQ(cs); EQ(eflags); EQ(rsp);
	EQ(ss); EQ(fs_base); EQ(gs_base); EQ(ds); EQ(es); EQ(fs); EQ(gs);
}

static void cmp_thread(const char *ctx, const struct cr_thread *a,
		       const struct cr_thread *b)
{
	EQ(tid);
	EQMEM(comm, CR_COMM_LEN);
	cmp_regs(ctx, &a->regs, &b->regs);
	EQ(xsave_len);
	if (a->xsave_len == b->xsave_len)
		EQMEM(xsave, a->xsave_len);
	EQ(rseq_addr); EQ(rseq_len); EQ(rseq_sig);
	EQ(robust_head); EQ(robust_len); EQ(clear_tid); EQ(sigmask);
	EQ(altstack_sp); EQ(altstack_size); EQ(altstack_flags);
	EQ(nr_pending);
	if (a->nr_pending == b->nr_pending)
		cmp_siginfos(ctx, a->pending, b->pending, a->nr_pending);
}

static void cmp_vma(const char *ctx, const struct cr_vma *a,
		    const struct cr_vma *b)
{
	EQ(start); EQ(end); EQ(prot); EQ(flags); EQ(kind); EQ(shmem_id);
	EQ(pgoff); EQSTR(path); EQ(file_size); EQ(file_mtime_ns);
	EQ(nr_runs);
	if (a->nr_runs == b->nr_runs)
		cmp_runs(ctx, a->runs, b->runs, a->nr_runs);
}

static void cmp_fd(const char *ctx, const struct cr_fd *a, const struct cr_fd *b)
{
	EQ(fd); EQ(file); EQ(cloexec);
}

static void cmp_file_parts(const char *ctx, const struct cr_file *a,
			   const struct cr_file *b)
{
	for (uint32_t i = 0; a->nr_data == b->nr_data && i < a->nr_data; i++) {
		EQ(data[i].flags); EQ(data[i].len);
		if (a->data[i].len == b->data[i].len)
			EQMEM(data[i].data, a->data[i].len);
	}
	for (uint32_t i = 0; a->nr_ents == b->nr_ents && i < a->nr_ents; i++) {
		EQ(ents[i].fd); EQ(ents[i].events); EQ(ents[i].data);
		EQSTR(ents[i].path);
	}
}

static void cmp_file(const char *ctx, const struct cr_file *a, const struct cr_file *b)
{
	EQ(kind); EQ(flags); EQ(pos); EQ(owner_type); EQ(owner); EQ(sig); EQ(peer);
	EQ(obj); EQSTR(path); EQ(laddr.len); EQMEM(laddr.addr, CR_SOCKADDR_MAX);
	EQ(raddr.len); EQMEM(raddr.addr, CR_SOCKADDR_MAX); EQ(nr_data); EQ(nr_ents);
	EQ(reg.unlinked); EQ(reg.mode); EQ(reg.size); EQ(reg.seals);
	EQ(un.type); EQ(un.state); EQ(un.backlog); EQ(un.passcred); EQ(un.rcvbuf);
	EQ(un.sndbuf); EQ(un.rcvtimeo_us); EQ(un.sndtimeo_us); EQ(un.name_mode);
	EQ(un.name_uid); EQ(un.name_gid); EQ(un.shutdown); EQ(un.custody);
	EQ(un.name_state);
	EQ(mq.unlinked); EQ(mq.mode); EQ(mq.uid); EQ(mq.gid); EQ(mq.maxmsg); EQ(mq.msgsize);
	EQ(mq.has_data);
	EQ(tty.master); EQ(tty.index); EQ(tty.locked); EQ(tty.packet); EQ(tty.exclusive);
	EQ(tty.iflag); EQ(tty.oflag); EQ(tty.cflag); EQ(tty.lflag); EQ(tty.line);
	EQMEM(tty.cc, sizeof(a->tty.cc)); EQ(tty.rows); EQ(tty.cols); EQ(tty.xpixel);
	EQ(tty.ypixel); EQ(tty.mode); EQ(tty.uid); EQ(tty.gid); EQ(tty.sid); EQ(tty.fg_pgrp);
	EQ(nl.protocol); EQ(nl.type); EQ(nl.portid); EQ(nl.opts); EQ(nl.groups[0]);
	EQ(nl.groups[1]); EQ(nl.rcvbuf); EQ(nl.sndbuf); EQ(nl.dst_portid); EQ(nl.dst_group);
	EQ(inet.family); EQ(inet.state); EQ(inet.opts.reuseaddr); EQ(inet.opts.fastopen);
	EQ(inet.opts.pktinfo); EQ(inet.opts.recvttl); EQ(inet.opts.recvtos);
	EQ(inet.opts.recverr); EQ(inet.opts.origdstaddr); EQ(inet.opts.tos); EQ(inet.opts.ttl);
	EQ(inet.opts.mtu_discover); EQ(inet.opts.freebind); EQ(inet.opts.transparent);
	EQ(inet.opts.v6_recvpktinfo); EQ(inet.opts.v6_recvhoplimit);
	EQ(inet.opts.v6_recvtclass); EQ(inet.opts.v6_recverr); EQ(inet.opts.v6_tclass);
	EQ(inet.opts.v6_hops); EQ(inet.opts.v6_mtu_discover); EQ(inet.opts.timestamp);
	EQ(inet.opts.timestampns); EQ(inet.opts.priority); EQ(inet.opts.mark);
	cmp_file_parts(ctx, a, b);
}

static void cmp_timer(const char *ctx, const struct cr_posix_timer *a,
		      const struct cr_posix_timer *b)
{
	EQ(id); EQ(clock); EQ(notify); EQ(signo); EQ(notify_tid);
	EQ(sigval); EQ(interval_ns); EQ(value_ns);
}

static void cmp_creds(const char *ctx, const struct cr_creds *a,
		      const struct cr_creds *b)
{
	EQ(uid); EQ(euid); EQ(suid); EQ(fsuid);
	EQ(gid); EQ(egid); EQ(sgid); EQ(fsgid);
	EQ(nr_groups);
	EQMEM(groups, sizeof(a->groups));
	EQ(cap_inh); EQ(cap_prm); EQ(cap_eff); EQ(cap_bnd); EQ(cap_amb);
	EQ(no_new_privs); EQ(securebits);
}

static void cmp_mm(const char *ctx, const struct cr_mm *a, const struct cr_mm *b)
{
	EQ(start_code); EQ(end_code); EQ(start_data); EQ(end_data);
	EQ(start_brk); EQ(brk); EQ(start_stack);
	EQ(arg_start); EQ(arg_end); EQ(env_start); EQ(env_end);
	EQ(nr_auxv);
	EQMEM(auxv, sizeof(a->auxv));
	EQSTR(exe_path);
}

static void cmp_proc_state(const char *ctx, const struct cr_proc *a,
			   const struct cr_proc *b)
{
	char sub[128];

	EQ(pid); EQ(ppid); EQ(pgid); EQ(sid); EQ(zombie); EQ(exit_code);
	EQ(exit_signal); EQMEM(comm, CR_COMM_LEN); EQ(umask); EQ(personality);
	EQSTR(cwd); EQSTR(root);
	cmp_creds(ctx, &a->creds, &b->creds);
	for (int i = 0; i < CR_NR_RLIMITS; i++) {
		EQ(rlimits[i].cur);
		EQ(rlimits[i].max);
	}
	cmp_mm(ctx, &a->mm, &b->mm);
	for (int i = 0; i < CR_NSIG; i++) {
		EQ(sigactions[i].handler); EQ(sigactions[i].flags);
		EQ(sigactions[i].restorer); EQ(sigactions[i].mask);
	}
	for (int i = 0; i < 3; i++) {
		EQ(itimers[i].interval_us);
		EQ(itimers[i].value_us);
	}
	EQ(nr_timers);
	for (uint32_t i = 0; a->nr_timers == b->nr_timers && i < a->nr_timers; i++) {
		sub_ctx(sub, sizeof(sub), ctx, "timer", i);
		cmp_timer(sub, &a->timers[i], &b->timers[i]);
	}
	EQ(nr_shared_pending);
	if (a->nr_shared_pending == b->nr_shared_pending)
		cmp_siginfos(ctx, a->shared_pending, b->shared_pending,
			     a->nr_shared_pending);
}

static void cmp_proc(const char *ctx, const struct cr_proc *a,
		     const struct cr_proc *b)
{
	char sub[128];

	cmp_proc_state(ctx, a, b);
	EQ(nr_threads);
	for (uint32_t i = 0; a->nr_threads == b->nr_threads && i < a->nr_threads; i++) {
		sub_ctx(sub, sizeof(sub), ctx, "thread", i);
		cmp_thread(sub, &a->threads[i], &b->threads[i]);
	}
	EQ(nr_vmas);
	for (uint32_t i = 0; a->nr_vmas == b->nr_vmas && i < a->nr_vmas; i++) {
		sub_ctx(sub, sizeof(sub), ctx, "vma", i);
		cmp_vma(sub, &a->vmas[i], &b->vmas[i]);
	}
	EQ(nr_fds);
	for (uint32_t i = 0; a->nr_fds == b->nr_fds && i < a->nr_fds; i++) {
		sub_ctx(sub, sizeof(sub), ctx, "fd", i);
		cmp_fd(sub, &a->fds[i], &b->fds[i]);
	}
	EQ(nr_locks);
	for (uint32_t i = 0; a->nr_locks == b->nr_locks && i < a->nr_locks; i++)
		if (memcmp(&a->locks[i], &b->locks[i], sizeof(a->locks[i])))
			fail("%s: lock %u differs", ctx, i);
}

static void cmp_ipc(const struct cr_image *a, const struct cr_image *b)
{
	const char *ctx = "image";

	EQ(ipc_ns); EQ(nr_sems); EQ(nr_msgqs);
	for (uint32_t i = 0; a->nr_sems == b->nr_sems && i < a->nr_sems; i++)
		if (memcmp(&a->sems[i].perm, &b->sems[i].perm, sizeof(a->sems[i].perm)) ||
		    a->sems[i].nsems != b->sems[i].nsems ||
		    memcmp(a->sems[i].vals, b->sems[i].vals, a->sems[i].nsems * 2))
			fail("sem %u differs", i);
	for (uint32_t i = 0; a->nr_msgqs == b->nr_msgqs && i < a->nr_msgqs; i++) {
		const struct cr_msg_queue *qa = &a->msgqs[i], *qb = &b->msgqs[i];

		if (memcmp(&qa->perm, &qb->perm, sizeof(qa->perm)) || qa->qbytes != qb->qbytes ||
		    qa->nr_msgs != qb->nr_msgs) {
			fail("msgq %u differs", i);
			continue;
		}
		for (uint32_t k = 0; k < qa->nr_msgs; k++)
			if (qa->msgs[k].mtype != qb->msgs[k].mtype ||
			    qa->msgs[k].len != qb->msgs[k].len ||
			    memcmp(qa->msgs[k].data, qb->msgs[k].data, qa->msgs[k].len))
				fail("msgq %u message %u differs", i, k);
	}
}

static void cmp_image(const struct cr_image *a, const struct cr_image *b)
{
	const char *ctx = "image";
	char sub[128];

	EQ(version); EQ(xsave_size); EQ(xfeatures); EQ(pages_size); EQSTR(box);
	EQ(pages_hash); EQ(nr_procs); EQ(nr_shmem);
	for (uint32_t i = 0; a->nr_shmem == b->nr_shmem && i < a->nr_shmem; i++) {
		const struct cr_shmem *sa = &a->shmem[i], *sb = &b->shmem[i];

		snprintf(sub, sizeof(sub), "shmem %u", i);
		if (sa->size != sb->size || sa->nr_runs != sb->nr_runs)
			fail("%s: size or nr_runs differs", sub);
		else
			cmp_runs(sub, sa->runs, sb->runs, sa->nr_runs);
		if (sa->sysv != sb->sysv || sa->segsz != sb->segsz ||
		    memcmp(&sa->perm, &sb->perm, sizeof(sa->perm)))
			fail("%s: SysV fields differ", sub);
	}
	cmp_ipc(a, b);
	for (uint32_t i = 0; a->nr_procs == b->nr_procs && i < a->nr_procs; i++) {
		snprintf(sub, sizeof(sub), "proc %u", i);
		cmp_proc(sub, &a->procs[i], &b->procs[i]);
	}
	EQ(nr_files);
	for (uint32_t i = 0; a->nr_files == b->nr_files && i < a->nr_files; i++) {
		snprintf(sub, sizeof(sub), "file %u", i);
		cmp_file(sub, &a->files[i], &b->files[i]);
	}
}

/* ---- Helpers: files, manifests in memory ---- */

static char tmpdir[] = "/tmp/u-image.XXXXXX";

static void subdir(char *out, size_t size, const char *name)
{
	snprintf(out, size, "%s/%s", tmpdir, name);
	if (mkdir(out, 0755) && errno != EEXIST) {
		perror(out);
		exit(2);
	}
}

static bool exists(const char *dir, const char *name)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return access(path, F_OK) == 0;
}

static uint8_t *load(const char *dir, size_t *len)
{
	char path[512];
	FILE *f;
	uint8_t *buf;
	long n;

	snprintf(path, sizeof(path), "%s/manifest", dir);
	f = fopen(path, "rb");
	if (!f || fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0) {
		perror(path);
		exit(2);
	}
	rewind(f);
	buf = xcalloc((size_t)n + 64, 1);
	if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
		perror(path);
		exit(2);
	}
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static bool zeroed(const struct cr_image *img)
{
	static const struct cr_image zero;

	return memcmp(img, &zero, sizeof(zero)) == 0;
}

/* Parse must fail, leave img zeroed and (if want) say want. */
static void expect_reject(const uint8_t *buf, size_t len, const char *want,
			  const char *what)
{
	struct cr_image img;

	memset(&img, 0xab, sizeof(img));
	err_clear();
	if (cr_image_parse(buf, len, &img) == 0) {
		fail("%s: accepted", what);
		cr_image_free(&img);
		return;
	}
	if (!zeroed(&img))
		fail("%s: image not zeroed after a rejected parse", what);
	if (want && !strstr(err_msg(), want))
		fail("%s: message \"%s\" lacks \"%s\"", what, err_msg(), want);
}

static void le_put(uint8_t *p, uint64_t v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t le_get(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/* Recompute the header's length and SHA-256 after an edit. */
static void reseal(uint8_t *buf, size_t len)
{
	unsigned int n;

	le_put(buf + HDR_OFF_LENGTH, len, 8);
	if (!EVP_Digest(buf + HDR_LEN, len - HDR_LEN, buf + HDR_OFF_SHA, &n,
			EVP_sha256(), NULL)) {
		fprintf(stderr, "EVP_Digest failed\n");
		exit(2);
	}
}

/* Offset of the payload of the nth record of this type; exits if absent. */
static size_t find_record(const uint8_t *buf, size_t len, uint32_t type,
			  unsigned nth)
{
	size_t off = HDR_LEN;

	while (off + 8 <= len) {
		uint32_t t = (uint32_t)le_get(buf + off, 4);
		uint32_t n = (uint32_t)le_get(buf + off + 4, 4);

		if (t == type && nth-- == 0)
			return off + 8;
		off += 8 + n;
	}
	fprintf(stderr, "test bug: no record %u #%u\n", type, nth);
	exit(2);
}

/* ---- The tests ---- */

static uint8_t *good;      /* a valid manifest */
static size_t good_len;

static void test_roundtrip(void)
{
	struct cr_image in, out;
	char dir[256];

	make_image(&in);
	subdir(dir, sizeof(dir), "good");
	if (cr_image_write(&in, dir))
		fail("write: %s", err_msg());
	if (cr_image_write(&in, dir))            /* replacing one works too */
		fail("rewrite: %s", err_msg());
	if (exists(dir, "manifest.tmp"))
		fail("manifest.tmp left behind");
	if (cr_image_read(dir, &out)) {
		fail("read: %s", err_msg());
	} else {
		cmp_image(&in, &out);
		cr_image_free(&out);
		if (!zeroed(&out))
			fail("cr_image_free left the image non-zero");
	}
	cr_image_free(&in);
	good = load(dir, &good_len);
	printf("round trip: %zu-byte manifest compared field by field\n",
	       good_len);
}

/* files[F_NULL] made a wildcard UDP socket of family fam (image v7
 * options at their defaults), for the inet cases below. */
static void to_udp(struct cr_image *i, uint32_t fam)
{
	struct cr_file *f = &i->files[F_NULL];

	free(f->path);
	*f = (struct cr_file){ .kind = CR_FILE_UDP, .flags = O_RDWR, .peer = CR_FILE_NONE };
	f->inet.family = fam;
	f->inet.state = CR_INET_UDP;
	f->inet.opts.ttl = 64;
	f->inet.opts.mtu_discover = 1;
	if (fam == AF_INET6) {
		f->inet.opts.v6only = 1;
		f->inet.opts.v6_hops = 64;
	}
}

/* A udp6 socket with every option of image v7 away from its default comes
 * back with each of them. */
static void test_inet_opts(void)
{
	struct cr_image in, out;
	struct cr_inet_opts *o;
	char dir[256];

	make_image(&in);
	to_udp(&in, AF_INET6);
	o = &in.files[F_NULL].inet.opts;
	o->pktinfo = o->recvttl = o->recvtos = o->recverr = o->origdstaddr = 1;
	o->tos = 0x10;
	o->ttl = 7;
	o->mtu_discover = IP_PMTUDISC_OMIT;
	o->freebind = o->transparent = 1;
	o->v6_recvpktinfo = o->v6_recvhoplimit = o->v6_recvtclass = o->v6_recverr = 1;
	o->v6_tclass = 0x20;
	o->v6_hops = 9;
	o->v6_mtu_discover = IPV6_PMTUDISC_DO;
	o->timestamp = 0;
	o->timestampns = 1;
	o->priority = 6;
	o->mark = 0xdeadbeef;
	subdir(dir, sizeof(dir), "inet");
	if (cr_image_write(&in, dir))
		fail("inet options: write: %s", err_msg());
	else if (cr_image_read(dir, &out))
		fail("inet options: read: %s", err_msg());
	else {
		cmp_image(&in, &out);
		cr_image_free(&out);
	}
	cr_image_free(&in);
	printf("inet options: a udp6 socket with every v7 option set round-trips\n");
}

/* files[F_NULL] made a udp4 socket with a multicast state
 * (inet_mcast.c): IP_MULTICAST_TTL 5, loop off, and 239.1.2.3 on eth0
 * from source 10.0.0.1 only; group: the group's first byte. */
static void to_mcast(struct cr_image *i, uint8_t group)
{
	static const uint8_t head[36] = { 1, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0 };
	uint8_t b[36 + 40 + 16] = { 0 };
	struct cr_file *f = &i->files[F_NULL];

	to_udp(i, AF_INET);
	memcpy(b, head, sizeof(head));
	memcpy(b + 36, "eth0", 4);
	b[52] = group, b[53] = 1, b[54] = 2, b[55] = 3;
	b[68] = 1;                       /* MCAST_INCLUDE */
	b[72] = 1;                       /* one source */
	b[76] = 10, b[79] = 1;
	f->data = xcalloc(1, sizeof(*f->data));
	f->data[0].len = sizeof(b);
	f->data[0].data = xcalloc(sizeof(b), 1);
	memcpy(f->data[0].data, b, sizeof(b));
	f->nr_data = 1;
}

/* files[F_NULL] made a udp6 socket joined to the IPv4 group 239.1.2.3
 * (IPv4-mapped) from one source: 10.0.0.1 as IPv4-mapped, or, mixed, the
 * IPv6 fd00::1. */
static void to_mcast_mapped(struct cr_image *i, int mixed)
{
	struct cr_file *f = &i->files[F_NULL];
	uint8_t *b;

	to_mcast(i, 239);      /* a udp4 one, made udp6 as to_udp does */
	f->inet.family = AF_INET6;
	f->inet.opts.v6only = 1;
	f->inet.opts.v6_hops = 64;
	b = f->data[0].data;
	memmove(b + 52 + 12, b + 52, 4);        /* group: ::ffff:239.1.2.3 */
	memset(b + 52, 0, 12);
	b[62] = b[63] = 0xff;
	memset(b + 76, 0, 16);
	if (mixed)
		b[76] = 0xfd, b[91] = 1;          /* fd00::1 */
	else
		b[86] = b[87] = 0xff, b[88] = 10, b[91] = 1;
}

/* The image make_image() gives, changed by make(i, arg): written into
 * dir NAME, it must read back the same (want NULL) or be refused by the
 * writer with a message holding want. */
static void mcast_case(const char *name, void (*make)(struct cr_image *, int), int arg,
		       const char *want)
{
	struct cr_image in, out;
	char dir[256];
	int rc;

	make_image(&in);
	make(&in, arg);
	subdir(dir, sizeof(dir), name);
	rc = cr_image_write(&in, dir);
	if (want && (rc == 0 || !strstr(err_msg(), want)))
		fail("multicast %s: not refused for '%s': %s", name, want, err_msg());
	else if (!want && rc)
		fail("multicast %s: write: %s", name, err_msg());
	else if (!want && cr_image_read(dir, &out))
		fail("multicast %s: read: %s", name, err_msg());
	else if (!want) {
		cmp_image(&in, &out);
		cr_image_free(&out);
	}
	cr_image_free(&in);
}

static void to_mcast_group(struct cr_image *i, int group)
{
	to_mcast(i, (uint8_t)group);
}

/* A udp4 socket's multicast state round-trips, and a udp6 socket's IPv4
 * group; a group that is not a multicast address, and an IPv4 group with
 * an IPv6 source, are refused. */
static void test_inet_mcast(void)
{
	mcast_case("mcast", to_mcast_group, 239, NULL);
	mcast_case("mcast-bad", to_mcast_group, 10, "not a multicast address");
	mcast_case("mcast6", to_mcast_mapped, 0, NULL);
	mcast_case("mcast6-mixed", to_mcast_mapped, 1, "mixed");
	printf("multicast: memberships round-trip (udp4; udp6 with an IPv4 group), a unicast "
	       "group and a mixed membership are refused\n");
}

static void test_flips(void)
{
	uint8_t *buf = xcalloc(good_len, 1);
	size_t step = getenv("U_IMAGE_FLIP_STEP") ?
		      strtoul(getenv("U_IMAGE_FLIP_STEP"), NULL, 0) : 1;
	int before = failures;
	char what[64];

	if (step == 0)
		step = 1;
	memcpy(buf, good, good_len);
	for (size_t i = 0; i < good_len; i += step) {
		buf[i] ^= (uint8_t)(1u << (i % 8));
		snprintf(what, sizeof(what), "flip at byte %zu", i);
		expect_reject(buf, good_len, NULL, what);
		buf[i] = good[i];
		if (failures - before > 5)
			break;
	}
	free(buf);
	printf("flips: every %zu byte(s) of %zu rejected\n", step, good_len);
}

static void test_truncations(void)
{
	size_t lens[] = { 0, 1, 7, 8, 55, 56, 57, 64, 100, good_len / 2,
			  good_len - 8, good_len - 1, good_len + 1 };
	char what[64], dir[256], path[300];
	struct cr_image img;
	FILE *f;

	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		snprintf(what, sizeof(what), "length %zu of %zu", lens[i],
			 good_len);
		expect_reject(good, lens[i], lens[i] < HDR_LEN ? "header" :
			      lens[i] == good_len + 1 ? "extended" : "truncated",
			      what);
	}
	/* And through a file: a torn manifest must be reported with its path. */
	subdir(dir, sizeof(dir), "torn");
	snprintf(path, sizeof(path), "%s/manifest", dir);
	f = fopen(path, "wb");
	if (!f || fwrite(good, 1, good_len / 3, f) != good_len / 3 || fclose(f))
		exit(2);
	if (cr_image_read(dir, &img) == 0)
		fail("torn manifest accepted");
	else if (!strstr(err_msg(), path) || !strstr(err_msg(), "truncated"))
		fail("torn manifest message: %s", err_msg());
	else
		printf("torn file: %s\n", err_msg());
}

/* A valid checksum over an invalid field: patch bytes, reseal, expect want. */
struct patch {
	uint32_t type;          /* record type, 0: the header */
	unsigned nth;           /* which record of that type */
	long off;               /* byte offset in its payload */
	size_t size;            /* 1, 4 or 8 */
	uint64_t value;
	const char *want;       /* in the message */
};

static const struct patch patches[] = {
	{ REC_VMA, 0, 0, 8, 0x400010, "proc 0 (pid 1): vma 0: start 0x400010 not page aligned" },
	{ REC_VMA, 4, 8, 8, 0x800000001000, "vma 4: end 0x800000001000 above 0x800000000000" },
	{ REC_VMA, 2, 0, 8, 0x602000, "vma 2: start 0x602000 overlaps" },
	{ REC_VMA, 8, 0, 8, 0xffffffffff500000, "vma 8: vsyscall at" },
	{ REC_VMA, 1, 24, 4, 99, "vma 1: kind 99 unknown" },
	{ REC_VMA, 1, 16, 4, 0x10, "vma 1: prot 0x10 has bits other than R/W/X" },
	{ REC_VMA, 1, 20, 4, 0x400, "vma 1: flags 0x400 has unknown bits" },
	{ REC_VMA, 1, 20, 4, CR_VMA_F_SHARED, "vma 1: flag SHARED set for kind 1" },
	{ REC_VMA, 2, 28, 4, 5, "vma 2: shmem_id 5 not below nr_shmem 2" },
	{ REC_VMA, 0, 44, 1, 'x', "vma 0: path \"xusr/bin/app\" not absolute" },
	{ REC_VMA, 0, 45, 1, 0, "vma 0: path: contains a NUL byte" },
	{ REC_VMA, 0, 40, 4, 5000, "path: length 5000 not below 4096" },
	{ REC_VMA, 0, 32, 8, 0x1000 + 1, "pgoff 0x1001 not page aligned" },
	{ REC_RUN, 3, 0, 8, 0x402000, "vma 0: run 0: [0x402000, 0x403000) outside" },
	{ REC_RUN, 5, 0, 8, 0x600000, "vma 1: run 1: addr 0x600000 overlaps" },
	{ REC_RUN, 3, 8, 8, 0, "run 0: nr_pages is 0" },
	{ REC_RUN, 3, 8, 8, 1ull << 60, "pages overflows" },
	{ REC_RUN, 3, 16, 8, 64 * PAGE, "file_off 0x40000 + 4096 bytes past pages_size 262144" },
	{ REC_RUN, 3, 16, 8, ~0xfffull, "past pages_size" },
	{ REC_RUN, 0, 0, 8, 0x10, "shmem 0: run 0: addr 0x10 not page aligned" },
	{ REC_RUN, 1, 0, 8, 8 * PAGE, "shmem 0: run 1: [0x8000, 0x9000) outside [0x0, 0x8000)" },
	{ REC_RUN, 3, 24, 4, 2, "vma 0: run 0: flags 0x2 has unknown bits" },
	{ REC_RUN, 3, 24, 4, CR_RUN_INHERITED, "proc 0 (pid 1): vma 0 run 0: INHERITED, but pid 0's runs" },
	{ REC_RUN, 0, 24, 4, CR_RUN_INHERITED, "shmem 0: run 0: flags 0x1 in shared memory" },
	{ REC_RUN, 4, 24, 4, CR_RUN_INHERITED, "proc 0 (pid 1): vma 1 run 0: INHERITED, but pid 0's runs do not cover it" },
	{ REC_RUN, 7, 24, 4, CR_RUN_INHERITED, "proc 1 (pid 2): vma 0 run 0: INHERITED, but pid 1's runs do not cover it" },
	{ REC_SHMEM, 0, 0, 8, 0x8001, "shmem 0: size 0x8001 not page aligned" },
	{ REC_PROC, 1, 4, 4, 9, "proc 1 (pid 2): ppid 9 is not an earlier proc" },
	{ REC_PROC, 1, 0, 4, 0, "pid 0 not positive" },
	{ REC_PROC, 0, 16, 4, 2, "zombie 2 not 0 or 1" },
	{ REC_PROC, 0, 24, 4, 65, "exit_signal 65 not in 0..64" },
	{ REC_PROC, 0, 44, 4, 01000, "umask 01000 above 0777" },
	{ REC_PROC, 0, 56, 1, 'x', "cwd \"x\" not absolute" },
	{ REC_THREAD, 1, 0, 4, 2, "tid 2 used twice" },
	{ REC_THREAD, 0, 0, 4, 3, "threads[0].tid 3 is not the pid" },
	{ REC_THREAD, 1, 0, 4, 0xffffffff, "thread 1 (tid -1): tid -1 not positive" },
	{ REC_THREAD, 2, 300, 4, 0x10, "altstack_flags 0x10 has unknown bits" },
	{ REC_IMAGE, 0, 0, 4, 512, "xsave_len 832 differs from the image's xsave_size 512" },
	{ REC_IMAGE, 0, 0, 4, 20000, "xsave_size 20000 above 16384" },
	{ REC_IMAGE, 0, 12, 8, 64 * PAGE + 1, "pages_size 262145 not page aligned" },
	{ REC_IMAGE, 0, 28, 4, 3, "expected a PROC record, found END" },
	{ REC_IMAGE, 0, 28, 4, 0x7fffffff, "nr_procs 2147483647 above 4096" },
	{ REC_IMAGE, 0, 32, 4, 0x10000000, "nr_shmem 268435456 more than the manifest holds" },
	{ REC_SIGINFO, 0, 0, 4, 65, "shared_pending 0: signo 65 not in 1..64" },
	{ REC_SIGINFO, 1, 0, 4, 0, "thread 1 (tid 3): pending 0: signo 0 not in 1..64" },
	{ REC_FD, 1, 0, 4, 0, "fd entry 1: fd 0 not above the previous fd 0" },
	{ REC_FD, 0, 0, 4, 0xffffffff, "fd -1 negative" },
	{ REC_FD, 1, 4, 4, 77, "fd entry 1: file 77 not below nr_files 19" },
	{ REC_FD, 1, 8, 4, 2, "cloexec 2 not 0 or 1" },
	{ REC_FILE, 0, 0, 4, 99, "file 0: FILE record has 20 trailing bytes" },
	{ REC_FILE, 1, 0, 4, 99, "file 1: kind 99 unknown" },
	{ REC_FILE, 0, 4, 4, 0100, "file 0: flags 0100 has unknown bits" },
	{ REC_FILE, 0, 20, 4, 9, "file 0: owner 9 not in the tree" },
	{ REC_FILE, 0, 24, 4, 70, "file 0: sig 70 not in 0..64" },
	{ REC_FILE, 0, 28, 4, 0, "file 0: peer 0 not another file" },
	{ REC_FILE, 0, 40, 4, 5000, "file 0: path: length 5000 not below 4096" },
	{ REC_FILE, 0, 44, 1, 'v', "file 0: path \"vvar/log/app.log\" not absolute" },
	{ REC_FILE, 1, 44, 1, 'x', "file 1: device path \"xdev/null\" not" },
	{ REC_FILE, 3, 28, 4, 4, "file 3: peer for a kind without one" },
	{ REC_FILE, 5, 28, 4, CR_FILE_NONE, "file 5: peer 4294967295 does not match state 3" },
	{ REC_FDATA, 0, 4, 8, 10, "file 2: data 0: FDATA record has 1 trailing bytes" },
	{ REC_FDATA, 0, 4, 8, 1u << 30, "FDATA of 1073741824 bytes, above" },
	{ REC_FDATA, 0, 0, 4, 1, "file 2: data 0: flags 0x1 unknown" },
	{ REC_FENT, 0, 4, 4, 0x08000000, "file 7: epoll entry 0: bad fd, events or path" },
	{ REC_FENT, 1, 0, 4, 0, "file 7: entry 1: 0 not above the previous one" },
	{ REC_FENT, 2, 0, 4, 0, "inotify watch 0: bad wd" },
	{ REC_IMAGE, 0, 36, 4, 1u << 21, "nr_files 2097152 above" },
	{ REC_RLIMITS, 0, 0, 8, 201, "rlimit 0 (CPU): cur 201 above max 200" },
	{ REC_CREDS, 0, 80, 4, 65, "nr_groups 65 above 64" },
	{ REC_CREDS, 0, 72, 4, 2, "no_new_privs 2 not 0 or 1" },
	{ REC_MM, 0, 8, 8, 0x3ff000, "mm: a start above its end" },
	{ REC_AUXV, 0, 0, 4, 5, "AUXV record has 8 trailing bytes" },
	{ REC_AUXV, 0, 0, 4, 200, "nr_auxv 200 above 128" },
	{ REC_SIGACTIONS, 0, 32 * (SIGKILL - 1), 8, 0x401000, "SIGKILL/SIGSTOP" },
	{ REC_TIMER, 1, 16, 4, 2, "timer 1: notify_tid 2 not a thread of it" },
	{ REC_TIMER, 1, 0, 4, 0, "timer id 0 used twice" },
	{ REC_TIMER, 0, 8, 4, 7, "timer 0: notify 7 unknown" },
	{ REC_TIMER, 0, 12, 4, 70, "timer 0: signo 70 not in 1..64" },
	{ REC_PROC, 0, 62 + 48, 4, 1000, "nr_timers 1000 more than the manifest holds" },
	{ REC_THREAD, 0, 20 + 27 * 8 + 68, 4, 3, "expected a SIGINFO record, found THREAD" },
	{ REC_END, 0, -8, 4, 0x77, "unknown record type 0x77" },
	{ REC_END, 0, -4, 4, 1, "END record (type 0x13) of 1 bytes, only 0 left" },
	{ 0, 0, 8, 4, 1, "format version 1, this build reads 7" },
	{ REC_IMAGE, 0, 56, 1, 'W', "box name 'Web-1' invalid" },
	{ REC_IMAGE, 0, 56, 1, '-', "box name '-eb-1' invalid" },
	{ REC_IMAGE, 0, 52, 4, 6, "box: length 6 runs past its record" },
	{ REC_LOCKS, 0, 4, 4, 5, "lock 0: fd 5 is not one of the process's" },
	{ REC_LOCKS, 0, 8, 4, 4, "lock 0: kind 4 unknown" },
	{ REC_LOCKS, 0, 4 + 28 + 8, 4, 2, "lock 1: write 2 not 0 or 1" },
	{ REC_LOCKS, 0, 16, 8, 1, "lock 0: a flock with a range" },
	{ REC_LOCKS, 0, 4 + 56 + 12, 8, 1ull << 63, "lock 2: range" },
	{ REC_LOCKS, 0, 0, 4, 4, "locks 4 more than the manifest holds" },
	{ REC_LOCKS, 0, 0, 4, 5000, "5000 locks, above 4096" },
	{ 0, 0, 12, 4, 1, "header flags 0x1 unknown" },
	{ 0, 0, 0, 1, 'X', "bad magic" },
};

static void test_patches(void)
{
	uint8_t *buf = xcalloc(good_len, 1);
	char what[128];
	size_t n = sizeof(patches) / sizeof(patches[0]);

	for (size_t i = 0; i < n; i++) {
		const struct patch *p = &patches[i];
		size_t at = p->type ? find_record(good, good_len, p->type, p->nth) : 0;

		memcpy(buf, good, good_len);
		le_put(buf + at + p->off, p->value, p->size);
		if (p->type)
			reseal(buf, good_len);
		snprintf(what, sizeof(what), "patch %zu (record %u #%u +%ld)", i,
			 p->type, p->nth, p->off);
		expect_reject(buf, good_len, p->want, what);
		if (i < 3)
			printf("  e.g. %s\n", err_msg());
	}
	free(buf);
	printf("patched fields behind a valid checksum: %zu cases\n", n);
}

/* Spot checks of docs/image-format.md: fields sit at their documented
 * offsets (a round trip cannot see a field order the writer and the reader
 * agree on but the document does not). */
static void test_layout(void)
{
	size_t img = find_record(good, good_len, REC_IMAGE, 0);
	size_t th = find_record(good, good_len, REC_THREAD, 1);
	size_t vma = find_record(good, good_len, REC_VMA, 3);
	size_t fd = find_record(good, good_len, REC_FD, 1);
	size_t file = find_record(good, good_len, REC_FILE, 0);

	if (memcmp(good, "PICOIMG", 8) || le_get(good + 8, 4) != CR_IMAGE_VERSION ||
	    le_get(good + HDR_OFF_LENGTH, 8) != good_len)
		fail("layout: header");
	if (le_get(good + img, 4) != XSAVE_SIZE ||
	    le_get(good + img + 12, 8) != 64 * PAGE ||
	    le_get(good + img + 28, 4) != 2 || le_get(good + img + 32, 4) != 2)
		fail("layout: IMAGE record");
	if (le_get(good + th, 4) != 3 || strcmp((char *)good + th + 4, "worker-3"))
		fail("layout: THREAD tid/comm");
	for (uint64_t i = 0; i < 27; i++)    /* user_regs_struct order */
		if (le_get(good + th + 20 + 8 * i, 8) != 0x3000000 + 0x101 * i)
			fail("layout: THREAD register %u", (unsigned)i);
	if (le_get(good + th + 244, 4) != 32 || le_get(good + th + 304, 4) != 2)
		fail("layout: THREAD rseq_len/nr_pending");
	if (le_get(good + vma, 8) != 0x7f0000010000 ||
	    le_get(good + vma + 24, 4) != CR_VMA_FILE_SHARED ||
	    le_get(good + vma + 40, 4) != 8 || memcmp(good + vma + 44, "/data/db", 8))
		fail("layout: VMA start/kind/path");
	if (le_get(good + fd, 4) != 1 || le_get(good + fd + 4, 4) != F_LOG)
		fail("layout: FD fd/file");
	if (le_get(good + file, 4) != CR_FILE_REG || le_get(good + file + 8, 8) != 1234 ||
	    le_get(good + file + 40, 4) != 16 || memcmp(good + file + 44, "/var/log/app.log", 16))
		fail("layout: FILE kind/pos/path");
}

/* An unknown record with the optional bit is skipped; without it, refused. */
static void test_unknown_records(void)
{
	size_t end = find_record(good, good_len, REC_END, 0) - 8;
	size_t len = good_len + 12;
	uint8_t *buf = xcalloc(len, 1);
	struct cr_image img;

	memcpy(buf, good, end);
	le_put(buf + end, 0x80000042u, 4);
	le_put(buf + end + 4, 4, 4);
	le_put(buf + end + 8, 0xfeedf00d, 4);
	memcpy(buf + end + 12, good + end, good_len - end);
	reseal(buf, len);
	if (cr_image_parse(buf, len, &img))
		fail("optional unknown record not skipped: %s", err_msg());
	else
		cr_image_free(&img);
	le_put(buf + end, 0x42, 4);
	reseal(buf, len);
	expect_reject(buf, len, "unknown record type 0x42", "mandatory unknown");
	free(buf);
}

/* Invalid in-memory images: cr_image_write refuses them, naming the field. */
typedef void (*mutate_fn)(struct cr_image *);

static void m_vma_start(struct cr_image *i) { i->procs[0].vmas[1].start += 8; }
static void m_vma_overlap(struct cr_image *i) { i->procs[0].vmas[1].start = 0x400000; }
static void m_ppid(struct cr_image *i) { i->procs[1].ppid = 7; }
static void m_leader(struct cr_image *i) { i->procs[1].threads[0].tid = 9; }
static void m_xsave(struct cr_image *i) { i->procs[1].threads[0].xsave_len = 64; }
static void m_anon_path(struct cr_image *i) { i->procs[0].vmas[1].path = xstrdup("/x"); }
static void m_no_path(struct cr_image *i) { free(i->procs[0].vmas[0].path); i->procs[0].vmas[0].path = NULL; }
static void m_run_out(struct cr_image *i) { i->procs[0].vmas[1].runs[1].nr_pages = 2; }
static void m_run_file(struct cr_image *i) { i->procs[1].vmas[0].runs[0].file_off = ~0xfffull; }
static void m_signo(struct cr_image *i) { i->procs[0].threads[1].pending[1].raw[0] = 0; }
static void m_rlimit(struct cr_image *i) { i->procs[1].rlimits[3].cur = 300; }
static void m_auxv(struct cr_image *i) { i->procs[0].mm.nr_auxv = 5; }
static void m_fd_order(struct cr_image *i) { i->procs[0].fds[2].fd = 1; }
static void m_fd_file(struct cr_image *i) { i->procs[1].fds[1].file = 99; }
static void m_file_kind(struct cr_image *i) { i->files[4].kind = 42; }
static void m_seals_file(struct cr_image *i) { i->files[F_LOG].reg.seals = 0x2; }
static void m_seals_bits(struct cr_image *i) { i->files[F_UNLINKED].reg.seals = 0x40; }
static void m_pipe_mode(struct cr_image *i) { i->files[4].flags = O_RDWR; }
static void m_unix_type(struct cr_image *i) { i->files[14].un.type = SOCK_RAW; }
static void m_unix_listen(struct cr_image *i) { i->files[14].un.type = SOCK_DGRAM; }
static void m_unix_addr(struct cr_image *i) { i->files[14].laddr.addr[2] = 'r'; }
static void m_unix_shut(struct cr_image *i) { i->files[14].un.shutdown = 4; }
static void m_unix_custody(struct cr_image *i) { i->files[5].un.custody = 7; }
static void m_unix_renamed(struct cr_image *i) { i->files[5].un.name_state = 1; }
static void m_unix_name(struct cr_image *i) { i->files[14].un.name_state = 3; }
static void m_mq_name(struct cr_image *i) { i->files[F_MQUEUE].path[3] = '/'; }
static void m_mq_prio(struct cr_image *i) { i->files[F_MQUEUE].data[0].flags = 40000; }
static void m_mq_size(struct cr_image *i) { i->files[F_MQUEUE].mq.msgsize = 3; }
static void m_unix_peer(struct cr_image *i) { i->files[6].peer = 14; }
static void m_tty_orphan(struct cr_image *i) { i->files[F_PTS].peer = CR_FILE_NONE; }
static void m_tty_index(struct cr_image *i) { i->files[F_PTS].tty.index = 4; }
static void m_tty_line(struct cr_image *i) { i->files[F_PTM].tty.line = 2; }
static void m_tty_sid(struct cr_image *i) { i->files[F_PTS].tty.sid = 2; }
static void m_tty_fg(struct cr_image *i) { i->files[F_PTS].tty.fg_pgrp = 77; }
static void m_tty_big(struct cr_image *i) { i->files[F_PTM].tty.index = 5000; }
static void m_tty_two(struct cr_image *i) { i->files[F_PTS].tty.master = 1; i->files[F_PTS].peer = CR_FILE_NONE; i->files[F_PTS].tty.sid = i->files[F_PTS].tty.fg_pgrp = 0; i->files[F_PTS].tty.exclusive = 0; }
static void m_nl_proto(struct cr_image *i) { i->files[15].nl.protocol = 9; }
static void m_nl_opts(struct cr_image *i) { i->files[15].nl.opts = 1; }
static void m_nl_type(struct cr_image *i) { i->files[15].nl.type = SOCK_STREAM; }
static void m_in_pktinfo(struct cr_image *i) { to_udp(i, AF_INET); i->files[F_NULL].inet.opts.pktinfo = 2; }
static void m_in_tos(struct cr_image *i) { to_udp(i, AF_INET); i->files[F_NULL].inet.opts.tos = 256; }
static void m_in_ttl(struct cr_image *i) { to_udp(i, AF_INET); i->files[F_NULL].inet.opts.ttl = 0; }
static void m_in_pmtu(struct cr_image *i) { to_udp(i, AF_INET); i->files[F_NULL].inet.opts.mtu_discover = 6; }
static void m_in_tsns(struct cr_image *i) { to_udp(i, AF_INET6); i->files[F_NULL].inet.opts.timestampns = 3; }
static void m_in_v6on4(struct cr_image *i) { to_udp(i, AF_INET); i->files[F_NULL].inet.opts.v6_recvpktinfo = 1; }
static void m_in_hops(struct cr_image *i) { to_udp(i, AF_INET6); i->files[F_NULL].inet.opts.v6_hops = 256; }
static void m_in_prio(struct cr_image *i) { to_udp(i, AF_INET); i->files[F_NULL].inet.opts.priority = 1u << 31; }
static void m_epoll_path(struct cr_image *i) { i->files[7].ents[0].path = xstrdup("/x"); }
static void m_timerfd(struct cr_image *i) { i->files[9].tfd.value_ns = -1; }
static void m_eventfd(struct cr_image *i) { i->files[8].efd.semaphore = 2; }
static void m_dev_data(struct cr_image *i) { i->files[1].nr_data = 1; i->files[1].data = i->files[2].data; }
static void m_dev_data_undo(struct cr_image *i) { i->files[1].nr_data = 0; i->files[1].data = NULL; }
static void m_groups(struct cr_image *i) { i->procs[0].creds.nr_groups = 65; }
static void m_init(struct cr_image *i) { i->procs[0].pid = 4; i->procs[0].threads[0].tid = 4; }
static void m_dup_pid(struct cr_image *i) { i->procs[1].pid = 1; i->procs[1].threads[0].tid = 1; }
static void m_dup_tid(struct cr_image *i) { i->procs[0].threads[1].tid = 2; }
static void m_comm(struct cr_image *i) { memset(i->procs[1].comm, 'a', CR_COMM_LEN); }
static void m_shmem(struct cr_image *i) { i->shmem[1].size = 100; }
static void m_segsz(struct cr_image *i) { i->shmem[1].segsz = 56; }
static void m_removed_key(struct cr_image *i) { i->shmem[1].sysv = CR_SYSV_SHM_REMOVED; }
static void m_sem_val(struct cr_image *i) { i->sems[0].vals[1] = 40000; }
static void m_msg_type(struct cr_image *i) { i->msgqs[0].msgs[1].mtype = 0; }
static void m_ipc_ns(struct cr_image *i) { i->ipc_ns = 0; }
static void m_cwd(struct cr_image *i) { i->procs[1].cwd[0] = 's'; }
static void m_no_threads(struct cr_image *i) { i->procs[1].nr_threads = 0; }
static void m_no_threads_undo(struct cr_image *i) { i->procs[1].nr_threads = 1; }
static void m_vvar_runs(struct cr_image *i) { i->procs[0].vmas[5].nr_runs = 1; i->procs[0].vmas[5].runs = i->procs[0].vmas[1].runs; }
static void m_vvar_runs_undo(struct cr_image *i) { i->procs[0].vmas[5].nr_runs = 0; i->procs[0].vmas[5].runs = NULL; }
static void m_null_array(struct cr_image *i) { i->procs[1].nr_fds = 3; free(i->procs[1].fds); i->procs[1].fds = NULL; }

static const struct {
	mutate_fn mutate, undo;      /* undo: restore what free() needs */
	const char *want;
} mutations[] = {
	{ m_vma_start, NULL, "write manifest: invalid image: proc 0 (pid 1): vma 1: start 0x600008 not page aligned" },
	{ m_vma_overlap, NULL, "vma 1: start 0x400000 overlaps or precedes the previous vma" },
	{ m_ppid, NULL, "proc 1 (pid 2): ppid 7 is not an earlier proc" },
	{ m_leader, NULL, "proc 1 (pid 2): threads[0].tid 9 is not the pid" },
	{ m_xsave, NULL, "thread 0 (tid 2): xsave_len 64 differs" },
	{ m_anon_path, NULL, "vma 1: path set on a vma of kind 1" },
	{ m_no_path, NULL, "vma 0: path missing" },
	{ m_run_out, NULL, "vma 1: run 1: [0x603000, 0x605000) outside [0x600000, 0x604000)" },
	{ m_run_file, NULL, "proc 1 (pid 2): vma 0: run 0: file_off 0xfffffffffffff000 + 12288 bytes past" },
	{ m_signo, NULL, "thread 1 (tid 3): pending 1: signo 0 not in 1..64" },
	{ m_rlimit, NULL, "rlimit 3 (STACK): cur 300 above max 200" },
	{ m_auxv, NULL, "mm: nr_auxv 5 odd" },
	{ m_fd_order, NULL, "fd entry 2: fd 1 not above the previous fd 1" },
	{ m_fd_file, NULL, "proc 1 (pid 2): fd entry 1: file 99 not below nr_files 19" },
	{ m_file_kind, NULL, "file 4: kind 42 unknown" },
	{ m_seals_file, NULL, "file 0: seals on a file that is not a memfd" },
	{ m_seals_bits, NULL, "file 2: seals 0x40 beyond 0x3f" },
	{ m_pipe_mode, NULL, "file 4: pipe end neither read-only nor write-only" },
	{ m_unix_type, NULL, "file 14: socket type 3 unknown" },
	{ m_unix_listen, NULL, "file 14: a listening datagram socket" },
	{ m_unix_shut, NULL, "file 14: shutdown 0x4 has unknown bits" },
	{ m_unix_custody, NULL, "file 5: custody tag on a unix socket that is not a bound listener" },
	{ m_unix_renamed, NULL, "file 5: name_state 1 without a path name" },
	{ m_mq_name, NULL, "file 16: queue name \"/qu/ue\" not /NAME" },
	{ m_mq_prio, NULL, "file 16: data 0: flags 0x9c40 unknown" },
	{ m_mq_size, NULL, "file 16: message 0: 6 bytes, above msgsize 3" },
	{ m_unix_name, NULL, "file 14: name_state 3 unknown" },
	{ m_unix_peer, NULL, "file 5: stream peer 6 not connected back" },
	{ m_tty_orphan, NULL, "file 18: pty slave 3 without its master" },
	{ m_tty_index, NULL, "file 18: pty slave 4 without its master" },
	{ m_tty_line, NULL, "file 17: line discipline 2 (only N_TTY, 0)" },
	{ m_tty_sid, NULL, "file 18: tty session 2 is no session leader of the tree" },
	{ m_tty_fg, NULL, "file 18: tty foreground group 77 is not in session 1" },
	{ m_tty_big, NULL, "file 17: pty index 5000 above 4095" },
	{ m_tty_two, NULL, "file 17: two masters of pty 3" },
	{ m_nl_proto, NULL, "file 15: netlink protocol 9 not supported" },
	{ m_nl_opts, NULL, "file 15: netlink options 0x1 have unknown bits" },
	{ m_nl_type, NULL, "file 15: netlink socket type 1 not RAW or DGRAM" },
	{ m_in_pktinfo, NULL, "file 1: socket option IP_PKTINFO = 2 out of range (max 1)" },
	{ m_in_tos, NULL, "file 1: socket option IP_TOS = 256 out of range (max 255)" },
	{ m_in_ttl, NULL, "file 1: socket option IP_TTL = 0 out of range" },
	{ m_in_pmtu, NULL, "file 1: socket option IP_MTU_DISCOVER = 6 out of range (max 5)" },
	{ m_in_tsns, NULL, "file 1: socket option SO_TIMESTAMPNS = 3 out of range (max 1)" },
	{ m_in_v6on4, NULL, "file 1: socket option IPV6_RECVPKTINFO on an IPv4 socket" },
	{ m_in_hops, NULL, "file 1: socket option IPV6_UNICAST_HOPS = 256 out of range (max 255)" },
	{ m_in_prio, NULL, "file 1: socket option SO_PRIORITY = 2147483648 out of range" },
	{ m_unix_addr, NULL, "file 14: laddr: path name not absolute" },
	{ m_epoll_path, NULL, "file 7: epoll entry 0: bad fd, events or path" },
	{ m_timerfd, NULL, "file 9: timerfd clock, value or interval out of range" },
	{ m_eventfd, NULL, "file 8: eventfd semaphore or count out of range" },
	{ m_dev_data, m_dev_data_undo, "file 1: nr_data 1 for a kind without data" },
	{ m_groups, NULL, "creds: nr_groups 65 above 64" },
	{ m_init, NULL, "write manifest: invalid image: proc 0 is pid 4 ppid 0, not pid 1 ppid 0" },
	{ m_dup_pid, NULL, "pid 1 used twice (procs 0 and 1)" },
	{ m_dup_tid, NULL, "tid 2 used twice" },
	{ m_comm, NULL, "proc 1 (pid 2): comm not NUL-terminated" },
	{ m_shmem, NULL, "shmem 1: size 0x64 not page aligned" },
	{ m_segsz, NULL, "shmem 1: SysV segsz 56 does not round up to size 16384" },
	{ m_removed_key, NULL, "shmem 1: a removed SysV segment with key 0x00a7833e" },
	{ m_sem_val, NULL, "sem 0: semaphore 1: value 40000 above 32767" },
	{ m_msg_type, NULL, "msgq 0: message 1: mtype 0 or length 1 out of range" },
	{ m_ipc_ns, NULL, "shmem 1: sysv 1 (ipc_ns 0)" },
	{ m_cwd, NULL, "cwd \"ssrv/www\" not absolute" },
	{ m_no_threads, m_no_threads_undo, "proc 1 (pid 2): no threads" },
	{ m_vvar_runs, m_vvar_runs_undo, "vma 5: 1 page runs on a vma of kind 5" },
	{ m_null_array, NULL, "nr_fds is 3 but fds is NULL" },
};

static void test_invalid_writes(void)
{
	size_t n = sizeof(mutations) / sizeof(mutations[0]);
	char dir[256];

	subdir(dir, sizeof(dir), "bad");
	for (size_t i = 0; i < n; i++) {
		struct cr_image img;

		make_image(&img);
		mutations[i].mutate(&img);
		err_clear();
		if (cr_image_write(&img, dir) == 0)
			fail("mutation %zu: invalid image written", i);
		else if (!strstr(err_msg(), mutations[i].want))
			fail("mutation %zu: message \"%s\" lacks \"%s\"", i,
			     err_msg(), mutations[i].want);
		if (mutations[i].undo)
			mutations[i].undo(&img);
		cr_image_free(&img);
		if (exists(dir, "manifest") || exists(dir, "manifest.tmp"))
			fail("mutation %zu: a manifest was left behind", i);
	}
	printf("invalid in-memory images refused by the writer: %zu cases\n", n);
}

static void test_missing(void)
{
	char dir[256];
	struct cr_image img;

	subdir(dir, sizeof(dir), "empty");
	memset(&img, 0x5a, sizeof(img));
	if (cr_image_read(dir, &img) == 0) {
		fail("missing manifest accepted");
		return;
	}
	if (!zeroed(&img))
		fail("missing manifest: image not zeroed");
	if (!strstr(err_msg(), "/empty/manifest") ||
	    !strstr(err_msg(), strerror(ENOENT)))
		fail("missing manifest message: %s", err_msg());
	printf("missing: %s\n", err_msg());
	make_image(&img);
	if (cr_image_write(&img, "/nonexistent/dir") == 0 ||
	    !strstr(err_msg(), "/nonexistent/dir/manifest.tmp"))
		fail("write to a missing directory: %s", err_msg());
	cr_image_free(&img);
}

static int write_seed(const char *dir)
{
	struct cr_image img;
	int rc;

	char sub[4096];

	make_image(&img);
	rc = cr_image_write(&img, dir);
	cr_image_free(&img);
	if (rc == 0) {    /* a second seed: a UDP socket's multicast state */
		snprintf(sub, sizeof(sub), "%s/mcast", dir);
		make_image(&img);
		to_mcast(&img, 239);
		rc = mkdir(sub, 0755) < 0 && errno != EEXIST ? -1 : cr_image_write(&img, sub);
		cr_image_free(&img);
	}
	if (rc)
		fprintf(stderr, "u-image: %s\n", err_msg());
	return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "--seed"))
		return write_seed(argv[2]);
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 2;
	}
	test_roundtrip();
	test_inet_opts();
	test_inet_mcast();
	test_layout();
	test_flips();
	test_truncations();
	test_patches();
	test_unknown_records();
	test_invalid_writes();
	test_missing();
	free(good);
	if (!getenv("U_IMAGE_KEEP")) {
		char cmd[64];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
		if (system(cmd))
			fprintf(stderr, "could not remove %s\n", tmpdir);
	}
	if (failures) {
		fprintf(stderr, "u-image: %d failure(s)\n", failures);
		return 1;
	}
	printf("u-image: all passed\n");
	return 0;
}
