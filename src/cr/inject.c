/* inject.c - system calls run inside stopped threads (see inject.h). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>
#include <elf.h>

#include "common/err.h"
#include "cr/inject.h"
#include "cr/ptrace.h"

/*
 * The scratch area's code.  At 0: one call ("syscall; int3").  At
 * INJ_BATCH_CODE: run the table of calls at %rbx, 64 bytes each
 * (nr, six arguments, result), until nr is -1 or a call fails, then int3:
 *
 *   loop: mov (%rbx),%rax; cmp $-1,%rax; je done
 *         mov 8(%rbx),%rdi; mov 16(%rbx),%rsi; mov 24(%rbx),%rdx
 *         mov 32(%rbx),%r10; mov 40(%rbx),%r8; mov 48(%rbx),%r9
 *         syscall; mov %rax,56(%rbx)
 *         cmp $-4095,%rax; jae done; add $64,%rbx; jmp loop
 *   done: int3
 */
static const uint8_t scratch_code[] = {
	0x0f, 0x05, 0xcc, 0x90, 0x90, 0x90, 0x90, 0x90,
	0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90,
	0x48, 0x8b, 0x03, 0x48, 0x83, 0xf8, 0xff, 0x74, 0x2c,
	0x48, 0x8b, 0x7b, 0x08, 0x48, 0x8b, 0x73, 0x10, 0x48, 0x8b, 0x53, 0x18,
	0x4c, 0x8b, 0x53, 0x20, 0x4c, 0x8b, 0x43, 0x28, 0x4c, 0x8b, 0x4b, 0x30,
	0x0f, 0x05, 0x48, 0x89, 0x43, 0x38,
	0x48, 0x3d, 0x01, 0xf0, 0xff, 0xff, 0x73, 0x06,
	0x48, 0x83, 0xc3, 0x40, 0xeb, 0xcb,
	0xcc,
};

const uint8_t *inj_scratch_code(size_t *len)
{
	*len = sizeof(scratch_code);
	return scratch_code;
}

int inj_open(struct inj *inj, pid_t pid, uint64_t scratch)
{
	char path[64];

	memset(inj, 0, sizeof(*inj));
	inj->pid = pid;
	inj->scratch = scratch;
	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	inj->mem_fd = open(path, O_RDWR | O_CLOEXEC);
	if (inj->mem_fd < 0)
		return err_sys("pid %d: open %s", pid, path);
	return 0;
}

void inj_close(struct inj *inj)
{
	if (inj->mem_fd >= 0)
		close(inj->mem_fd);
	inj->mem_fd = -1;
}

uint64_t inj_data(const struct inj *inj, uint64_t off)
{
	return inj->scratch + INJ_DATA_OFF + off;
}

int inj_write(struct inj *inj, uint64_t addr, const void *buf, size_t len)
{
	ssize_t n = pwrite(inj->mem_fd, buf, len, (off_t)addr);

	if (n < 0)
		return err_sys("pid %d: write %zu bytes at 0x%llx", inj->pid, len,
			       (unsigned long long)addr);
	if ((size_t)n != len)
		return err_set("pid %d: short write at 0x%llx", inj->pid,
			       (unsigned long long)addr);
	return 0;
}

int inj_read(struct inj *inj, uint64_t addr, void *buf, size_t len)
{
	ssize_t n = pread(inj->mem_fd, buf, len, (off_t)addr);

	if (n < 0)
		return err_sys("pid %d: read %zu bytes at 0x%llx", inj->pid, len,
			       (unsigned long long)addr);
	if ((size_t)n != len)
		return err_set("pid %d: short read at 0x%llx", inj->pid,
			       (unsigned long long)addr);
	return 0;
}

static void set_call_regs(struct user_regs_struct *r, uint64_t rip, long nr,
			  const uint64_t a[6])
{
	r->rip = rip;
	r->rax = (unsigned long long)nr;
	r->orig_rax = (unsigned long long)-1;
	r->rdi = a[0];
	r->rsi = a[1];
	r->rdx = a[2];
	r->r10 = a[3];
	r->r8 = a[4];
	r->r9 = a[5];
}

/* Resume tid and wait for the int3 after the call; PTRACE_EVENT_CLONE and
 * _FORK stops on the way are noted and passed. */
