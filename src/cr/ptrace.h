/*
 * ptrace.h - small wrappers around ptrace(2) for stopped threads:
 * seize/interrupt, waiting for a stop, registers, XSAVE state, signal
 * masks, rseq configuration and pending signals.  All take host tids.
 */
#ifndef PC_CR_PTRACE_H
#define PC_CR_PTRACE_H

#include <stdint.h>
#include <sys/types.h>
#include <sys/user.h>

#include "cr/image.h"

/* Seize tid and stop it (PTRACE_INTERRUPT), waiting for the stop. */
int pt_seize_stop(pid_t tid, unsigned long options);
/* PTRACE_SEIZE and PTRACE_INTERRUPT without waiting for the stop (a frozen
 * thread stops once thawed); pt_seize_stop() then only waits for it. */
int pt_seize_interrupt(pid_t tid, unsigned long options);
/* Wait for tid to stop; *status gets the wait status. Fails if it exits. */
int pt_wait_stop(pid_t tid, int *status);
int pt_detach(pid_t tid);

int pt_get_regs(pid_t tid, struct user_regs_struct *regs);
int pt_set_regs(pid_t tid, const struct user_regs_struct *regs);
/* XSAVE area: *len in = buffer size, out = bytes. */
int pt_get_xsave(pid_t tid, uint8_t *buf, uint32_t *len);
int pt_set_xsave(pid_t tid, const uint8_t *buf, uint32_t len);
int pt_get_sigmask(pid_t tid, uint64_t *mask);
int pt_set_sigmask(pid_t tid, uint64_t mask);
int pt_get_rseq(pid_t tid, uint64_t *addr, uint32_t *len, uint32_t *sig);
/* Pending signals: shared (process) queue or the thread's own. */
int pt_peek_siginfo(pid_t tid, int shared, struct cr_siginfo **out, uint32_t *n);

/* The CPU's XSAVE area size for ptrace and its XCR0 feature mask. */
int cpu_xsave_layout(uint32_t *size, uint64_t *xfeatures);

#endif
