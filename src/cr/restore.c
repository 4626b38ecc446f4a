/*
 * restore.c - cr_restore(): bring a checkpointed tree back to life.
 *
 * The keeper process (keeper.c) runs restore_tree_from_image(): it loads
 * and checks the image, plans service fds and the scratch address, builds
 * the shared memory objects, clones the namespace init (which forks the
 * rest, see restore_tree.c), waits for every process to report, seizes
 * them, rebuilds each one (restore_mm.c, restore_task.c) and detaches.
 * Any failure kills the new namespace: nothing is left half-restored.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/sched.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <xxhash.h>

#include "box/box.h"
#include "common/err.h"
#include "common/init_path.h"
#include "common/io.h"
#include "cr/cr.h"
#include "cr/custody_files.h"
#include "cr/keeper.h"
#include "mem/lazy.h"
#include "cr/ptrace.h"
#include "cr/restore_ctx.h"
#include "cr/sysv_ipc.h"
#include "cr/file_owners.h"
#include "cr/file_tty.h"
#include "cr/rootpath.h"
#include "common/timing.h"

#define REPORT_TIMEOUT_MS 10000
#define SVC_MIN_BASE 512
#define SVC_EARLY_TOP 1023

static int check_cpu(const struct cr_image *img)
{
	uint32_t size;
	uint64_t features;

	if (cpu_xsave_layout(&size, &features) < 0)
		return -1;
	if (img->xsave_size != size || (img->xfeatures & ~features))
		return err_set("image XSAVE layout (%u bytes, features 0x%llx) differs from "
			       "this CPU's (%u bytes, features 0x%llx)", img->xsave_size,
			       (unsigned long long)img->xfeatures, size,
			       (unsigned long long)features);
	return 0;
}

static int map_pages(struct rst_ctx *c)
{
	char path[4200];
	struct stat st;
	int fd;

	snprintf(path, sizeof(path), "%s/pages", c->dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_sys("open %s", path);
	if (fstat(fd, &st) < 0) {
		close(fd);
		return err_sys("stat %s", path);
	}
	if ((uint64_t)st.st_size != c->img.pages_size) {
		close(fd);
		return err_set("%s is %lld bytes, the manifest says %llu (truncated image?)",
			       path, (long long)st.st_size,
			       (unsigned long long)c->img.pages_size);
	}
	c->pages_len = (uint64_t)st.st_size;
	if (c->pages_len) {
		void *m = mmap(NULL, c->pages_len, PROT_READ, MAP_PRIVATE, fd, 0);

		if (m == MAP_FAILED) {
			close(fd);
			return err_sys("mmap %s", path);
		}
		c->pages = m;
	}
	close(fd);
	return 0;
}

/* The pages' checksum is computed on another CPU while the restorer
 * rebuilds the address spaces (the tree is only let go once it matched).
 * It starts after the fork: a thread running while the tree was forked
 * slowed the fork by 8-15 ms. */
static void *hash_pages(void *arg)
{
	struct rst_ctx *c = arg;

	c->pages_ok = XXH3_64bits(c->pages, c->pages_len) == c->img.pages_hash;
	return NULL;
}

static void start_pages_check(struct rst_ctx *c)
{
	pthread_attr_t attr;

	/* From the store every chunk is checked (SHA-256) as it comes in; an
	 * incremental dump (pages_hash 0) leaves the check to those too. */
	if (c->src || c->img.pages_hash == 0) {
		c->pages_ok = 1;
		return;
	}
	c->pages_ok = 0;
	if (pthread_attr_init(&attr) == 0) {
		if (CPU_COUNT(&c->helpers) > 0)
			pthread_attr_setaffinity_np(&attr, sizeof(c->helpers), &c->helpers);
		c->hash_running = pthread_create(&c->hash_thread, &attr, hash_pages, c) == 0;
		pthread_attr_destroy(&attr);
	}
	if (!c->hash_running)
		hash_pages(c);
}

static int finish_pages_check(struct rst_ctx *c)
{
	if (c->hash_running)
		pthread_join(c->hash_thread, NULL);
	c->hash_running = 0;
	if (!c->pages_ok)
		return err_set("%s/pages does not match its checksum (corrupted image)", c->dir);
	return 0;
}

