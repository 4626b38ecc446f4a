/*
 * restore_mm.c - rebuild one process's address space from outside, by
 * system calls injected into its stopped leader: drop everything the fork
 * left (but the scratch area), map every VMA at its old address with its
 * old protection, move the vDSO to its old place, write the stored pages
 * (process_vm_writev), and set the mm fields with PR_SET_MM_MAP.
 */
#include <asm/prctl.h>
#include <errno.h>
#include <linux/prctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/err.h"
#include "cr/ptrace.h"
#include "cr/restore.h"

#define TASK_TOP 0x7ffffffff000ull
#define RSEQ_FLAG_UNREGISTER 1
#define IOV_BATCH 1024

static int drop_inherited_rseq(struct rst_proc *rp)
{
	pid_t tid = rp->host_tids[0];
	uint64_t addr;
	uint32_t len, sig;

	if (pt_get_rseq(tid, &addr, &len, &sig) < 0)
		return -1;
	if (!addr)
		return 0;
	return inj_call(&rp->inj, tid, "unregister inherited rseq", SYS_rseq, addr, len,
			RSEQ_FLAG_UNREGISTER, sig, 0, 0, NULL);
}

static int unmap_all_but_scratch(struct rst_ctx *c, struct rst_proc *rp)
{
	pid_t tid = rp->host_tids[0];
	uint64_t hi = c->scratch + INJ_SCRATCH_SIZE;

	if (inj_call(&rp->inj, tid, "munmap below scratch", SYS_munmap, 0, c->scratch,
		     0, 0, 0, 0, NULL) < 0)
		return -1;
	return inj_call(&rp->inj, tid, "munmap above scratch", SYS_munmap, hi,
			TASK_TOP - hi, 0, 0, 0, 0, NULL);
}

static uint32_t map_prot(const struct cr_vma *v)
{
	/* Writable while pages are written in; fixed up afterwards. */
	return v->prot | (v->nr_runs ? PROT_WRITE : 0);
}

static int map_one_vma(struct rst_ctx *c, struct rst_proc *rp, const struct cr_vma *v)
{
	uint64_t flags = MAP_FIXED, fd = (uint64_t)-1, off = 0;
	char what[96];
	int fi;

	switch (v->kind) {
	case CR_VMA_ANON:
		flags |= MAP_PRIVATE | MAP_ANONYMOUS;
		if (v->flags & CR_VMA_F_GROWSDOWN)
			flags |= MAP_GROWSDOWN;
		break;
	case CR_VMA_FILE:
	case CR_VMA_FILE_SHARED:
		fi = rst_file_index(rp, v->path);
		if (fi < 0)
			return err_set("vma 0x%llx: no service fd for %s",
				       (unsigned long long)v->start, v->path);
		flags |= v->kind == CR_VMA_FILE ? MAP_PRIVATE : MAP_SHARED;
		fd = (uint64_t)svc_file_fd(c, (uint32_t)fi);
		off = v->pgoff;
		break;
	case CR_VMA_SHMEM:
		flags |= MAP_SHARED;
		fd = (uint64_t)svc_shmem_fd(c, v->shmem_id);
		off = v->pgoff;
		break;
	default:
		return 0;   /* vDSO and friends: see map_vdso() */
	}
	snprintf(what, sizeof(what), "mmap 0x%llx (%llu pages)",
		 (unsigned long long)v->start,
		 (unsigned long long)((v->end - v->start) / CR_PAGE_SIZE));
	return inj_call(&rp->inj, rp->host_tids[0], what, SYS_mmap, v->start,
			v->end - v->start, map_prot(v), flags, fd, off, NULL);
}

static int advise_vma(struct rst_proc *rp, const struct cr_vma *v)
{
	static const struct { uint32_t flag; int advice; } adv[] = {
		{ CR_VMA_F_DONTFORK, MADV_DONTFORK },
		{ CR_VMA_F_DONTDUMP, MADV_DONTDUMP },
		{ CR_VMA_F_WIPEONFORK, MADV_WIPEONFORK },
		{ CR_VMA_F_HUGEPAGE, MADV_HUGEPAGE },
		{ CR_VMA_F_NOHUGEPAGE, MADV_NOHUGEPAGE },
	};

	if (v->kind != CR_VMA_ANON && v->kind != CR_VMA_FILE &&
	    v->kind != CR_VMA_FILE_SHARED && v->kind != CR_VMA_SHMEM)
		return 0;   /* the kernel's own mappings carry their own flags */
	for (size_t i = 0; i < sizeof(adv) / sizeof(adv[0]); i++)
		if ((v->flags & adv[i].flag) &&
		    inj_call(&rp->inj, rp->host_tids[0], "madvise", SYS_madvise, v->start,
			     v->end - v->start, (uint64_t)adv[i].advice, 0, 0, 0, NULL) < 0)
			return err_wrap("vma 0x%llx", (unsigned long long)v->start);
	return 0;
}

/* The vDSO (with [vvar] and [vvar_vclock] before it) goes back to its old
 * address: map a fresh one there and check it landed. */
static int map_vdso(struct rst_proc *rp)
{
	const struct cr_proc *p = rp->p;
	uint64_t vvar = 0, vdso = 0;
	int64_t r;

	for (uint32_t i = 0; i < p->nr_vmas; i++) {
		if (p->vmas[i].kind == CR_VMA_VVAR && !vvar)
			vvar = p->vmas[i].start;
		if (p->vmas[i].kind == CR_VMA_VDSO)
			vdso = p->vmas[i].start;
	}
	if (!vdso)
		return err_set("image has no [vdso] mapping");
	if (!vvar)
		return err_set("image has no [vvar] mapping (different kernel layout)");
	if (inj_call(&rp->inj, rp->host_tids[0], "arch_prctl(ARCH_MAP_VDSO_64)",
		     SYS_arch_prctl, ARCH_MAP_VDSO_64, vvar, 0, 0, 0, 0, &r) < 0)
		return -1;
	return 0;
}

