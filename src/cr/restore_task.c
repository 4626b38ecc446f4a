/*
 * restore_task.c - everything but memory for one seized process, by
 * injected system calls: threads with their old tids (clone3 set_tid),
 * per-thread robust list, clear_child_tid, alternate stack, name and rseq;
 * signal handlers, interval and POSIX timers, rlimits, pending signals and
 * credentials; last the registers, FPU state and signal masks.
 */
#include <errno.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/sched.h>
#include <linux/securebits.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "box/box.h"
#include "common/err.h"
#include "cr/ptrace.h"
#include "cr/file_lock.h"
#include "cr/restore_ctx.h"

#ifndef SS_AUTODISARM
#define SS_AUTODISARM (1u << 31)
#endif
#ifndef PR_TIMER_CREATE_RESTORE_IDS
#define PR_TIMER_CREATE_RESTORE_IDS 77
#endif

#define THREAD_FLAGS (CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | \
		      CLONE_THREAD | CLONE_SYSVSEM)

static int create_thread(struct rst_proc *rp, uint32_t i)
{
	struct clone_args args;
	pid_t leader = rp->host_tids[0], tid = rp->p->threads[i].tid;
	uint64_t at = inj_data(&rp->inj, 0);
	int64_t r;
	int st;

	memset(&args, 0, sizeof(args));
	args.flags = THREAD_FLAGS;
	args.set_tid = at + sizeof(args);
	args.set_tid_size = 1;
	rp->inj.clone_tid = 0;
	if (inj_write(&rp->inj, at, &args, sizeof(args)) < 0 ||
	    inj_write(&rp->inj, at + sizeof(args), &tid, sizeof(tid)) < 0)
		return -1;
	if (inj_call(&rp->inj, leader, "clone3 thread", SYS_clone3, at, sizeof(args),
		     0, 0, 0, 0, &r) < 0)
		return err_wrap("thread %d", tid);
	if (r != tid || !rp->inj.clone_tid)
		return err_set("thread %d: clone3 made tid %lld", tid, (long long)r);
	rp->host_tids[i] = (pid_t)rp->inj.clone_tid;
	/* The new thread starts traced and stopped. */
	if (pt_wait_stop(rp->host_tids[i], &st) < 0)
		return err_wrap("thread %d", tid);
	return pt_set_sigmask(rp->host_tids[i], ~0ull);
}

/* Process groups: every process exists now, so any group can be joined;
 * leaders are made first (see restore.c), then the members. */
int restore_group(struct rst_ctx *c, struct rst_proc *rp, int leaders)
{
	const struct cr_proc *p = rp->p;
	char what[64];

	(void)c;
	if ((p->pgid == p->pid) != leaders || p->sid == p->pid)
		return 0;   /* a session leader already leads its group */
	snprintf(what, sizeof(what), "setpgid %d", p->pgid);
	if (inj_call(&rp->inj, rp->host_tids[0], what, SYS_setpgid, 0,
		     (uint64_t)(leaders ? 0 : p->pgid), 0, 0, 0, 0, NULL) < 0)
		return err_wrap("restore pid %d", p->pid);
	return 0;
}

int restore_threads(struct rst_ctx *c, struct rst_proc *rp)
{
	(void)c;
	for (uint32_t i = 1; i < rp->p->nr_threads; i++)
		if (create_thread(rp, i) < 0)
			return err_wrap("restore pid %d", rp->p->pid);
	return 0;
}

