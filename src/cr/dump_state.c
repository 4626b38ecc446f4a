/*
 * dump_state.c - the non-memory state of one stopped process: registers,
 * FPU, rseq, robust lists and signal masks through ptrace; brk, signal
 * handlers, timers, alternate stacks and clear_child_tid through system
 * calls injected into the process.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/err.h"
#include "cr/dump_ctx.h"
#include "cr/inject.h"
#include "cr/proc.h"
#include "cr/ptrace.h"

#define ERESTARTSYS 512
#define ERESTARTNOINTR 513
#define ERESTARTNOHAND 514
#define ERESTART_RESTARTBLOCK 516

#define TIMER_ABSTIME_FLAG 1

/*
 * A relative sleep interrupted by the dump has left the time still to sleep
 * in its "remaining" argument; the kernel would have continued from its
 * restart block, which does not survive a restore.  Point the request at
 * the remaining time so the restored sleep ends when the original would
 * have (counting only the time the process ran).  Without a remaining
 * argument the full duration is slept again.
 */
static void sleep_for_remaining(struct user_regs_struct *r)
{
	if (r->orig_rax == SYS_nanosleep && r->rsi != 0)
		r->rdi = r->rsi;
	else if (r->orig_rax == SYS_clock_nanosleep &&
		 !(r->rsi & TIMER_ABSTIME_FLAG) && r->r10 != 0)
		r->rdx = r->r10;
}

void regs_for_restart(struct user_regs_struct *r)
{
	long rax = (long)r->rax;

	if ((long)r->orig_rax >= 0 &&
	    (rax == -ERESTARTSYS || rax == -ERESTARTNOINTR ||
	     rax == -ERESTARTNOHAND || rax == -ERESTART_RESTARTBLOCK)) {
		/* Run the interrupted call again with the same arguments. */
		if (rax == -ERESTART_RESTARTBLOCK)
			sleep_for_remaining(r);
		r->rax = r->orig_rax;
		r->rip -= 2;
	}
	r->orig_rax = (unsigned long long)-1;
}

static int dump_robust_list(pid_t tid, struct cr_thread *th)
{
	void *head = NULL;
	size_t len = 0;

	if (syscall(SYS_get_robust_list, tid, &head, &len) < 0)
		return err_sys("tid %d: get_robust_list", tid);
	th->robust_head = (uint64_t)(uintptr_t)head;
	th->robust_len = len;
	return 0;
}

static int dump_one_thread(struct dump_task *t, size_t i, struct cr_thread *th,
			   uint32_t xsave_size)
{
	pid_t tid = t->host_tids[i];
	uint32_t len = CR_XSAVE_MAX;

	if (proc_read_thread(t->host_pid, tid, th) < 0)
		return -1;
	th->regs = t->saved[i];
	regs_for_restart(&th->regs);
	th->xsave = malloc(CR_XSAVE_MAX);
	if (!th->xsave)
		return err_set("tid %d: out of memory", tid);
	if (pt_get_xsave(tid, th->xsave, &len) < 0)
		return -1;
	if (len != xsave_size)
		return err_set("tid %d: XSAVE area is %u bytes, CPU says %u", tid, len,
			       xsave_size);
	th->xsave_len = len;
	th->sigmask = t->saved_mask[i];
	if (pt_get_rseq(tid, &th->rseq_addr, &th->rseq_len, &th->rseq_sig) < 0)
		return -1;
	if (dump_robust_list(tid, th) < 0)
		return -1;
	return pt_peek_siginfo(tid, 0, &th->pending, &th->nr_pending);
}

int dump_threads(struct dump_task *t, struct cr_proc *p, uint32_t xsave_size)
{
	p->threads = calloc(t->nr_tids, sizeof(*p->threads));
	if (!p->threads)
		return err_set("pid %d: out of memory", t->host_pid);
	p->nr_threads = (uint32_t)t->nr_tids;
	for (size_t i = 0; i < t->nr_tids; i++)
		if (dump_one_thread(t, i, &p->threads[i], xsave_size) < 0)
			return err_wrap("pid %d", t->host_pid);
	return pt_peek_siginfo(t->host_tids[0], 1, &p->shared_pending,
			       &p->nr_shared_pending);
}