static int run_to_trap(struct inj *inj, pid_t tid)
{
	int st;

	for (;;) {
		if (ptrace(PTRACE_CONT, tid, NULL, NULL) < 0)
			return err_sys("tid %d: PTRACE_CONT", tid);
		if (pt_wait_stop(tid, &st) < 0)
			return -1;
		if ((st >> 8) == (SIGTRAP | (PTRACE_EVENT_CLONE << 8)) ||
		    (st >> 8) == (SIGTRAP | (PTRACE_EVENT_FORK << 8))) {
			unsigned long msg = 0;

			if (ptrace(PTRACE_GETEVENTMSG, tid, NULL, &msg) < 0)
				return err_sys("tid %d: PTRACE_GETEVENTMSG", tid);
			inj->clone_tid = msg;
			continue;
		}
		if (WSTOPSIG(st) == SIGTRAP && (st >> 16) == 0)
			return 0;
		if ((st >> 16) == PTRACE_EVENT_STOP)
			continue;   /* a late PTRACE_INTERRUPT trap: nothing to do */
		return err_set("tid %d: unexpected stop (signal %d, event %d) during injected call",
			       tid, WSTOPSIG(st), st >> 16);
	}
}

struct batch_entry {
	uint64_t nr;
	uint64_t arg[6];
	int64_t ret;
};

void inj_batch_init(struct inj_batch *b, struct inj *inj, pid_t tid)
{
	b->inj = inj;
	b->tid = tid;
	b->n = 0;
}

int inj_batch_add(struct inj_batch *b, const char *what, long nr, uint64_t a0,
		  uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5)
{
	struct inj_batch_call *c;

	if (b->n == INJ_BATCH_MAX && inj_batch_run(b) < 0)
		return -1;
	c = &b->calls[b->n++];
	c->nr = nr;
	c->arg[0] = a0;
	c->arg[1] = a1;
	c->arg[2] = a2;
	c->arg[3] = a3;
	c->arg[4] = a4;
	c->arg[5] = a5;
	snprintf(c->what, sizeof(c->what), "%s", what);
	return 0;
}

int inj_batch_run(struct inj_batch *b)
{
	struct batch_entry table[INJ_BATCH_MAX + 1];
	uint64_t at = inj_data(b->inj, INJ_BATCH_OFF);
	struct user_regs_struct r;
	uint32_t n = b->n;

	if (!n)
		return 0;
	b->n = 0;
	for (uint32_t i = 0; i < n; i++) {
		table[i].nr = (uint64_t)b->calls[i].nr;
		memcpy(table[i].arg, b->calls[i].arg, sizeof(table[i].arg));
		table[i].ret = -ECANCELED;   /* not reached */
	}
	table[n].nr = (uint64_t)-1;
	if (inj_write(b->inj, at, table, (n + 1) * sizeof(table[0])) < 0 ||
	    pt_get_regs(b->tid, &r) < 0)
		return -1;
	r.rip = b->inj->scratch + INJ_BATCH_CODE;
	r.rbx = at;
	r.orig_rax = (unsigned long long)-1;
	if (pt_set_regs(b->tid, &r) < 0 || run_to_trap(b->inj, b->tid) < 0 ||
	    inj_read(b->inj, at, table, n * sizeof(table[0])) < 0)
		return err_wrap("batch of %u injected calls", n);
	for (uint32_t i = 0; i < n; i++)
		if (table[i].ret < 0 && table[i].ret > -4096)
			return err_set("%s: %s", b->calls[i].what, strerror((int)-table[i].ret));
	return 0;
}

int inj_syscall(struct inj *inj, pid_t tid, long nr, uint64_t a0, uint64_t a1,
		uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5, int64_t *ret)
{
	const uint64_t a[6] = { a0, a1, a2, a3, a4, a5 };
	struct user_regs_struct r;

	if (pt_get_regs(tid, &r) < 0)
		return -1;
	set_call_regs(&r, inj->scratch, nr, a);
	if (pt_set_regs(tid, &r) < 0 || run_to_trap(inj, tid) < 0 ||
	    pt_get_regs(tid, &r) < 0)
		return err_wrap("injected syscall %ld", nr);
	*ret = (int64_t)r.rax;
	return 0;
}

int inj_call(struct inj *inj, pid_t tid, const char *what, long nr, uint64_t a0,
	     uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5,
	     int64_t *ret)
{
	int64_t r;

	if (inj_syscall(inj, tid, nr, a0, a1, a2, a3, a4, a5, &r) < 0)
		return err_wrap("%s", what);
	if (r < 0 && r > -4096)
		return err_set("%s: %s", what, strerror((int)-r));
	if (ret)
		*ret = r;
	return 0;
}