/* Per-thread state, in one batch run by the thread itself. */
static int restore_thread_state(struct rst_proc *rp, struct inj_batch *b, uint32_t i)
{
	const struct cr_thread *th = &rp->p->threads[i];
	uint64_t ss_at = inj_data(&rp->inj, 0), comm_at = inj_data(&rp->inj, 64);
	uint64_t ss[3] = { th->altstack_sp,
			   (uint64_t)((uint32_t)th->altstack_flags & SS_AUTODISARM),
			   th->altstack_size };

	inj_batch_init(b, &rp->inj, rp->host_tids[i]);
	if (inj_write(&rp->inj, ss_at, ss, sizeof(ss)) < 0 ||
	    inj_write(&rp->inj, comm_at, th->comm, CR_COMM_LEN) < 0)
		return -1;
	if (inj_batch_add(b, "set_robust_list", SYS_set_robust_list, th->robust_head,
			  th->robust_head ? th->robust_len : 24, 0, 0, 0, 0) < 0 ||
	    inj_batch_add(b, "set_tid_address", SYS_set_tid_address, th->clear_tid,
			  0, 0, 0, 0, 0) < 0 ||
	    (!(th->altstack_flags & SS_DISABLE) &&
	     inj_batch_add(b, "sigaltstack", SYS_sigaltstack, ss_at, 0, 0, 0, 0, 0) < 0) ||
	    inj_batch_add(b, "prctl(PR_SET_NAME)", SYS_prctl, PR_SET_NAME, comm_at,
			  0, 0, 0, 0) < 0)
		return -1;
	return inj_batch_run(b) < 0 ? err_wrap("tid %d", th->tid) : 0;
}

/* Register rseq last: the kernel rewrites the area's rseq_cs when the call
 * returns outside a critical section, so the old value is put back.  The
 * area may be in memory the page server fills later: the old value then
 * comes from the image, and the call's own access brings the page in. */
static int restore_thread_rseq(struct rst_ctx *c, struct rst_proc *rp, uint32_t i)
{
	const struct cr_thread *th = &rp->p->threads[i];
	uint64_t cs;

	if (!th->rseq_addr)
		return 0;
	if (rst_read_mem(c, rp, th->rseq_addr + 8, &cs, sizeof(cs)) < 0 ||
	    inj_call(&rp->inj, rp->host_tids[i], "rseq", SYS_rseq, th->rseq_addr,
		     th->rseq_len, 0, th->rseq_sig, 0, 0, NULL) < 0 ||
	    inj_write(&rp->inj, th->rseq_addr + 8, &cs, sizeof(cs)) < 0)
		return err_wrap("tid %d", th->tid);
	return 0;
}

/* Every non-default action, the structures side by side in the data
 * area, in one batch. */
static int restore_sigactions(struct rst_proc *rp, struct inj_batch *b)
{
	uint64_t raw[CR_NSIG][4], at = inj_data(&rp->inj, 0);

	inj_batch_init(b, &rp->inj, rp->host_tids[0]);
	for (int sig = 1; sig <= CR_NSIG; sig++) {
		const struct cr_sigaction *sa = &rp->p->sigactions[sig - 1];
		char what[32];

		raw[sig - 1][0] = sa->handler;
		raw[sig - 1][1] = sa->flags;
		raw[sig - 1][2] = sa->restorer;
		raw[sig - 1][3] = sa->mask;
		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		if (!sa->handler && !sa->flags && !sa->mask)
			continue;   /* default, as the restorer left it */
		snprintf(what, sizeof(what), "rt_sigaction %d", sig);
		if (inj_batch_add(b, what, SYS_rt_sigaction, (uint64_t)sig,
				  at + (uint64_t)(sig - 1) * sizeof(raw[0]), 0, 8, 0, 0) < 0)
			return -1;
	}
	if (inj_write(&rp->inj, at, raw, sizeof(raw)) < 0)
		return -1;
	return inj_batch_run(b);
}

static int restore_itimers(struct rst_proc *rp)
{
	uint64_t at = inj_data(&rp->inj, 0);

	for (int w = 0; w < 3; w++) {
		const struct cr_itimer *it = &rp->p->itimers[w];
		/* An expired periodic ITIMER_REAL reads as 0 left until its
		 * SIGALRM is dequeued (the kernel re-arms it then); that signal
		 * is restored as pending, so the timer runs one interval on. */
		int64_t left = it->value_us ? it->value_us : it->interval_us;
		int64_t v[4] = { it->interval_us / 1000000, it->interval_us % 1000000,
				 left / 1000000, left % 1000000 };

		if (!left)
			continue;
		if (inj_write(&rp->inj, at, v, sizeof(v)) < 0 ||
		    inj_call(&rp->inj, rp->host_tids[0], "setitimer", SYS_setitimer,
			     (uint64_t)w, at, 0, 0, 0, 0, NULL) < 0)
			return -1;
	}
	return 0;
}

