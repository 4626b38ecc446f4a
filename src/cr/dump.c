/*
 * dump.c - cr_dump(): checkpoint a process tree that is a PID namespace.
 *
 * Order: check the target and DIR, seize every thread (re-listing until no
 * new task appears; tasks that end while the tree is being stopped are
 * dropped and the round repeated), lock the network (netlock.h), read all
 * state, write DIR/pages then DIR/manifest, with --verify restore them
 * into a trial tree that never runs (verify.c), let the caller put the image
 * away (cr_dump_opts.commit: the store), and only then kill the tree.
 * Any failure puts every thread back as it was, detaches, and removes what
 * was written to DIR.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "box/box.h"
#include "common/err.h"
#include "common/init_path.h"
#include "cr/cr.h"
#include "cr/dump_ctx.h"
#include "cr/netns_switch.h"
#include "cr/sysv_ipc.h"
#include "cr/file_owners.h"
#include "cr/files.h"
#include "mem/lazy.h"
#include "cr/custody_files.h"
#include "cr/netlock.h"
#include "cr/proc.h"
#include "cr/ptrace.h"
#include "common/timing.h"

#define SEIZE_ROUNDS 20

static int check_ns_init(pid_t pid)
{
	char nspid[256], *last;

	if (kill(pid, 0) < 0 && errno == ESRCH)
		return err_set("pid %d: no such process", pid);
	if (proc_status_field(pid, "NSpid", nspid, sizeof(nspid)) < 0)
		return -1;
	last = strrchr(nspid, '\t');
	if (!last || strcmp(last + 1, "1") != 0)
		return err_set("pid %d is not the init of a PID namespace (NSpid: %s); "
			       "start trees with `picocenter cr spawn`", pid, nspid);
	return 0;
}

/* DIR must be absent (it is created) or empty.  *created says which. */
static int prepare_dir(const char *dir, int *created)
{
	DIR *d;
	struct dirent *e;

	*created = 0;
	if (mkdir(dir, 0700) == 0) {
		*created = 1;
		return 0;
	}
	if (errno != EEXIST)
		return err_sys("mkdir %s", dir);
	d = opendir(dir);
	if (!d)
		return err_sys("open %s", dir);
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			closedir(d);
			return err_set("%s is not empty: refusing to overwrite an image", dir);
		}
	}
	closedir(d);
	return 0;
}

/* The init the boxed tree runs (its pid 1's executable), with the image:
 * another machine may not have that build's copy (init_path.h). */
static int save_init(const struct dump_ctx *ctx, const struct box *b, const char *dir)
{
	char path[4200];

	snprintf(path, sizeof(path), "%s/" BOX_IMAGE_INIT, dir);
	if (!ctx->img.nr_procs || init_copy_save(b->cfg.dir, ctx->img.procs[0].mm.exe_path,
						 path) < 0)
		return ctx->img.nr_procs ? err_wrap("save the tree's init") : 0;
	return 0;
}

static void cleanup_dir(const char *dir, int created)
{
	static const char *const files[] = { "pages", "manifest", "manifest.tmp",
					     "activeset", "activeset.tmp", ".pages-base",
					     BOX_IMAGE_CONFIG, BOX_IMAGE_CONFIG ".tmp",
					     BOX_IMAGE_LAYER, BOX_IMAGE_SHM, BOX_IMAGE_RUN,
					     BOX_IMAGE_INIT,
					     BOX_IMAGE_CGROUPS,
					     BOX_IMAGE_CGROUPS ".tmp", CR_SECCOMP_FILE };
	char path[4200];

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		unlink(path);
	}
	if (created)
		rmdir(dir);
}

static int is_zombie(pid_t pid, int *zombie)
{
	char state[64];

	if (proc_status_field(pid, "State", state, sizeof(state)) < 0)
		return -1;
	*zombie = state[0] == 'Z' || state[0] == 'X';
	return 0;
}

static int check_not_traced(pid_t tid)
{
	char tracer[32];

	if (proc_status_field(tid, "TracerPid", tracer, sizeof(tracer)) < 0)
		return -1;
	if (atoi(tracer) != 0 && atoi(tracer) != getpid())
		return err_set("pid %d is being traced by pid %s (unsupported)", tid, tracer);
	return 0;
}

static struct dump_task *find_task(struct dump_ctx *ctx, pid_t pid)
{
	for (size_t i = 0; i < ctx->nr_tasks; i++)
		if (ctx->tasks[i].host_pid == pid)
			return &ctx->tasks[i];
	return NULL;
}

