/* ptrace.c - ptrace(2) wrappers for stopped threads (see ptrace.h). */
#include <cpuid.h>
#include <elf.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <linux/ptrace.h>

#include "common/err.h"
#include "cr/proc.h"
#include "cr/ptrace.h"

int pt_wait_stop(pid_t tid, int *status)
{
	int st;

	for (;;) {
		pid_t r = waitpid(tid, &st, __WALL);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return err_sys("tid %d: waitpid", tid);
		}
		if (WIFSTOPPED(st))
			break;
		/* Gone: errno says so (ESRCH), as ptrace would for it now. */
		if (WIFEXITED(st)) {
			err_set("tid %d: exited with status %d", tid, WEXITSTATUS(st));
			errno = ESRCH;
			return -1;
		}
		if (WIFSIGNALED(st)) {
			err_set("tid %d: killed by signal %d (%s)", tid, WTERMSIG(st),
				strsignal(WTERMSIG(st)));
			errno = ESRCH;
			return -1;
		}
	}
	if (status)
		*status = st;
	return 0;
}

int pt_seize_interrupt(pid_t tid, unsigned long options)
{
	if (ptrace(PTRACE_SEIZE, tid, NULL, (void *)options) < 0)
		return err_sys("tid %d: PTRACE_SEIZE", tid);
	if (ptrace(PTRACE_INTERRUPT, tid, NULL, NULL) < 0)
		return err_sys("tid %d: PTRACE_INTERRUPT", tid);
	return 0;
}

/* True if tid is traced by this process already (pt_seize_interrupt). */
static int seized_by_me(pid_t tid)
{
	char tracer[32];

	return proc_status_field(tid, "TracerPid", tracer, sizeof(tracer)) == 0 &&
	       atoi(tracer) == getpid();
}

int pt_seize_stop(pid_t tid, unsigned long options)
{
	int st;

	if (ptrace(PTRACE_SEIZE, tid, NULL, (void *)options) < 0) {
		if (errno != EPERM || !seized_by_me(tid))
			return err_sys("tid %d: PTRACE_SEIZE", tid);
	} else if (ptrace(PTRACE_INTERRUPT, tid, NULL, NULL) < 0) {
		return err_sys("tid %d: PTRACE_INTERRUPT", tid);
	}
	for (;;) {
		if (pt_wait_stop(tid, &st) < 0)
			return -1;
		if ((st >> 16) == PTRACE_EVENT_STOP)
			return 0;
		/* A signal reached the thread before the interrupt did: let it
		 * be delivered as it would have been, then take the stop. */
		if (ptrace(PTRACE_CONT, tid, NULL, (void *)(long)WSTOPSIG(st)) < 0)
			return err_sys("tid %d: PTRACE_CONT", tid);
	}
}

int pt_detach(pid_t tid)
{
	if (ptrace(PTRACE_DETACH, tid, NULL, NULL) < 0 && errno != ESRCH)
		return err_sys("tid %d: PTRACE_DETACH", tid);
	return 0;
}

int pt_get_regs(pid_t tid, struct user_regs_struct *regs)
{
	if (ptrace(PTRACE_GETREGS, tid, NULL, regs) < 0)
		return err_sys("tid %d: PTRACE_GETREGS", tid);
	return 0;
}

int pt_set_regs(pid_t tid, const struct user_regs_struct *regs)
{
	if (ptrace(PTRACE_SETREGS, tid, NULL, regs) < 0)
		return err_sys("tid %d: PTRACE_SETREGS", tid);
	return 0;
}

int pt_get_xsave(pid_t tid, uint8_t *buf, uint32_t *len)
{
	struct iovec iov = { buf, *len };

	if (ptrace(PTRACE_GETREGSET, tid, (void *)NT_X86_XSTATE, &iov) < 0)
		return err_sys("tid %d: PTRACE_GETREGSET NT_X86_XSTATE", tid);
	*len = (uint32_t)iov.iov_len;
	return 0;
}

int pt_set_xsave(pid_t tid, const uint8_t *buf, uint32_t len)
{
	struct iovec iov = { (void *)buf, len };

	if (ptrace(PTRACE_SETREGSET, tid, (void *)NT_X86_XSTATE, &iov) < 0)
		return err_sys("tid %d: PTRACE_SETREGSET NT_X86_XSTATE (%u bytes)", tid, len);
	return 0;
}

int pt_get_sigmask(pid_t tid, uint64_t *mask)
{
	if (ptrace(PTRACE_GETSIGMASK, tid, (void *)sizeof(*mask), mask) < 0)
		return err_sys("tid %d: PTRACE_GETSIGMASK", tid);
	return 0;
}

int pt_set_sigmask(pid_t tid, uint64_t mask)
{
	if (ptrace(PTRACE_SETSIGMASK, tid, (void *)sizeof(mask), &mask) < 0)
		return err_sys("tid %d: PTRACE_SETSIGMASK", tid);
	return 0;
}

int pt_get_rseq(pid_t tid, uint64_t *addr, uint32_t *len, uint32_t *sig)
{
	struct ptrace_rseq_configuration conf;
	long r;

	memset(&conf, 0, sizeof(conf));
	r = ptrace(PTRACE_GET_RSEQ_CONFIGURATION, tid, (void *)sizeof(conf), &conf);
	if (r < 0)
		return err_sys("tid %d: PTRACE_GET_RSEQ_CONFIGURATION", tid);
	*addr = conf.rseq_abi_pointer;
	*len = conf.rseq_abi_size;
	*sig = conf.signature;
	return 0;
}

int pt_peek_siginfo(pid_t tid, int shared, struct cr_siginfo **out, uint32_t *n)
{
	struct ptrace_peeksiginfo_args args;
	struct cr_siginfo *list = NULL;
	uint32_t count = 0;

	for (;;) {
		struct cr_siginfo *grown;
		long r;

		grown = realloc(list, (count + 16) * sizeof(*list));
		if (!grown) {
			free(list);
			return err_set("tid %d: out of memory reading pending signals", tid);
		}
		list = grown;
		args.off = count;
		args.nr = 16;
		args.flags = shared ? PTRACE_PEEKSIGINFO_SHARED : 0;
		r = ptrace(PTRACE_PEEKSIGINFO, tid, &args, list + count);
		if (r < 0) {
			free(list);
			return err_sys("tid %d: PTRACE_PEEKSIGINFO", tid);
		}
		count += (uint32_t)r;
		if (r < 16)
			break;
	}
	if (count == 0) {
		free(list);
		list = NULL;
	}
	*out = list;
	*n = count;
	return 0;
}

int cpu_xsave_layout(uint32_t *size, uint64_t *xfeatures)
{
	unsigned int eax, ebx, ecx, edx, lo, hi;

	if (!__get_cpuid_count(0xd, 0, &eax, &ebx, &ecx, &edx))
		return err_set("cpu: no CPUID leaf 0xD (XSAVE)");
	*size = ebx;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	*xfeatures = ((uint64_t)hi << 32) | lo;
	return 0;
}