static int ns_to_host_tid(const struct rst_proc *rp, int32_t ns_tid, int32_t *host)
{
	for (uint32_t i = 0; i < rp->p->nr_threads; i++)
		if (rp->p->threads[i].tid == ns_tid) {
			*host = ns_tid;   /* the call runs inside the namespace */
			return 0;
		}
	return err_set("timer targets tid %d, not a thread of pid %d", ns_tid, rp->p->pid);
}

static int restore_one_timer(struct rst_proc *rp, const struct cr_posix_timer *t)
{
	uint64_t at = inj_data(&rp->inj, 0);
	pid_t leader = rp->host_tids[0];
	uint8_t sev[64];
	int32_t id = t->id, tid = 0;
	int64_t its[4] = { t->interval_ns / 1000000000, t->interval_ns % 1000000000,
			   t->value_ns / 1000000000, t->value_ns % 1000000000 };

	memset(sev, 0, sizeof(sev));
	memcpy(sev, &t->sigval, 8);
	memcpy(sev + 8, &t->signo, 4);
	memcpy(sev + 12, &t->notify, 4);
	if ((t->notify & SIGEV_THREAD_ID) && ns_to_host_tid(rp, t->notify_tid, &tid) < 0)
		return -1;
	memcpy(sev + 16, &tid, 4);
	if (inj_write(&rp->inj, at, sev, sizeof(sev)) < 0 ||
	    inj_write(&rp->inj, at + 64, &id, sizeof(id)) < 0 ||
	    inj_call(&rp->inj, leader, "timer_create", SYS_timer_create, (uint64_t)t->clock,
		     at, at + 64, 0, 0, 0, NULL) < 0 ||
	    inj_read(&rp->inj, at + 64, &id, sizeof(id)) < 0)
		return err_wrap("posix timer %d", t->id);
	if (id != t->id)
		return err_set("posix timer %d came back as %d", t->id, id);
	if (!t->value_ns)
		return 0;
	if (inj_write(&rp->inj, at + 128, its, sizeof(its)) < 0 ||
	    inj_call(&rp->inj, leader, "timer_settime", SYS_timer_settime, (uint64_t)id, 0,
		     at + 128, 0, 0, 0, NULL) < 0)
		return err_wrap("posix timer %d", t->id);
	return 0;
}

static int restore_posix_timers(struct rst_proc *rp)
{
	pid_t leader = rp->host_tids[0];

	if (!rp->p->nr_timers)
		return 0;
	if (inj_call(&rp->inj, leader, "prctl(PR_TIMER_CREATE_RESTORE_IDS, on)", SYS_prctl,
		     PR_TIMER_CREATE_RESTORE_IDS, 1, 0, 0, 0, 0, NULL) < 0)
		return -1;
	for (uint32_t i = 0; i < rp->p->nr_timers; i++)
		if (restore_one_timer(rp, &rp->p->timers[i]) < 0)
			return -1;
	return inj_call(&rp->inj, leader, "prctl(PR_TIMER_CREATE_RESTORE_IDS, off)",
			SYS_prctl, PR_TIMER_CREATE_RESTORE_IDS, 0, 0, 0, 0, 0, NULL);
}

static int restore_rlimits(struct rst_proc *rp, struct inj_batch *b)
{
	uint64_t v[CR_NR_RLIMITS][2], at = inj_data(&rp->inj, 0);

	inj_batch_init(b, &rp->inj, rp->host_tids[0]);
	for (int r = 0; r < CR_NR_RLIMITS; r++) {
		const struct cr_rlimit *l = &rp->p->rlimits[r];
		struct rlimit cur;
		char what[48];

		v[r][0] = l->cur;
		v[r][1] = l->max;
		if (getrlimit(r, &cur) == 0 && cur.rlim_cur == l->cur && cur.rlim_max == l->max)
			continue;
		snprintf(what, sizeof(what), "prlimit resource %d", r);
		if (inj_batch_add(b, what, SYS_prlimit64, 0, (uint64_t)r,
				  at + (uint64_t)r * sizeof(v[0]), 0, 0, 0) < 0)
			return -1;
	}
	if (inj_write(&rp->inj, at, v, sizeof(v)) < 0)
		return -1;
	return inj_batch_run(b);
}