/* Layout of the scratch data area during a dump. */
#define D_SIGACT 0              /* 64 x struct kernel_sigaction (32 bytes) */
#define D_ITIMER 2048           /* 3 x struct itimerval (32 bytes) */
#define D_TIMER 2304            /* struct itimerspec (32 bytes) */
#define D_WORD 2400             /* one u64 */
#define D_STACK 2432            /* stack_t (24 bytes) */

struct kernel_sigaction_raw {
	uint64_t handler, flags, restorer, mask;
};

/* All 62 actions in one batch of injected calls. */
static int dump_sigactions(struct inj *inj, pid_t tid, struct cr_proc *p)
{
	struct kernel_sigaction_raw sa[CR_NSIG];
	struct inj_batch *b = malloc(sizeof(*b));
	int rc = 0;

	if (!b)
		return err_set("out of memory");
	inj_batch_init(b, inj, tid);
	for (int sig = 1; rc == 0 && sig <= CR_NSIG; sig++) {
		char what[32];

		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		snprintf(what, sizeof(what), "rt_sigaction %d", sig);
		rc = inj_batch_add(b, what, SYS_rt_sigaction, (uint64_t)sig, 0,
				   inj_data(inj, D_SIGACT + (uint64_t)(sig - 1) * 32), 8, 0, 0);
	}
	if (rc == 0)
		rc = inj_batch_run(b);
	free(b);
	memset(sa, 0, sizeof(sa));
	if (rc < 0 || inj_read(inj, inj_data(inj, D_SIGACT), sa, sizeof(sa)) < 0)
		return -1;
	for (int i = 0; i < CR_NSIG; i++) {
		if (i + 1 == SIGKILL || i + 1 == SIGSTOP)
			continue;
		p->sigactions[i].handler = sa[i].handler;
		p->sigactions[i].flags = sa[i].flags;
		p->sigactions[i].restorer = sa[i].restorer;
		p->sigactions[i].mask = sa[i].mask;
	}
	return 0;
}

static int dump_itimers(struct inj *inj, pid_t tid, struct cr_proc *p)
{
	int64_t v[12];

	for (int w = 0; w < 3; w++)
		if (inj_call(inj, tid, "getitimer", SYS_getitimer, (uint64_t)w,
			     inj_data(inj, D_ITIMER + (uint64_t)w * 32), 0, 0, 0, 0, NULL) < 0)
			return -1;
	if (inj_read(inj, inj_data(inj, D_ITIMER), v, sizeof(v)) < 0)
		return -1;
	for (int w = 0; w < 3; w++) {
		p->itimers[w].interval_us = v[w * 4] * 1000000 + v[w * 4 + 1];
		p->itimers[w].value_us = v[w * 4 + 2] * 1000000 + v[w * 4 + 3];
	}
	return 0;
}

static int dump_posix_timers(struct inj *inj, pid_t tid, struct cr_proc *p)
{
	for (uint32_t i = 0; i < p->nr_timers; i++) {
		struct cr_posix_timer *pt = &p->timers[i];
		int64_t its[4];

		if (inj_call(inj, tid, "timer_gettime", SYS_timer_gettime,
			     (uint64_t)pt->id, inj_data(inj, D_TIMER), 0, 0, 0, 0, NULL) < 0)
			return err_wrap("posix timer %d", pt->id);
		if (inj_read(inj, inj_data(inj, D_TIMER), its, sizeof(its)) < 0)
			return -1;
		pt->interval_ns = its[0] * 1000000000 + its[1];
		pt->value_ns = its[2] * 1000000000 + its[3];
	}
	return 0;
}