static int task_has_tid(const struct dump_task *t, pid_t tid)
{
	for (size_t i = 0; i < t->nr_tids; i++)
		if (t->host_tids[i] == tid)
			return 1;
	return 0;
}

/* Seize one new thread of t and remember its live registers and mask. */
static int seize_thread(struct dump_task *t, pid_t tid)
{
	size_t n = t->nr_tids + 1;
	pid_t *tids = realloc(t->host_tids, n * sizeof(*tids));
	struct user_regs_struct *regs;
	uint64_t *masks;

	if (tids)
		t->host_tids = tids;
	regs = realloc(t->saved, n * sizeof(*regs));
	if (regs)
		t->saved = regs;
	masks = realloc(t->saved_mask, n * sizeof(*masks));
	if (masks)
		t->saved_mask = masks;
	if (!tids || !regs || !masks)
		return err_set("out of memory");
	if (check_not_traced(tid) < 0)
		return -1;
	if (pt_seize_stop(tid, PTRACE_O_TRACESYSGOOD) < 0)
		return -1;
	t->host_tids[t->nr_tids++] = tid;
	if (pt_get_regs(tid, &t->saved[n - 1]) < 0 ||
	    pt_get_sigmask(tid, &t->saved_mask[n - 1]) < 0)
		return -1;
	return 0;
}

/* A task or thread that ended between the listing and now: its /proc
 * entry is gone (ENOENT) or ptrace no longer finds it (ESRCH). */
static int vanished(void)
{
	return errno == ENOENT || errno == ESRCH;
}

static int add_task(struct dump_ctx *ctx, pid_t pid, struct dump_task **out)
{
	struct dump_task *g = realloc(ctx->tasks, (ctx->nr_tasks + 1) * sizeof(*g));

	if (!g)
		return err_set("out of memory");
	ctx->tasks = g;
	*out = &g[ctx->nr_tasks++];
	memset(*out, 0, sizeof(**out));
	(*out)->host_pid = pid;
	return 0;
}

/* PTRACE_SEIZE refuses (EPERM) a thread that is already exiting: true if
 * tid is a zombie or gone now. */
static int exiting(pid_t tid)
{
	int zombie;

	if (is_zombie(tid, &zombie) < 0)
		return vanished();
	return zombie;
}

/* Forget t, which has no seized thread (its process ended). */
static void drop_task(struct dump_ctx *ctx, struct dump_task *t)
{
	free(t->host_tids);
	free(t->saved);
	free(t->saved_mask);
	*t = ctx->tasks[--ctx->nr_tasks];
}

/* Seize the threads of pid not seized yet; *changed is set if any was,
 * or if the process turned out to have ended meanwhile (the tree keeps
 * changing: a parent reaped it, or it exited before it was stopped). */
static int seize_process(struct dump_ctx *ctx, pid_t pid, int *changed)
{
	struct dump_task *t = find_task(ctx, pid);
	pid_t *tids;
	size_t n;
	int rc = 0;

	if (!t) {
		if (add_task(ctx, pid, &t) < 0)
			return -1;
		*changed = 1;
	}
	/* Until one of its threads is stopped a process can still exit. */
	if (t->nr_tids == 0 && is_zombie(pid, &t->zombie) < 0) {
		if (!vanished())
			return -1;
		drop_task(ctx, t);
		*changed = 1;
		return 0;
	}
	if (t->zombie)
		return 0;
	if (proc_threads(pid, &tids, &n) < 0) {
		if (!vanished() || t->nr_tids)
			return -1;
		drop_task(ctx, t);
		*changed = 1;
		return 0;
	}
	/* The leader goes first: it is the first tid listed. */
	for (size_t i = 0; rc == 0 && i < n; i++) {
		if (task_has_tid(t, tids[i]))
			continue;
		*changed = 1;
		rc = seize_thread(t, tids[i]);
		if (rc < 0 && (vanished() || (errno == EPERM && exiting(tids[i]))))
			rc = 0;   /* it exited meanwhile: the next round sees */
	}
	free(tids);
	return rc;
}