static int queue_signal(struct rst_proc *rp, const struct cr_siginfo *si, int32_t tid)
{
	uint64_t at = inj_data(&rp->inj, 0);
	int32_t signo;

	memcpy(&signo, si->raw, sizeof(signo));
	if (inj_write(&rp->inj, at, si->raw, CR_SIGINFO_SIZE) < 0)
		return -1;
	if (tid)
		return inj_call(&rp->inj, rp->host_tids[0], "rt_tgsigqueueinfo",
				SYS_rt_tgsigqueueinfo, (uint64_t)rp->p->pid, (uint64_t)tid,
				(uint64_t)signo, at, 0, 0, NULL);
	return inj_call(&rp->inj, rp->host_tids[0], "rt_sigqueueinfo", SYS_rt_sigqueueinfo,
			(uint64_t)rp->p->pid, (uint64_t)signo, at, 0, 0, 0, NULL);
}

static int restore_pending(struct rst_proc *rp)
{
	const struct cr_proc *p = rp->p;

	for (uint32_t i = 0; i < p->nr_shared_pending; i++)
		if (queue_signal(rp, &p->shared_pending[i], 0) < 0)
			return -1;
	for (uint32_t t = 0; t < p->nr_threads; t++)
		for (uint32_t i = 0; i < p->threads[t].nr_pending; i++)
			if (queue_signal(rp, &p->threads[t].pending[i], p->threads[t].tid) < 0)
				return -1;
	return 0;
}

static int creds_are_ours(const struct cr_creds *cr)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];
	gid_t groups[64];
	int n = getgroups(64, groups);

	if (syscall(SYS_capget, &hdr, d) < 0 || n < 0)
		return 0;
	if (cr->uid || cr->euid || cr->suid || cr->fsuid || cr->gid || cr->egid ||
	    cr->sgid || cr->fsgid || getuid() || getgid() || cr->no_new_privs ||
	    cr->securebits || (uint32_t)n != cr->nr_groups)
		return 0;
	for (int i = 0; i < n; i++)
		if (groups[i] != cr->groups[i])
			return 0;
	return cr->cap_eff == (d[0].effective | (uint64_t)d[1].effective << 32) &&
	       cr->cap_prm == (d[0].permitted | (uint64_t)d[1].permitted << 32) &&
	       cr->cap_inh == (d[0].inheritable | (uint64_t)d[1].inheritable << 32) &&
	       cr->cap_amb == 0 && (cr->cap_bnd | cr->cap_prm) == cr->cap_bnd;
}

static int capset_to(struct rst_proc *rp, uint64_t eff, uint64_t prm, uint64_t inh)
{
	uint64_t at = inj_data(&rp->inj, 0);
	uint32_t caps[8] = { _LINUX_CAPABILITY_VERSION_3, 0,
			     (uint32_t)eff, (uint32_t)prm, (uint32_t)inh,
			     (uint32_t)(eff >> 32), (uint32_t)(prm >> 32), (uint32_t)(inh >> 32) };

	if (inj_write(&rp->inj, at, caps, sizeof(caps)) < 0 ||
	    inj_call(&rp->inj, rp->host_tids[0], "capset", SYS_capset, at, at + 8, 0, 0, 0, 0,
		     NULL) < 0)
		return -1;
	return 0;
}

/* Securebits beyond keep-caps (noroot, no-setuid-fixup, no-ambient-raise,
 * their locks): set after the ambient capabilities are raised, with
 * CAP_SETPCAP kept until then. */
static int extra_securebits(const struct cr_creds *cr)
{
	return (cr->securebits & ~(uint32_t)SECBIT_KEEP_CAPS) != 0;
}