static int dump_thread_injected(struct inj *inj, pid_t tid, struct cr_thread *th)
{
	uint64_t word = 0, st[3];

	if (inj_call(inj, tid, "prctl(PR_GET_TID_ADDRESS)", SYS_prctl, PR_GET_TID_ADDRESS,
		     inj_data(inj, D_WORD), 0, 0, 0, 0, NULL) < 0 ||
	    inj_read(inj, inj_data(inj, D_WORD), &word, sizeof(word)) < 0)
		return err_wrap("tid %d", tid);
	th->clear_tid = word;
	if (inj_call(inj, tid, "sigaltstack", SYS_sigaltstack, 0, inj_data(inj, D_STACK),
		     0, 0, 0, 0, NULL) < 0 ||
	    inj_read(inj, inj_data(inj, D_STACK), st, sizeof(st)) < 0)
		return err_wrap("tid %d", tid);
	th->altstack_sp = st[0];
	th->altstack_flags = (int32_t)(st[1] & 0xffffffff);
	th->altstack_size = st[2];
	return 0;
}

static int dump_process_injected(struct inj *inj, struct dump_task *t, struct cr_proc *p)
{
	pid_t leader = t->host_tids[0];
	int64_t r;

	if (inj_call(inj, leader, "brk", SYS_brk, 0, 0, 0, 0, 0, 0, &r) < 0)
		return -1;
	p->mm.brk = (uint64_t)r;
	if (inj_call(inj, leader, "prctl(PR_GET_SECUREBITS)", SYS_prctl,
		     PR_GET_SECUREBITS, 0, 0, 0, 0, 0, &r) < 0)
		return -1;
	p->creds.securebits = (uint32_t)r;
	if (dump_sigactions(inj, leader, p) < 0 || dump_itimers(inj, leader, p) < 0 ||
	    dump_posix_timers(inj, leader, p) < 0)
		return -1;
	for (size_t i = 0; i < t->nr_tids; i++)
		if (dump_thread_injected(inj, t->host_tids[i], &p->threads[i]) < 0)
			return -1;
	return 0;
}

/* Put every thread back as it was: registers and signal mask.  The
 * leader ends in a syscall-exit stop (the scratch area's unmapping), from
 * which the kernel would not restart an interrupted call: do it here. */
static int restore_live_threads(struct dump_task *t, int leader_in_syscall_exit)
{
	int rc = 0;

	for (size_t i = 0; i < t->nr_tids; i++) {
		struct user_regs_struct r = t->saved[i];

		if (i == 0 && leader_in_syscall_exit)
			regs_for_restart(&r);
		if (pt_set_regs(t->host_tids[i], &r) < 0)
			rc = -1;
		if (pt_set_sigmask(t->host_tids[i], t->saved_mask[i]) < 0)
			rc = -1;
	}
	return rc;
}

int dump_injected_state(struct dump_task *t, struct cr_proc *p)
{
	uint64_t off, vdso = cr_vma_start(p, CR_VMA_VDSO);
	struct inj inj;
	int rc;

	if (!vdso)
		return err_set("pid %d: no [vdso] mapping (unsupported)", p->pid);
	if (vdso_syscall_offset(&off) < 0)
		return -1;
	/* No signal may be delivered while we run calls in the process. */
	for (size_t i = 0; i < t->nr_tids; i++)
		if (pt_set_sigmask(t->host_tids[i], ~0ull) < 0) {
			restore_live_threads(t, 0);
			return -1;
		}
	if (inj_map_scratch(&inj, t->host_pid, t->host_tids[0], vdso + off) < 0) {
		restore_live_threads(t, 1);
		return -1;
	}
	rc = dump_process_injected(&inj, t, p);
	if (inj_unmap_scratch(&inj, t->host_tids[0], vdso + off) < 0)
		rc = -1;
	inj_close(&inj);
	if (restore_live_threads(t, 1) < 0)
		rc = -1;
	return rc < 0 ? err_wrap("pid %d", p->pid) : 0;
}