/* Put tasks in the order proc_tree_list gave (parents first). */
static int order_tasks(struct dump_ctx *ctx, const pid_t *pids, size_t n)
{
	struct dump_task *sorted = calloc(n ? n : 1, sizeof(*sorted));

	if (!sorted)
		return err_set("out of memory");
	for (size_t i = 0; i < n; i++) {
		struct dump_task *t = find_task(ctx, pids[i]);

		if (!t) {
			free(sorted);
			return err_set("pid %d appeared while the tree was being stopped", pids[i]);
		}
		sorted[i] = *t;
	}
	free(ctx->tasks);
	ctx->tasks = sorted;
	ctx->nr_tasks = n;
	return 0;
}

static int seize_tree(struct dump_ctx *ctx)
{
	for (int round = 0; round < SEIZE_ROUNDS; round++) {
		pid_t *pids;
		size_t n;
		int changed = 0, rc = 0;

		if (proc_tree_list(ctx->init, &pids, &n) < 0)
			return -1;
		for (size_t i = 0; rc == 0 && i < n; i++)
			rc = seize_process(ctx, pids[i], &changed);
		if (rc == 0 && !changed)
			rc = order_tasks(ctx, pids, n);
		free(pids);
		if (rc < 0)
			return -1;
		if (!changed)
			return 0;
	}
	return err_set("the tree keeps creating tasks; could not stop it");
}

static void release_tree(struct dump_ctx *ctx, int kill_it)
{
	if (kill_it) {
		int st;

		/* Every traced thread reports its exit to us; the leaders only
		 * after their other threads have been reaped, so take them in
		 * whatever order they come. */
		kill(ctx->init, SIGKILL);
		while (waitpid(-1, &st, __WALL) > 0 || errno == EINTR)
			;
	}
	for (size_t i = 0; i < ctx->nr_tasks; i++) {
		struct dump_task *t = &ctx->tasks[i];

		for (size_t k = 0; !kill_it && k < t->nr_tids; k++)
			pt_detach(t->host_tids[k]);
		free(t->host_tids);
		free(t->saved);
		free(t->saved_mask);
	}
	free(ctx->tasks);
	ctx->tasks = NULL;
	ctx->nr_tasks = 0;
}

/* Seccomp filters: a boxed tree's box filter (restored with the box) and
 * the filters the tree installed itself (saved, seccomp.c); those need
 * no_new_privs to be installed again after the credentials. */
static int dump_seccomp(struct dump_ctx *ctx, const struct dump_task *t, const struct cr_proc *p)
{
	pid_t pid = t->host_pid;
	uint32_t before = ctx->seccomp.nr_procs;
	char v[32];

	if (proc_status_field(pid, "Seccomp", v, sizeof(v)) < 0)
		return -1;
	if (strcmp(v, "0") == 0)
		return 0;
	if (strcmp(v, "2") != 0)
		return err_set("pid %d: seccomp mode %s (unsupported)", pid, v);
	if (cr_seccomp_read(&ctx->seccomp, p->pid, t->host_tids, t->nr_tids, ctx->box) < 0)
		return -1;
	if (ctx->seccomp.nr_procs != before && !p->creds.no_new_privs)
		return err_set("pid %d: seccomp filters without no_new_privs (unsupported)", pid);
	return 0;
}

/* The restore rebuilds root and cwd inside the box's root, if any: check
 * them there. */
static int check_root_cwd(struct dump_ctx *ctx, pid_t pid, const struct cr_proc *p)
{
	if (proc_check_dir(pid, "root", p->root, ctx->box_root) < 0)
		return -1;
	return proc_check_dir(pid, "cwd", p->cwd, ctx->box_root);
}

/* The box's root, where the tree's paths resolve (rootpath.h). */
static int open_box_root(struct dump_ctx *ctx)
{
	char path[BOX_PATH_MAX + 8];

	if (!ctx->box)
		return 0;
	snprintf(path, sizeof(path), "%s/root", ctx->box->path);
	ctx->box_root = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (ctx->box_root < 0)
		return err_sys("box %s: open its root %s", ctx->box->cfg.name, path);
	return 0;
}

/* A boxed process's ids as its box sees them (/proc shows the host's):
 * the restore sets them inside the box's user namespace. */
static void ids_in_box(const struct box *b, struct cr_creds *c)
{
	uint32_t *ids[8] = { &c->uid, &c->euid, &c->suid, &c->fsuid,
			     &c->gid, &c->egid, &c->sgid, &c->fsgid };

	for (int i = 0; i < 8; i++)
		*ids[i] = box_id_inside(b, *ids[i]);
	for (uint32_t i = 0; i < c->nr_groups; i++)
		c->groups[i] = box_id_inside(b, c->groups[i]);
}