static int restore_capabilities(struct rst_proc *rp)
{
	const struct cr_creds *cr = &rp->p->creds;
	pid_t leader = rp->host_tids[0];
	uint64_t setpcap = extra_securebits(cr) ? 1ull << CAP_SETPCAP : 0;

	if (capset_to(rp, cr->cap_eff | setpcap, cr->cap_prm | setpcap, cr->cap_inh) < 0)
		return -1;
	for (int cap = 0; cap < 64; cap++)
		if ((cr->cap_amb >> cap) & 1 &&
		    inj_call(&rp->inj, leader, "raise ambient capability", SYS_prctl,
			     PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, (uint64_t)cap, 0, 0, 0,
			     NULL) < 0)
			return -1;
	if (!setpcap)
		return 0;
	if (inj_call(&rp->inj, leader, "prctl(PR_SET_SECUREBITS)", SYS_prctl, PR_SET_SECUREBITS,
		     cr->securebits, 0, 0, 0, 0, NULL) < 0)
		return -1;
	if ((cr->cap_prm & cr->cap_eff & setpcap) == 0 &&
	    capset_to(rp, cr->cap_eff, cr->cap_prm, cr->cap_inh) < 0)
		return -1;
	return 0;
}

/* Credentials change last: some calls above need root's capabilities. */
static int restore_creds(struct rst_proc *rp, int boxed)
{
	const struct cr_creds *cr = &rp->p->creds;
	pid_t leader = rp->host_tids[0];
	uint64_t at = inj_data(&rp->inj, 0);
	struct inj *inj = &rp->inj;

	/* A boxed process starts as the box's root: always set. */
	if (!boxed && creds_are_ours(cr))
		return 0;
	for (int cap = 0; cap <= CAP_LAST_CAP; cap++)
		if (!((cr->cap_bnd >> cap) & 1) &&
		    inj_call(inj, leader, "drop bounding capability", SYS_prctl,
			     PR_CAPBSET_DROP, (uint64_t)cap, 0, 0, 0, 0, NULL) < 0)
			return -1;
	if (inj_write(inj, at, cr->groups, cr->nr_groups * 4) < 0 ||
	    inj_call(inj, leader, "setgroups", SYS_setgroups, cr->nr_groups, at, 0, 0, 0, 0,
		     NULL) < 0 ||
	    inj_call(inj, leader, "setresgid", SYS_setresgid, cr->gid, cr->egid, cr->sgid,
		     0, 0, 0, NULL) < 0 ||
	    inj_call(inj, leader, "setfsgid", SYS_setfsgid, cr->fsgid, 0, 0, 0, 0, 0,
		     NULL) < 0 ||
	    inj_call(inj, leader, "prctl(PR_SET_KEEPCAPS)", SYS_prctl, PR_SET_KEEPCAPS, 1,
		     0, 0, 0, 0, NULL) < 0 ||
	    inj_call(inj, leader, "setresuid", SYS_setresuid, cr->uid, cr->euid, cr->suid,
		     0, 0, 0, NULL) < 0 ||
	    inj_call(inj, leader, "setfsuid", SYS_setfsuid, cr->fsuid, 0, 0, 0, 0, 0,
		     NULL) < 0 ||
	    restore_capabilities(rp) < 0)
		return -1;
	if (!extra_securebits(cr) &&
	    inj_call(inj, leader, "prctl(PR_SET_KEEPCAPS)", SYS_prctl, PR_SET_KEEPCAPS,
		     (cr->securebits & SECBIT_KEEP_CAPS) != 0, 0, 0, 0, 0, NULL) < 0)
		return -1;
	if (cr->no_new_privs &&
	    inj_call(inj, leader, "prctl(PR_SET_NO_NEW_PRIVS)", SYS_prctl,
		     PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0, 0, NULL) < 0)
		return -1;
	return 0;
}

/*
 * Lazily restored memory lives in the keeper's page server: if the keeper
 * died, pages not in yet would read as zero.  The root (and so the whole
 * namespace) is set to be killed when the keeper goes, after the credential
 * changes that would clear the setting.
 */
static int die_with_keeper(struct rst_ctx *c, struct rst_proc *rp)
{
	if (!c->server || rp->host_pid != c->init_host)
		return 0;
	return inj_call(&rp->inj, rp->host_tids[0], "prctl(PR_SET_PDEATHSIG)", SYS_prctl,
			PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0, 0, NULL);
}