static int check_vdso_place(struct rst_proc *rp)
{
	char path[64], line[512];
	const struct cr_proc *p = rp->p;
	uint64_t want = 0;
	FILE *f;
	int found = 0;

	for (uint32_t i = 0; i < p->nr_vmas; i++)
		if (p->vmas[i].kind == CR_VMA_VDSO)
			want = p->vmas[i].start;
	snprintf(path, sizeof(path), "/proc/%d/maps", rp->host_pid);
	f = fopen(path, "re");
	if (!f)
		return err_sys("open %s", path);
	while (fgets(line, sizeof(line), f)) {
		unsigned long long start;

		if (strstr(line, "[vdso]") && sscanf(line, "%llx-", &start) == 1) {
			found = 1;
			if (start != want) {
				fclose(f);
				return err_set("vdso landed at 0x%llx instead of 0x%llx",
					       start, (unsigned long long)want);
			}
		}
	}
	fclose(f);
	return found ? 0 : err_set("no [vdso] after mapping it");
}

/* Write every stored page of private VMAs, many runs per system call. */
static int write_pages(struct rst_ctx *c, struct rst_proc *rp)
{
	struct iovec local[IOV_BATCH], remote[IOV_BATCH];
	const struct cr_proc *p = rp->p;
	size_t n = 0, bytes = 0;

	for (uint32_t i = 0; i <= p->nr_vmas; i++) {
		const struct cr_vma *v = i < p->nr_vmas ? &p->vmas[i] : NULL;

		for (uint32_t k = 0; v && k < v->nr_runs; k++) {
			const struct cr_page_run *run = &v->runs[k];

			local[n].iov_base = (void *)(c->pages + run->file_off);
			local[n].iov_len = run->nr_pages * CR_PAGE_SIZE;
			remote[n].iov_base = (void *)(uintptr_t)run->addr;
			remote[n].iov_len = local[n].iov_len;
			bytes += local[n].iov_len;
			if (++n < IOV_BATCH)
				continue;
			if (process_vm_writev(rp->host_pid, local, n, remote, n, 0) != (ssize_t)bytes)
				return err_sys("write %zu pages at 0x%llx..", bytes / CR_PAGE_SIZE,
					       (unsigned long long)(uintptr_t)remote[0].iov_base);
			n = bytes = 0;
		}
	}
	if (n && process_vm_writev(rp->host_pid, local, n, remote, n, 0) != (ssize_t)bytes)
		return err_sys("write %zu pages at 0x%llx..", bytes / CR_PAGE_SIZE,
			       (unsigned long long)(uintptr_t)remote[0].iov_base);
	return 0;
}

static int fix_protections(struct rst_proc *rp)
{
	const struct cr_proc *p = rp->p;

	for (uint32_t i = 0; i < p->nr_vmas; i++) {
		const struct cr_vma *v = &p->vmas[i];
		char what[64];

		if (map_prot(v) == v->prot || (v->kind != CR_VMA_ANON && v->kind != CR_VMA_FILE))
			continue;
		snprintf(what, sizeof(what), "mprotect 0x%llx", (unsigned long long)v->start);
		if (inj_call(&rp->inj, rp->host_tids[0], what, SYS_mprotect, v->start,
			     v->end - v->start, v->prot, 0, 0, 0, NULL) < 0)
			return -1;
	}
	return 0;
}

static int set_mm_map(struct rst_ctx *c, struct rst_proc *rp)
{
	const struct cr_mm *mm = &rp->p->mm;
	struct prctl_mm_map map;
	uint64_t at = inj_data(&rp->inj, 0);

	memset(&map, 0, sizeof(map));
	map.start_code = mm->start_code;
	map.end_code = mm->end_code;
	map.start_data = mm->start_data;
	map.end_data = mm->end_data;
	map.start_brk = mm->start_brk;
	map.brk = mm->brk;
	map.start_stack = mm->start_stack;
	map.arg_start = mm->arg_start;
	map.arg_end = mm->arg_end;
	map.env_start = mm->env_start;
	map.env_end = mm->env_end;
	map.auxv = (__u64 *)(uintptr_t)(at + sizeof(map));
	map.auxv_size = mm->nr_auxv * 8;
	map.exe_fd = (uint32_t)svc_file_fd(c, (uint32_t)rp->exe_file);
	if (inj_write(&rp->inj, at, &map, sizeof(map)) < 0 ||
	    inj_write(&rp->inj, at + sizeof(map), mm->auxv, mm->nr_auxv * 8) < 0)
		return -1;
	return inj_call(&rp->inj, rp->host_tids[0], "prctl(PR_SET_MM_MAP)", SYS_prctl,
			PR_SET_MM, PR_SET_MM_MAP, at, sizeof(map), 0, 0, NULL);
}

int restore_mm(struct rst_ctx *c, struct rst_proc *rp)
{
	const struct cr_proc *p = rp->p;

	if (drop_inherited_rseq(rp) < 0 || unmap_all_but_scratch(c, rp) < 0)
		goto fail;
	for (uint32_t i = 0; i < p->nr_vmas; i++)
		if (map_one_vma(c, rp, &p->vmas[i]) < 0 || advise_vma(rp, &p->vmas[i]) < 0)
			goto fail;
	if (map_vdso(rp) < 0 || check_vdso_place(rp) < 0)
		goto fail;
	if (write_pages(c, rp) < 0 || fix_protections(rp) < 0 || set_mm_map(c, rp) < 0)
		goto fail;
	return 0;
fail:
	return err_wrap("restore pid %d: memory", p->pid);
}