/* A tree restored lazily has its memory in within a second per GiB. */
#define LAZY_WAIT_MS 30000

static int dump_process_state(struct dump_ctx *ctx, struct dump_task *t, struct cr_proc *p)
{
	if (proc_read_proc(t->host_pid, p) < 0)
		return -1;
	if (ctx->box)
		ids_in_box(ctx->box, &p->creds);
	if (t->zombie)
		return 0;
	if (check_root_cwd(ctx, t->host_pid, p) < 0)
		return -1;
	if (dump_seccomp(ctx, t, p) < 0 ||
	    (!dump_mem_kept(ctx, p) && mem_wait_resident(t->host_pid, LAZY_WAIT_MS) < 0) ||
	    (proc_read_vmas(t->host_pid, &p->vmas, &p->nr_vmas) < 0 &&
	     err_wrap("pid %d", p->pid) < 0) ||
	    proc_read_timers(t->host_pid, &p->timers, &p->nr_timers) < 0 ||
	    dump_proc_files(ctx, t, p) < 0 ||
	    dump_threads(t, p, ctx->img.xsave_size) < 0 ||
	    dump_injected_state(t, p) < 0)
		return -1;
	return 0;
}

/* A process that ended after the seize (a child exiting as it was seized,
 * reaped at once because its parent ignores SIGCHLD) makes the dump start
 * over. */
static int dump_process(struct dump_ctx *ctx, struct dump_task *t, struct cr_proc *p)
{
	if (dump_process_state(ctx, t, p) == 0)
		return 0;
	if (kill(t->host_pid, 0) < 0 && errno == ESRCH) {
		err_wrap("pid %d ended during the dump", t->host_pid);
		return err_mark_transient();
	}
	return -1;
}

static int dump_all_state(struct dump_ctx *ctx)
{
	struct cr_image *img = &ctx->img;

	img->version = CR_IMAGE_VERSION;
	if (cpu_xsave_layout(&img->xsave_size, &img->xfeatures) < 0)
		return -1;
	img->procs = calloc(ctx->nr_tasks, sizeof(*img->procs));
	if (!img->procs)
		return err_set("out of memory");
	img->nr_procs = (uint32_t)ctx->nr_tasks;
	for (size_t i = 0; i < ctx->nr_tasks; i++)
		if (dump_process(ctx, &ctx->tasks[i], &img->procs[i]) < 0)
			return -1;
	return dump_files_link(ctx);
}

static int write_pages(struct dump_ctx *ctx)
{
	char path[4200];
	int rc;

	snprintf(path, sizeof(path), "%s/pages", ctx->dir);
	ctx->pages_fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (ctx->pages_fd < 0)
		return err_sys("create %s", path);
	ctx->hash = XXH3_createState();
	if (!ctx->hash) {
		close(ctx->pages_fd);
		return err_set("out of memory");
	}
	XXH3_64bits_reset(ctx->hash);
	ctx->pages_off = ctx->keep ? ctx->keep->base_size : 0;
	/* Not fsynced: the manifest records the pages' checksum, so a torn
	 * file is detected at restore; durable copies go to a store.  The
	 * SysV shared memory objects come first, then every process's. */
	rc = sysv_dump(ctx);
	if (rc == 0)
		rc = dump_memory(ctx);
	if (rc == 0)
		files_reg_shmem(&ctx->img);
	if (close(ctx->pages_fd) < 0 && rc == 0)
		rc = err_sys("close %s", path);
	ctx->img.pages_size = ctx->pages_off;
	ctx->img.pages_hash = XXH3_64bits_digest(ctx->hash);
	if (ctx->keep)   /* the pages are the base's and these: the store checks them */
		ctx->img.pages_hash = 0;
	if (rc == 0 && ctx->keep)
		rc = dump_write_base(ctx);
	XXH3_freeState(ctx->hash);
	return rc;
}

/* Listener custody: a random tag names this dump's sockets at the holder. */
static int custody_begin(struct dump_ctx *ctx)
{
	uint64_t tag = 0;

	while (!tag)
		if (getrandom(&tag, sizeof(tag), 0) != sizeof(tag))
			return err_sys("getrandom");
	ctx->custody_tag = tag;
	return 0;
}