/* Install one classic BPF filter in every thread of the process. */
static int install_filter(struct rst_proc *rp, const struct sock_filter *insns, uint32_t len)
{
	struct sock_fprog prog;
	uint64_t at = inj_data(&rp->inj, 0), fp;

	fp = at + ((len * sizeof(*insns) + 15) & ~15ul);
	prog.len = (unsigned short)len;
	prog.filter = (struct sock_filter *)(uintptr_t)at;
	if (inj_write(&rp->inj, at, insns, len * sizeof(*insns)) < 0 ||
	    inj_write(&rp->inj, fp, &prog, sizeof(prog)) < 0 ||
	    inj_call(&rp->inj, rp->host_tids[0], "seccomp(SECCOMP_SET_MODE_FILTER)",
		     SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, fp,
		     0, 0, 0, NULL) < 0)
		return -1;
	return 0;
}

/* Seccomp filters come back last (the restorer's own injected calls above
 * would be refused): a boxed process's box filter, then the process's own,
 * oldest first. */
static int restore_seccomp(struct rst_ctx *c, struct rst_proc *rp)
{
	const struct cr_seccomp_proc *own = cr_seccomp_of(&c->seccomp, rp->p->pid);
	const struct sock_filter *insns;
	unsigned short len;

	if (c->box && (box_seccomp_filter(&insns, &len) < 0 || install_filter(rp, insns, len) < 0))
		return -1;
	for (uint32_t i = 0; own && i < own->nr; i++)
		if (install_filter(rp, own->filters[i].insns, own->filters[i].len) < 0)
			return err_wrap("seccomp filter %u of its own", i);
	return 0;
}

static int restore_state_with(struct rst_ctx *c, struct rst_proc *rp, struct inj_batch *b)
{
	for (uint32_t i = 0; i < rp->p->nr_threads; i++)
		if (restore_thread_state(rp, b, i) < 0)
			return -1;
	if (restore_sigactions(rp, b) < 0 || restore_itimers(rp) < 0 ||
	    restore_posix_timers(rp) < 0 || restore_rlimits(rp, b) < 0 ||
	    restore_pending(rp) < 0)
		return -1;
	if (inj_call(&rp->inj, rp->host_tids[0], "close service fds", SYS_close_range,
		     (uint64_t)c->svc_base, (uint64_t)c->svc_end - 1, 0, 0, 0, 0, NULL) < 0)
		return -1;
	if (!c->verify && lock_restore(rp) < 0)
		return -1;
	if (restore_creds(rp, c->box != NULL) < 0 || die_with_keeper(c, rp) < 0)
		return -1;
	for (uint32_t i = 0; i < rp->p->nr_threads; i++)
		if (restore_thread_rseq(c, rp, i) < 0)
			return -1;
	return restore_seccomp(c, rp);
}

int restore_process_state(struct rst_ctx *c, struct rst_proc *rp)
{
	struct inj_batch *b = malloc(sizeof(*b));
	int rc;

	if (!b)
		return err_set("restore pid %d: out of memory", rp->p->pid);
	rc = restore_state_with(c, rp, b);
	free(b);
	return rc < 0 ? err_wrap("restore pid %d", rp->p->pid) : 0;
}

/* Drop the scratch area and load every thread's saved registers. */
int restore_finish(struct rst_ctx *c, struct rst_proc *rp)
{
	uint64_t off, vdso = cr_vma_start(rp->p, CR_VMA_VDSO);

	(void)c;
	if (vdso_syscall_offset(&off) < 0 ||
	    inj_unmap_scratch(&rp->inj, rp->host_tids[0], vdso + off) < 0)
		return err_wrap("restore pid %d", rp->p->pid);
	for (uint32_t i = 0; i < rp->p->nr_threads; i++) {
		const struct cr_thread *th = &rp->p->threads[i];
		pid_t tid = rp->host_tids[i];

		if (pt_set_regs(tid, &th->regs) < 0 ||
		    pt_set_xsave(tid, th->xsave, th->xsave_len) < 0 ||
		    pt_set_sigmask(tid, th->sigmask) < 0)
			return err_wrap("restore pid %d tid %d", rp->p->pid, th->tid);
	}
	return 0;
}