static int check_file_unchanged(int root, const struct cr_vma *v)
{
	struct stat st;

	if (rst_stat(root, v->path, &st) < 0)
		return err_sys("mapped file %s", v->path);
	if ((uint64_t)st.st_size != v->file_size ||
	    (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec != v->file_mtime_ns)
		return err_set("mapped file %s changed since the dump", v->path);
	return 0;
}

/* The files each process's mappings need, opened as service fds. */
static int plan_files(const struct rst_ctx *c, struct rst_proc *rp)
{
	const struct cr_proc *p = rp->p;

	for (uint32_t i = 0; i < p->nr_vmas; i++) {
		const struct cr_vma *v = &p->vmas[i];

		if (v->kind != CR_VMA_FILE && v->kind != CR_VMA_FILE_SHARED)
			continue;
		if (check_file_unchanged(c->box_root, v) < 0)
			return err_wrap("pid %d", p->pid);
		if (rst_add_file(rp, v->path, v->kind == CR_VMA_FILE_SHARED &&
			     (v->prot & PROT_WRITE)) < 0)
			return -1;
	}
	if (!p->mm.exe_path)
		return err_set("pid %d: no executable path in the image", p->pid);
	rp->exe_file = rst_add_file(rp, p->mm.exe_path, 0);
	return rp->exe_file < 0 ? -1 : 0;
}

static int range_is_free(const struct rst_ctx *c, uint64_t lo, uint64_t hi)
{
	char line[512];
	FILE *f;

	for (uint32_t i = 0; i < c->img.nr_procs; i++) {
		const struct cr_proc *p = &c->img.procs[i];

		for (uint32_t k = 0; k < p->nr_vmas; k++)
			if (p->vmas[k].start < hi && lo < p->vmas[k].end)
				return 0;
	}
	f = fopen("/proc/self/maps", "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long s, e;

		if (sscanf(line, "%llx-%llx", &s, &e) == 2 && s < hi && lo < e) {
			fclose(f);
			return 0;
		}
	}
	fclose(f);
	return 1;
}

static int plan_scratch(struct rst_ctx *c)
{
	for (uint64_t a = 0x100000000ull; a < 0x7f0000000000ull; a += 0x40000000ull) {
		if (range_is_free(c, a, a + INJ_SCRATCH_SIZE)) {
			c->scratch = a;
			return 0;
		}
	}
	return err_set("no free address for the scratch area");
}

static int count_cpus(struct rst_ctx *c)
{
	if (sched_getaffinity(0, sizeof(c->cpus), &c->cpus) < 0) {
		CPU_ZERO(&c->cpus);
		return 1;
	}
	return CPU_COUNT(&c->cpus) > 0 ? CPU_COUNT(&c->cpus) : 1;
}

/* An injected call costs about 9 us with tracer and tracee on one CPU and
 * 16 us across CPUs: the restorer pins itself to its CPU before the tree
 * is forked (so the tree inherits it) and lets both go at the end. */
static void pin_start(struct rst_ctx *c)
{
	cpu_set_t one;

	c->helpers = c->cpus;
	c->pin_cpu = CPU_COUNT(&c->cpus) > 1 ? sched_getcpu() : -1;
	if (c->pin_cpu < 0)
		return;
	CPU_CLR(c->pin_cpu, &c->helpers);
	if (CPU_COUNT(&c->helpers) == 0)
		c->helpers = c->cpus;
	CPU_ZERO(&one);
	CPU_SET(c->pin_cpu, &one);
	if (sched_setaffinity(0, sizeof(one), &one) < 0)
		c->pin_cpu = -1;
}

static void pin_end(struct rst_ctx *c)
{
	if (c->pin_cpu < 0)
		return;
	for (uint32_t i = 0; i < c->img.nr_procs; i++) {
		const struct rst_proc *rp = &c->procs[i];

		for (uint32_t k = 0; rp->seized && k < rp->p->nr_threads; k++)
			if (rp->host_tids[k])
				sched_setaffinity(rp->host_tids[k], sizeof(c->cpus), &c->cpus);
	}
	sched_setaffinity(0, sizeof(c->cpus), &c->cpus);
	c->pin_cpu = -1;
}

static int int_cmp(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

/* The service fds go in the first gap of the tree's fd numbers, from
 * SVC_MIN_BASE on, that holds them all (count of them): an app using fds
 * near its limit leaves no room above its highest fd.  -1: out of memory. */
static int service_fds_base(const struct rst_ctx *c, int count)
{
	size_t n = 0, k = 0;
	int *fds, base = SVC_MIN_BASE;

	for (uint32_t i = 0; i < c->img.nr_procs; i++)
		n += c->img.procs[i].zombie ? 0 : c->img.procs[i].nr_fds;
	fds = malloc((n ? n : 1) * sizeof(*fds));
	if (!fds)
		return err_set("out of memory");
	for (uint32_t i = 0; i < c->img.nr_procs; i++)
		for (uint32_t j = 0; !c->img.procs[i].zombie && j < c->img.procs[i].nr_fds; j++)
			fds[k++] = c->img.procs[i].fds[j].fd;
	qsort(fds, n, sizeof(*fds), int_cmp);
	for (size_t i = 0; i < n; i++) {
		if (fds[i] < base)
			continue;
		if (fds[i] >= base + count)
			break;
		base = fds[i] + 1;
	}
	free(fds);
	return base;
}

static int place_service_fds(struct rst_ctx *c, uint32_t max_files)
{
	int base = service_fds_base(c, 1 + (int)c->img.nr_shmem + (int)c->img.nr_files +
					   (int)max_files);

	if (base < 0)
		return -1;
	c->svc_base = base;
	c->svc_end = svc_file_fd(c, max_files);
	return 0;
}

/* Growing the fd table while another thread shares it waits for an RCU
 * grace period (expand_fdtable: synchronize_rcu, 10-15 ms here), and the
 * service fds go above every fd the restorer has.  So the table is grown
 * to their likely top first, before the restore starts its threads (the
 * box's cgroup warmer, the pages' check).  Only a hint: a table still too
 * small grows later, as before. */
static void grow_fd_table_to(int top)
{
	struct rlimit nofile;
	int fd, big;

	if (getrlimit(RLIMIT_NOFILE, &nofile) < 0 || (uint64_t)top >= nofile.rlim_max)
		return;   /* plan() says why */
	if ((uint64_t)top >= nofile.rlim_cur) {   /* plan() raises it too */
		nofile.rlim_cur = nofile.rlim_max;
		setrlimit(RLIMIT_NOFILE, &nofile);
	}
	fd = open("/", O_PATH | O_CLOEXEC);
	if (fd < 0)
		return;
	big = fcntl(fd, F_DUPFD_CLOEXEC, top);
	if (big >= 0)
		close(big);
	close(fd);
}

static void grow_fd_table(const struct rst_ctx *c)
{
	uint32_t most = 0;
	int count, base;

	for (uint32_t i = 0; i < c->img.nr_procs; i++)
		if (c->img.procs[i].nr_fds > most)
			most = c->img.procs[i].nr_fds;
	count = 1 + (int)c->img.nr_shmem + (int)c->img.nr_files + (int)most + 16;
	base = service_fds_base(c, count);
	err_clear();
	if (base >= 0)
		grow_fd_table_to(base + count);
}

static int plan(struct rst_ctx *c)
{
	struct rlimit nofile;
	uint32_t max_files = 0;

	c->procs = calloc(c->img.nr_procs, sizeof(*c->procs));
	if (!c->procs)
		return err_set("out of memory");
	for (uint32_t i = 0; i < c->img.nr_procs; i++) {
		struct rst_proc *rp = &c->procs[i];

		rp->p = &c->img.procs[i];
		rp->inj.mem_fd = -1;
		if (rp->p->zombie)
			continue;
		c->nr_live++;
		rp->host_tids = calloc(rp->p->nr_threads, sizeof(pid_t));
		if (!rp->host_tids || plan_files(c, rp) < 0)
			return -1;
	}
	if (rst_plan_late(c) < 0)
		return -1;
	for (uint32_t i = 0; i < c->img.nr_procs; i++)
		if (c->procs[i].nr_files > max_files)
			max_files = c->procs[i].nr_files;
	c->nr_cpus = count_cpus(c);
	if (place_service_fds(c, max_files) < 0)
		return -1;
	/* Service fds may sit above the app's own limit until they close. */
	if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
		nofile.rlim_cur = nofile.rlim_max;
		setrlimit(RLIMIT_NOFILE, &nofile);
	}
	if (getrlimit(RLIMIT_NOFILE, &nofile) < 0 ||
	    (uint64_t)svc_file_fd(c, max_files) >= nofile.rlim_cur)
		return err_set("fd %d needed for restoring exceeds RLIMIT_NOFILE",
			       svc_file_fd(c, max_files));
	return plan_scratch(c);
}

/* The init the image's tree ran, put back among the box dir's copies if
 * this machine never had that build (init_path.h). */
static int restore_init(const struct rst_ctx *c)
{
	char path[4200];

	snprintf(path, sizeof(path), "%s/" BOX_IMAGE_INIT, c->dir);
	if (init_copy_restore(c->box->cfg.dir, c->img.procs[0].mm.exe_path, path) < 0)
		return err_wrap("restore the tree's init");
	return 0;
}

/* The tree's SysV objects in a new IPC namespace: a boxed tree's is owned
 * by the box's user namespace and keeps the ids as the box sees them. */
static int make_sysv(struct rst_ctx *c)
{
	int userns = -1, rc;

	if (c->box && (userns = box_userns_fd(c->box)) < 0)
		return -1;
	rc = sysv_restore(&c->img, c->pages, userns, &c->ipc_ns_fd, c->shmem_fds);
	if (userns >= 0)
		close(userns);
	return rc;
}

/* The path of the tmpfs file (a POSIX shm object, say) behind shared
 * object i, as the tree sees it; NULL for an anonymous one. */
static const char *shmem_path(const struct cr_image *img, uint32_t i)
{
	for (uint32_t n = 0; n < img->nr_procs; n++)
		for (uint32_t k = 0; k < img->procs[n].nr_vmas; k++) {
			const struct cr_vma *v = &img->procs[n].vmas[k];

			if (v->kind == CR_VMA_SHMEM && v->shmem_id == i && v->path)
				return v->path;
		}
	return NULL;
}

/* A shared object that is a tmpfs file still there (the box kept, or its
 * /dev/shm put back: box.c) is mapped from that file, which holds its
 * content, so that whoever opens it by name later shares it with the
 * tree; else (-1, no error) it is made anew from the image. */
static int open_shmem_file(const struct rst_ctx *c, uint32_t i)
{
	const char *path = shmem_path(&c->img, i);
	struct statfs fs;
	struct stat st;
	int fd;

	if (!path)
		return -1;
	fd = rst_open(c->box_root, path, O_RDWR | O_NOFOLLOW | O_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || fstatfs(fd, &fs) < 0 ||
	    fs.f_type != TMPFS_MAGIC || (uint64_t)st.st_size + CR_PAGE_SIZE - 1 <
	    c->img.shmem[i].size) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The name of a memfd the tree holds open as shared object i (its fd
 * opens the object again: file_reg.c), or a name of ours. */
static const char *shmem_memfd_name(const struct cr_image *img, uint32_t i)
{
	for (uint32_t k = 0; k < img->nr_files; k++) {
		const struct cr_file *f = &img->files[k];

		if (f->kind == CR_FILE_REG && f->reg.unlinked == CR_REG_IN_SHMEM &&
		    f->obj == i && !strncmp(f->path, "/memfd:", 7))
			return f->path + 7;
	}
	return "picocenter-shmem";
}

/* A memfd of shared object i, filled from the image; it allows sealing,
 * so that a memfd file of the tree that is this object gets its seals
 * back. */
static int make_shmem_memfd(const struct rst_ctx *c, uint32_t i)
{
	const struct cr_shmem *sh = &c->img.shmem[i];
	int fd = memfd_create(shmem_memfd_name(&c->img, i), MFD_CLOEXEC | MFD_ALLOW_SEALING);

	if (fd < 0)
		return err_sys("shared memory %u: memfd_create", i);
	if (ftruncate(fd, (off_t)sh->size) < 0) {
		err_sys("shared memory %u: resize to %llu", i, (unsigned long long)sh->size);
		close(fd);
		return -1;
	}
	for (uint32_t k = 0; k < sh->nr_runs; k++) {
		const struct cr_page_run *r = &sh->runs[k];

		if (write_full(fd, c->pages + r->file_off, r->nr_pages * CR_PAGE_SIZE,
			       (off_t)r->addr) < 0) {
			err_sys("shared memory %u: write", i);
			close(fd);
			return -1;
		}
	}
	return fd;
}

/* One file per shared object, at its service fd number. */
static int make_shmem(struct rst_ctx *c)
{
	c->shmem_fds = calloc(c->img.nr_shmem + 1, sizeof(int));
	if (!c->shmem_fds)
		return err_set("out of memory");
	for (uint32_t i = 0; i < c->img.nr_shmem; i++)
		c->shmem_fds[i] = -1;
	if (c->img.ipc_ns && sysv_restore_needed(&c->img) && make_sysv(c) < 0)
		return -1;
	for (uint32_t i = 0; i < c->img.nr_shmem; i++) {
		const struct cr_shmem *sh = &c->img.shmem[i];
		int fd;

		if (sh->sysv) {        /* a file of the segment */
			if (dup2(c->shmem_fds[i], svc_shmem_fd(c, i)) < 0)
				return err_sys("SysV shm %d: dup2", sh->perm.id);
			continue;
		}
		fd = open_shmem_file(c, i);
		if (fd < 0 && (fd = make_shmem_memfd(c, i)) < 0)
			return -1;
		c->shmem_fds[i] = fd;
		if (dup2(fd, svc_shmem_fd(c, i)) < 0)
			return err_sys("shared memory %u: dup2", i);
	}
	return 0;
}

static int start_init(struct rst_ctx *c)
{
	struct clone_args args;
	int sv[2], on = 1;
	pid_t child;

	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) < 0)
		return err_sys("report socketpair");
	/* With many files open the pair can land on the report fd itself. */
	if (rst_fd_out_of_svc(c, &sv[0]) < 0 || rst_fd_out_of_svc(c, &sv[1]) < 0) {
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (setsockopt(sv[0], SOL_SOCKET, SO_PASSCRED, &on, sizeof(on)) < 0 ||
	    dup2(sv[1], svc_report_fd(c)) < 0) {
		close(sv[0]);
		close(sv[1]);
		return err_sys("report socket");
	}
	close(sv[1]);
	c->report_fd = sv[0];
	memset(&args, 0, sizeof(args));
	args.flags = CLONE_NEWPID | CLONE_NEWNS;
	if (c->img.ipc_ns && c->ipc_ns_fd <= 0)
		args.flags |= CLONE_NEWIPC;   /* an own namespace, with nothing to put in */
	args.exit_signal = SIGCHLD;
	if (c->box)                  /* in the box's namespaces and cgroups */
		child = box_clone(c->box, c->ipc_ns_fd > 0 ? c->ipc_ns_fd : -1);
	else
		child = (pid_t)syscall(SYS_clone3, &args, sizeof(args));
	if (child < 0)
		return c->box ? -1 : err_sys("clone3 namespace init");
	if (child == 0)
		rst_tree_main(c, 0);
	c->init_host = child;
	close(svc_report_fd(c));
	return 0;
}

static int receive_report(struct rst_ctx *c, struct rst_report *rep, pid_t *host_pid)
{
	char cbuf[CMSG_SPACE(sizeof(struct ucred))];
	struct iovec iov = { rep, sizeof(*rep) };
	struct msghdr mh = { 0 };
	struct cmsghdr *cm;
	ssize_t n;

	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cbuf;
	mh.msg_controllen = sizeof(cbuf);
	n = recvmsg(c->report_fd, &mh, 0);
	if (n != (ssize_t)sizeof(*rep))
		return err_sys("read a report from the restored tree");
	cm = CMSG_FIRSTHDR(&mh);
	if (!cm || cm->cmsg_type != SCM_CREDENTIALS || rep->idx >= c->img.nr_procs)
		return err_set("bad report from the restored tree");
	*host_pid = ((struct ucred *)CMSG_DATA(cm))->pid;
	return 0;
}

static int collect_reports(struct rst_ctx *c)
{
	uint32_t got = 0;
	int waited = 0;

	while (got < c->nr_live) {
		struct pollfd pfd = { c->report_fd, POLLIN, 0 };
		struct rst_report rep;
		pid_t host = 0;
		int st;

		if (poll(&pfd, 1, 100) == 0) {
			if (waitpid(c->init_host, &st, WNOHANG) == c->init_host) {
				c->init_host = 0;
				return err_set("the namespace init died while restoring");
			}
			if ((waited += 100) >= REPORT_TIMEOUT_MS)
				return err_set("restored processes did not report in %d ms",
					       REPORT_TIMEOUT_MS);
			continue;
		}
		if (receive_report(c, &rep, &host) < 0)
			return -1;
		if (rep.status) {
			rep.msg[sizeof(rep.msg) - 1] = '\0';
			return err_set("%s", rep.msg);
		}
		c->procs[rep.idx].host_pid = host;
		c->procs[rep.idx].host_tids[0] = host;
		got++;
	}
	return 0;
}

static int seize_all(struct rst_ctx *c)
{
	for (uint32_t i = 0; i < c->img.nr_procs; i++) {
		struct rst_proc *rp = &c->procs[i];

		if (rp->p->zombie || rp->late)
			continue;   /* a late process is traced from its fork on */
		if (pt_seize_stop(rp->host_pid, PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACECLONE |
				  PTRACE_O_TRACEFORK | PTRACE_O_EXITKILL) < 0)
			return err_wrap("restore pid %d", rp->p->pid);
		rp->seized = 1;
		if (pt_set_sigmask(rp->host_pid, ~0ull) < 0 ||
		    inj_open(&rp->inj, rp->host_pid, c->scratch) < 0)
			return err_wrap("restore pid %d", rp->p->pid);
	}
	return 0;
}

/* Run one phase over every live process. */
static int for_each_live(struct rst_ctx *c, int (*fn)(struct rst_ctx *, struct rst_proc *))
{
	for (uint32_t i = 0; i < c->img.nr_procs; i++)
		if (!c->procs[i].p->zombie && fn(c, &c->procs[i]) < 0)
			return -1;
	return 0;
}

/* A process's memory; a parent forks its late children (restore_fork.c)
 * as soon as its pages are in, so that they inherit them. */
static int restore_memory(struct rst_ctx *c, struct rst_proc *rp)
{
	return restore_mm(c, rp, rst_fork_late_children);
}

static int restore_groups(struct rst_ctx *c)
{
	for (int leaders = 1; leaders >= 0; leaders--)
		for (uint32_t i = 0; i < c->img.nr_procs; i++)
			if (!c->procs[i].p->zombie && !c->procs[i].late &&
			    restore_group(c, &c->procs[i], leaders) < 0)
				return -1;
	return 0;
}

static void detach_all(struct rst_ctx *c)
{
	for (uint32_t i = 0; i < c->img.nr_procs; i++) {
		struct rst_proc *rp = &c->procs[i];

		for (uint32_t k = 0; rp->seized && k < rp->p->nr_threads; k++)
			if (rp->host_tids[k])
				pt_detach(rp->host_tids[k]);
	}
}

static void kill_tree(struct rst_ctx *c)
{
	if (c->init_host > 0) {
		/* Every task still traced reports its exit to us, the init
		 * only once they are reaped: take whatever comes. */
		kill(c->init_host, SIGKILL);
		while (waitpid(-1, NULL, __WALL) > 0 || errno == EINTR)
			;
	}
}

static void free_ctx(struct rst_ctx *c)
{
	mem_server_abort(c->server);
	for (uint32_t i = 0; c->procs && i < c->img.nr_procs; i++) {
		inj_close(&c->procs[i].inj);
		free(c->procs[i].host_tids);
		free(c->procs[i].files);
	}
	free(c->procs);
	for (uint32_t i = 0; c->shmem_fds && i < c->img.nr_shmem; i++) {
		if (c->shmem_fds[i] >= 0)
			close(c->shmem_fds[i]);
		close(svc_shmem_fd(c, i));
	}
	free(c->shmem_fds);
	if (c->ipc_ns_fd > 0)
		close(c->ipc_ns_fd);
	if (c->report_fd > 0)
		close(c->report_fd);
	if (c->hash_running)
		pthread_join(c->hash_thread, NULL);
	if (c->src && !c->src_given)
		c->src->release(c->src->arg);   /* the pages mapping with it */
	else if (c->pages && !c->src)
		munmap((void *)c->pages, c->pages_len);
	cr_image_free(&c->img);
	cr_seccomp_free(&c->seccomp);
}

/* The cgroups the app had made in its box, each process back in its own
 * (box/cgtree.c), while the tree is still stopped. */
static int place_in_cgroups(struct rst_ctx *c)
{
	struct box_pid *pids = calloc(c->img.nr_procs ? c->img.nr_procs : 1, sizeof(*pids));
	int rc;

	if (!pids)
		return err_set("out of memory");
	for (uint32_t i = 0; i < c->img.nr_procs; i++)
		pids[i] = (struct box_pid){ c->img.procs[i].pid,
					    c->procs[i].p->zombie ? -1 : c->procs[i].host_pid };
	rc = box_cgroups_restore(c->box, c->dir, pids, c->img.nr_procs);
	free(pids);
	return rc;
}

static int rebuild(struct rst_ctx *c)
{
	if (collect_reports(c) < 0)
		return -1;
	timing_mark("restore: tree forked");
	if (seize_all(c) < 0 || restore_groups(c) < 0 || tty_set_foreground(c) < 0)
		return -1;
	start_pages_check(c);
	timing_mark("restore: seized");
	if (for_each_live(c, restore_memory) < 0 ||
	    (c->ipc_ns_fd > 0 && sysv_restore_finish(&c->img, c->ipc_ns_fd) < 0))
		return -1;
	timing_mark("restore: memory");
	if (for_each_live(c, restore_threads) < 0 || rst_files_owners(c) < 0 ||
	    for_each_live(c, restore_process_state) < 0 ||
	    for_each_live(c, restore_finish) < 0 || finish_pages_check(c) < 0)
		return -1;
	pin_end(c);
	if (c->verify)
		return 0;      /* the caller kills the tree: it never runs */
	if (c->box && place_in_cgroups(c) < 0)
		return -1;
	detach_all(c);
	timing_mark("restore: threads, state, detach");
	return 0;
}

/* The tree's own seccomp filters, each for a live process of the image. */
static int load_seccomp(struct rst_ctx *c)
{
	if (cr_seccomp_load(c->dir, &c->seccomp) < 0)
		return err_wrap("image %s", c->dir);
	for (uint32_t i = 0; i < c->seccomp.nr_procs; i++) {
		int32_t pid = c->seccomp.procs[i].pid;
		uint32_t j = 0;

		while (j < c->img.nr_procs && (c->img.procs[j].pid != pid || c->img.procs[j].zombie))
			j++;
		if (j == c->img.nr_procs)
			return err_set("image %s: seccomp filters of pid %d, not a live process of it",
				       c->dir, pid);
	}
	return 0;
}

/* What one restore is asked to do. */
struct rst_args {
	const char *dir;
	const char *listeners;   /* custody holder, or NULL */
	int eager;               /* --eager: no lazy memory */
	int verify;              /* trial: never resumed, then killed */
	const char *box_dir;     /* where boxes are, NULL: default */
	const struct cr_restore_opts *opts;  /* as given, or NULL */
	const struct rst_origin *origin;     /* where pages come from (NULL: dir) */
};

/* The image's box: the restorer resolves the image's paths in its root and
 * makes the tree's sockets in its network namespace; the tree's init
 * enters the rest (restore_tree.c). */
static int box_begin(struct rst_ctx *c, const char *box_dir, const struct rst_origin *o)
{
	char path[BOX_PATH_MAX + 16];
	int fd;

	c->box = calloc(1, sizeof(*c->box));
	if (!c->box)
		return err_set("out of memory");
	if (o && o->fetch && box_wants_layer(box_dir, c->img.box) &&
	    o->fetch(c, o->arg, BOX_IMAGE_LAYER) < 0)
		return err_wrap("box %s: its writable layer", c->img.box);
	timing_mark("restore: box layer");
	if (box_for_image(c->dir, box_dir, c->img.box, c->box) < 0 || restore_init(c) < 0)
		return -1;
	file_owners_across(&c->img, c->box, 0);
	if (!c->box_warming)
		c->box_warming = box_warm_cgroups(c->box, &c->box_warmer) == 0;
	err_clear();
	snprintf(path, sizeof(path), "%s/root", c->box->path);
	c->box_root = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (c->box_root < 0)
		return err_sys("box %s: open its root %s", c->img.box, path);
	/* A trial (cr_verify) makes its sockets in a namespace of its own:
	 * the box's holds the live tree's. */
	if (c->verify)
		return 0;
	snprintf(path, sizeof(path), "%s/ns/net", c->box->path);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWNET) < 0) {
		err_sys("box %s: enter its network namespace %s", c->img.box, path);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/* failed: a box this restore made from the image goes (a failed
 * operation leaves nothing behind). */
static void box_end(struct rst_ctx *c, int failed)
{
	if (c->box_warming)
		pthread_join(c->box_warmer, NULL);
	if (c->box_root >= 0)
		close(c->box_root);
	if (failed && c->box && c->box->made) {
		struct err_saved e;

		err_save(&e);
		box_destroy(c->box);
		err_restore(&e);
	}
	free(c->box);
	c->box = NULL;
}

/* The page server outlives the restore: the keeper lets it finish (and
 * unmap the image's pages) once the restore is reported. */
static void finish_server(void *arg)
{
	mem_server_finish(arg);
}

static void hand_over_server(struct rst_ctx *c, struct keeper_after *after)
{
	if (!c->server)
		return;
	mem_server_start_fill(c->server);
	after->fn = finish_server;
	after->arg = c->server;
	c->server = NULL;
	c->pages = NULL;
}

static int restore_start(void *arg, pid_t *pid, struct keeper_after *after)
{
	const struct rst_args *a = arg;
	struct custody_held held = { NULL, 0, -1 };
	struct rst_ctx c;
	int rc;

	memset(&c, 0, sizeof(c));
	c.custody = &held;
	c.pin_cpu = -1;
	c.dir = a->dir;
	c.lazy = !a->eager;
	c.verify = a->verify;
	c.box_root = -1;
	c.fill = 1;
	c.log = a->opts ? a->opts->log : NULL;
	timing_mark("restore: start");
	/* The fd table is grown first (1024 holds most trees' service fds),
	 * before any thread: a restore from the store starts one that fetches
	 * the pages due first while the image is read, and a restore into a
	 * box (a box dir given: the daemon gives one for boxed apps only)
	 * starts its cgroup wait before fetching the image. */
	grow_fd_table_to(SVC_EARLY_TOP);
	if (a->opts && a->opts->box_dir && !a->verify) {
		c.box_warming = box_warm_early(&c.box_warmer) == 0;
		err_clear();
	}
	rc = a->origin ? a->origin->open(&c, a->origin->arg) : 0;
	if (rc == 0)
		rc = cr_image_read(c.dir, &c.img);
	if (rc == 0)
		grow_fd_table(&c);
	if (rc == 0)
		rc = load_seccomp(&c);
	if (rc == 0 && c.img.box)
		rc = box_begin(&c, a->box_dir, a->origin);
	if (rc == 0 && c.img.box)
		rc = box_cgroups_check(c.dir);
	if (rc == 0)
		rc = check_cpu(&c.img);
	if (rc == 0 && a->listeners)
		rc = custody_take_files(a->listeners, &c.img, &held);
	timing_mark("restore: manifest");
	if (rc == 0)
		rc = a->origin ? a->origin->map(&c, a->origin->arg) : map_pages(&c);
	timing_mark("restore: pages mapped");
	if (rc == 0)
		rc = plan(&c);
	if (rc == 0)
		rc = make_shmem(&c);
	if (rc == 0)
		rc = rst_files_open(&c);
	timing_mark("restore: planned, files opened");
	if (rc == 0) {
		pin_start(&c);
		rc = start_init(&c);
	}
	timing_mark("restore: init started");
	if (rc == 0) {
		rc = rebuild(&c);
		if (rc < 0 || c.verify)
			kill_tree(&c);
	}
	if (rc == 0 && !c.verify) {
		*pid = c.init_host;
		if (a->origin && a->origin->stats)
			a->origin->stats(a->origin->arg, after->note, sizeof(after->note));
		hand_over_server(&c, after);
	}
	/* A trial leaves nothing behind: what it created goes as on failure. */
	rst_files_free(&c, rc < 0 || c.verify);
	custody_end_files(&held, rc == 0);
	pin_end(&c);
	box_end(&c, rc < 0);
	free_ctx(&c);
	if (a->origin)
		a->origin->close(&c, a->origin->arg);
	if (rc < 0 && a->origin)
		return -1;   /* cr_restore_from_store names the image */
	return rc < 0 ? err_wrap("restore %s", a->dir) : 0;
}

int cr_restore_with(const char *dir, const struct cr_restore_opts *opts, pid_t *pid)
{
	return rst_restore_from(dir, NULL, opts, pid);
}

int cr_restore(const char *dir, pid_t *pid)
{
	return rst_restore_from(dir, NULL, NULL, pid);
}

int rst_restore_from(const char *dir, const struct rst_origin *o,
		     const struct cr_restore_opts *opts, pid_t *pid)
{
	struct rst_args a = { dir, NULL, 0, 0, NULL, opts, o };

	if (opts) {
		a.listeners = opts->listeners;
		a.eager = opts->eager;
		a.box_dir = opts->box_dir;
	}
	if (o && o->note)
		return keeper_run_note(restore_start, &a, pid, o->note);
	return keeper_run(restore_start, &a, pid);
}

int rst_trial(const char *dir, const char *box_dir)
{
	struct rst_args a = { dir, NULL, 0, 1, box_dir, NULL, NULL };
	struct keeper_after none = { .fn = NULL };   /* a trial hands nothing over */
	pid_t unused;

	return restore_start(&a, &unused, &none);
}