/* Every established TCP connection of the tree stops before any is read. */
static int lock_network(struct dump_ctx *ctx)
{
	pid_t *pids = calloc(ctx->nr_tasks ? ctx->nr_tasks : 1, sizeof(*pids));
	size_t n = 0;
	int rc;

	if (!pids)
		return err_set("out of memory");
	for (size_t i = 0; i < ctx->nr_tasks; i++)
		if (!ctx->tasks[i].zombie)
			pids[n++] = ctx->tasks[i].host_pid;
	rc = netlock_take(pids, n, &ctx->netlock);
	free(pids);
	return rc;
}

/* A boxed tree is frozen while every thread is seized and interrupted, so
 * none forks or clones past the listing; each stops as it thaws, and
 * seize_tree() then only waits for the stops.  A thread missed here (one
 * that ended) is left to seize_tree(). */
static int seize_frozen(struct dump_ctx *ctx, const struct box *b)
{
	pid_t *pids, *tids;
	size_t n, nt;

	if (box_freeze(b) < 0)
		return -1;
	if (proc_tree_list(ctx->init, &pids, &n) == 0) {
		for (size_t i = 0; i < n; i++) {
			if (proc_threads(pids[i], &tids, &nt) < 0)
				continue;
			for (size_t k = 0; k < nt; k++)
				pt_seize_interrupt(tids[k], PTRACE_O_TRACESYSGOOD);
			free(tids);
		}
		free(pids);
	}
	err_clear();
	if (box_thaw(b) < 0)
		return err_wrap("thaw after the seize");
	return 0;
}

/* The dumper reads the tree's sockets (sock_diag, the network lock) from
 * inside the tree's network namespace; *own gets ours back. */
static int enter_tree_netns(pid_t init, int *own)
{
	char path[64];
	int fd, rc;

	*own = -1;
	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)init);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_sys("open %s", path);
	rc = netns_enter(fd, own);
	close(fd);
	if (rc < 0)
		return err_wrap("enter the network namespace of pid %d", (int)init);
	return 0;
}

/* Names the image's files as the box sees them: one the restorer opened
 * through the host's view of the box root (BOX/root/...) loses that
 * prefix (a restore resolves every path inside the box root anyway). */
static int record_box(struct dump_ctx *ctx, const struct box *b)
{
	char prefix[BOX_PATH_MAX + 8], real[PATH_MAX];
	size_t n;

	snprintf(prefix, sizeof(prefix), "%s/root", b->path);
	if (!realpath(prefix, real))
		return err_sys("box %s: %s", b->cfg.name, prefix);
	n = strlen(real);
	for (uint32_t i = 0; i < ctx->img.nr_files; i++) {
		char *p = ctx->img.files[i].path;

		if (p && !strncmp(p, real, n) && p[n] == '/')
			memmove(p, p + n, strlen(p + n) + 1);
	}
	ctx->img.box = strdup(b->cfg.name);
	return ctx->img.box ? 0 : err_set("out of memory");
}

/* The trial restore finds the tree's box where the dump found it. */
static int verify_image(const char *dir, const struct box *box)
{
	char boxes[BOX_PATH_MAX];
	char *slash;

	if (!box)
		return cr_verify(dir, NULL);
	snprintf(boxes, sizeof(boxes), "%s", box->path);
	slash = strrchr(boxes, '/');
	if (slash)
		*slash = '\0';
	return cr_verify(dir, slash ? boxes : NULL);
}

#define DUMP_TRIES 10
#define DUMP_RETRY_FIRST_MS 10
#define DUMP_RETRY_MAX_MS 200

/* Which of the box's cgroups each process of the tree is in. */
static int save_box_cgroups(const struct dump_ctx *ctx, const struct box *b, const char *dir)
{
	struct box_pid *pids = calloc(ctx->nr_tasks ? ctx->nr_tasks : 1, sizeof(*pids));
	int rc;

	if (!pids)
		return err_set("out of memory");
	for (size_t i = 0; i < ctx->nr_tasks; i++)
		pids[i] = (struct box_pid){ ctx->img.procs[i].pid, ctx->tasks[i].host_pid };
	rc = box_cgroups_save(b, dir, pids, ctx->nr_tasks);
	free(pids);
	return rc;
}

