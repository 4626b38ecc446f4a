/*
 * inject.h - run system calls inside a stopped, ptrace-seized thread.
 *
 * A scratch area in the target holds "syscall; int3" followed by data
 * pages for arguments; inj_syscall() points the thread at it, lets it run
 * to the int3 and reads the result.  During a dump the scratch area is
 * created by a first call made at a `syscall` instruction found in the
 * vDSO (stopping at syscall exit); during a restore the forked child maps
 * it itself.  Callers save and restore the thread's registers.
 */
#ifndef PC_CR_INJECT_H
#define PC_CR_INJECT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define INJ_SCRATCH_SIZE (16 * 4096ul)  /* one code page, then data */
#define INJ_DATA_OFF 4096ul
#define INJ_BATCH_CODE 16               /* the batch loop in the code page */
#define INJ_BATCH_OFF 32768ul           /* batch table, in the data area */
#define INJ_BATCH_MAX 256

struct inj {
	pid_t pid;          /* host pid of the target process */
	uint64_t scratch;   /* start of the scratch area in the target */
	int mem_fd;         /* /proc/PID/mem, read-write */
	uint64_t clone_tid; /* host tid reported by the last PTRACE_EVENT_CLONE */
};

/* Open /proc/PID/mem for a target whose scratch area is at scratch. */
int inj_open(struct inj *inj, pid_t pid, uint64_t scratch);
void inj_close(struct inj *inj);

/* The scratch area's machine code, to be copied to its start. */
const uint8_t *inj_scratch_code(size_t *len);

/* A batch of calls run in one stop: queue with inj_batch_add (it runs the
 * batch when full), run with inj_batch_run.  Calls run in order and stop at
 * the first that fails, which is reported with its description.  Arguments
 * pointing into the data area must not overlap INJ_BATCH_OFF. */
struct inj_batch_call {
	long nr;
	uint64_t arg[6];
	char what[96];
};

struct inj_batch {
	struct inj *inj;
	pid_t tid;
	uint32_t n;
	struct inj_batch_call calls[INJ_BATCH_MAX];
};

void inj_batch_init(struct inj_batch *b, struct inj *inj, pid_t tid);
int inj_batch_add(struct inj_batch *b, const char *what, long nr, uint64_t a0,
		  uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5);
int inj_batch_run(struct inj_batch *b);

/* Run syscall nr(args) in stopped thread tid; *ret gets rax. */
int inj_syscall(struct inj *inj, pid_t tid, long nr, uint64_t a0, uint64_t a1,
		uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5, int64_t *ret);
/* Same, but the call must succeed (ret >= 0); names the call on failure. */
int inj_call(struct inj *inj, pid_t tid, const char *what, long nr, uint64_t a0,
	     uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5,
	     int64_t *ret);
/* Run one syscall at the `syscall` instruction at insn, stopping at its
 * exit (PTRACE_SYSCALL); needs no scratch area. */
int inj_syscall_at(pid_t tid, uint64_t insn, long nr, uint64_t a0, uint64_t a1,
		   uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5, int64_t *ret);

/* Address of the scratch data area (+off) in the target. */
uint64_t inj_data(const struct inj *inj, uint64_t off);
/* Copy into / out of the target's memory at any address. */
int inj_write(struct inj *inj, uint64_t addr, const void *buf, size_t len);
int inj_read(struct inj *inj, uint64_t addr, void *buf, size_t len);

/* Offset of a `syscall` instruction inside the vDSO (same for every
 * process on this kernel). */
int vdso_syscall_offset(uint64_t *off);

/* Create the scratch area in a dump target through the vDSO; the
 * instruction is at vdso_start + vdso_syscall_offset(). */
int inj_map_scratch(struct inj *inj, pid_t pid, pid_t tid, uint64_t vdso_insn);
/* Remove it again (last call of a dump or restore), through the vDSO's
 * syscall instruction at vdso_insn; the thread is left in a syscall-exit
 * stop. */
int inj_unmap_scratch(struct inj *inj, pid_t tid, uint64_t vdso_insn);

#endif