/* Resume with PTRACE_SYSCALL until a syscall-stop (TRACESYSGOOD). */
static int run_to_syscall_stop(pid_t tid)
{
	int st;

	if (ptrace(PTRACE_SYSCALL, tid, NULL, NULL) < 0)
		return err_sys("tid %d: PTRACE_SYSCALL", tid);
	if (pt_wait_stop(tid, &st) < 0)
		return -1;
	if (WSTOPSIG(st) != (SIGTRAP | 0x80))
		return err_set("tid %d: expected a syscall stop, got signal %d event %d",
			       tid, WSTOPSIG(st), st >> 16);
	return 0;
}

int inj_syscall_at(pid_t tid, uint64_t insn, long nr, uint64_t a0, uint64_t a1,
		   uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5, int64_t *ret)
{
	const uint64_t a[6] = { a0, a1, a2, a3, a4, a5 };
	struct user_regs_struct r;

	if (pt_get_regs(tid, &r) < 0)
		return -1;
	set_call_regs(&r, insn, nr, a);
	if (pt_set_regs(tid, &r) < 0 || run_to_syscall_stop(tid) < 0 ||
	    run_to_syscall_stop(tid) < 0 || pt_get_regs(tid, &r) < 0)
		return err_wrap("syscall %ld at vdso 0x%llx", nr, (unsigned long long)insn);
	*ret = (int64_t)r.rax;
	return 0;
}

int vdso_syscall_offset(uint64_t *off)
{
	static uint64_t cached;
	const uint8_t *base = (const uint8_t *)getauxval(AT_SYSINFO_EHDR);
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)base;
	size_t size = 0;

	if (cached) {
		*off = cached;
		return 0;
	}
	if (!base)
		return err_set("no vDSO in this process");
	/* The vDSO image ends where its last loadable segment ends. */
	for (int i = 0; i < eh->e_phnum; i++) {
		const Elf64_Phdr *ph = (const Elf64_Phdr *)(base + eh->e_phoff +
							     (size_t)i * eh->e_phentsize);
		if (ph->p_type == PT_LOAD && ph->p_offset + ph->p_filesz > size)
			size = ph->p_offset + ph->p_filesz;
	}
	for (size_t i = 0; i + 1 < size; i++) {
		if (base[i] == 0x0f && base[i + 1] == 0x05) {
			cached = i;
			*off = i;
			return 0;
		}
	}
	return err_set("no syscall instruction in the vDSO");
}

int inj_map_scratch(struct inj *inj, pid_t pid, pid_t tid, uint64_t vdso_insn)
{
	int64_t addr;

	if (inj_open(inj, pid, 0) < 0)
		return -1;
	if (inj_syscall_at(tid, vdso_insn, SYS_mmap, 0, INJ_SCRATCH_SIZE,
			   PROT_READ | PROT_WRITE | PROT_EXEC,
			   MAP_PRIVATE | MAP_ANONYMOUS, (uint64_t)-1, 0, &addr) < 0)
		goto fail;
	if (addr < 0 && addr > -4096) {
		err_set("mmap scratch area: %s", strerror((int)-addr));
		goto fail;
	}
	inj->scratch = (uint64_t)addr;
	if (inj_write(inj, inj->scratch, scratch_code, sizeof(scratch_code)) < 0) {
		inj_syscall_at(tid, vdso_insn, SYS_munmap, inj->scratch, INJ_SCRATCH_SIZE,
			       0, 0, 0, 0, &addr);
		goto fail;
	}
	return 0;
fail:
	inj_close(inj);
	return err_wrap("pid %d: map scratch area", pid);
}

int inj_unmap_scratch(struct inj *inj, pid_t tid, uint64_t vdso_insn)
{
	int64_t r;

	if (!inj->scratch)
		return 0;
	/* Through the vDSO's syscall instruction: the scratch area cannot
	 * unmap itself without a fault, and a fault forced while signals are
	 * blocked would reset the app's SIGSEGV handler. */
	if (inj_syscall_at(tid, vdso_insn, SYS_munmap, inj->scratch, INJ_SCRATCH_SIZE,
			   0, 0, 0, 0, &r) < 0)
		return err_wrap("pid %d: unmap scratch area", inj->pid);
	if (r != 0)
		return err_set("pid %d: munmap scratch area: %s", inj->pid, strerror((int)-r));
	inj->scratch = 0;
	return 0;
}