static int dump_once(pid_t pid, const char *dir, const struct cr_dump_opts *opts)
{
	struct dump_ctx ctx;
	int created, rc, own_net = -1;

	timing_mark("start");
	memset(&ctx, 0, sizeof(ctx));
	ctx.init = pid;
	ctx.dir = dir;
	ctx.box = opts ? opts->box : NULL;
	ctx.box_root = -1;
	if (check_ns_init(pid) < 0)
		return -1;
	if (prepare_dir(dir, &created) < 0)
		return -1;
	if (open_box_root(&ctx) < 0 ||
	    (opts && opts->keep_listeners && custody_begin(&ctx) < 0)) {
		if (ctx.box_root >= 0)
			close(ctx.box_root);
		cleanup_dir(dir, created);
		return -1;
	}
	rc = opts && opts->box ? enter_tree_netns(pid, &own_net) : 0;
	if (rc == 0 && opts && opts->box)
		rc = seize_frozen(&ctx, opts->box);
	if (rc == 0)
		rc = seize_tree(&ctx);
	if (rc == 0)
		rc = lock_network(&ctx);
	if (rc == 0)   /* before the dump brings every lazy page in */
		rc = mem_save_activeset(pid, dir);
	if (rc == 0)
		rc = dump_plan_memory(&ctx, opts && opts->incremental);
	timing_mark("dump: seize");
	if (rc == 0)
		rc = dump_all_state(&ctx);
	timing_mark("dump: state");
	if (rc == 0 && opts && opts->box)
		rc = record_box(&ctx, opts->box);
	if (rc == 0 && opts && opts->box)
		rc = box_save(opts->box, dir);
	if (rc == 0 && opts && opts->box)
		rc = save_init(&ctx, opts->box, dir);
	if (rc == 0 && opts && opts->box)
		rc = save_box_cgroups(&ctx, opts->box, dir);
	if (rc == 0)
		rc = cr_seccomp_save(&ctx.seccomp, dir);
	if (rc == 0)
		rc = write_pages(&ctx);   /* SysV objects too (sysv_dump) */
	if (rc == 0 && opts && opts->box) {
		sysv_ids_across(&ctx.img, opts->box, 1);
		file_owners_across(&ctx.img, opts->box, 1);
	}
	timing_mark("dump: pages");
	if (rc == 0)
		rc = cr_image_write(&ctx.img, dir);
	timing_mark("dump: manifest");
	/* The tree is still stopped: a trial restore proves the image before
	 * anything is handed over or killed. */
	if (rc == 0 && opts && opts->verify)
		rc = verify_image(dir, opts->box);
	if (rc == 0 && opts && opts->commit)
		rc = opts->commit(dir, opts->commit_arg);
	timing_mark("dump: commit");
	if (rc == 0 && opts && opts->keep_listeners)
		rc = custody_put_files(ctx.files, &ctx.img, opts->keep_listeners);
	/* The lock stays only on sockets that die with the tree; those in
	 * custody go on in the holder and keep what their peers send. */
	netlock_release(ctx.netlock, rc < 0 || (opts && (opts->leave_running ||
							  opts->keep_listeners)));
	if (netns_leave(own_net) < 0)
		rc = -1;
	if (rc < 0) {
		err_wrap("dump pid %d", pid);
		release_tree(&ctx, 0);
		cleanup_dir(dir, created);
	} else {
		release_tree(&ctx, !(opts && opts->leave_running));
	}
	timing_mark("dump: release");
	dump_files_release(&ctx);
	if (ctx.box_root >= 0)
		close(ctx.box_root);
	dump_keep_free(&ctx);
	cr_image_free(&ctx.img);
	cr_seccomp_free(&ctx.seccomp);
	return rc;
}

/* A dump that met something about to settle by itself (a connection being
 * opened or closed) left the tree running and DIR as it was: try again a
 * few times, backing off, before giving up with that message. */
int cr_dump(pid_t pid, const char *dir, const struct cr_dump_opts *opts)
{
	int wait_ms = DUMP_RETRY_FIRST_MS, waited = 0;

	for (int attempt = 1;; attempt++) {
		if (dump_once(pid, dir, opts) == 0)
			return 0;
		if (!err_is_transient() || attempt == DUMP_TRIES)
			break;
		usleep((useconds_t)wait_ms * 1000);
		waited += wait_ms;
		wait_ms = wait_ms * 2 > DUMP_RETRY_MAX_MS ? DUMP_RETRY_MAX_MS : wait_ms * 2;
	}
	if (err_is_transient()) {
		char msg[1024];

		snprintf(msg, sizeof(msg), "%s", err_msg());
		err_set("%s (still so after %d tries over %d ms)", msg, DUMP_TRIES, waited);
	}
	return -1;
}
