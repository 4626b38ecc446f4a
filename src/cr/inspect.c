/* inspect.c - print a human-readable summary of a checkpoint image. */
#include <stdio.h>
#include <sys/mman.h>

#include "common/err.h"
#include "cr/cr.h"
#include "cr/files.h"
#include "cr/image.h"

static const char *vma_kind_name(uint32_t kind)
{
	static const char *const names[] = { "?", "anon", "file", "shmem", "file-shared",
					     "vvar", "vvar_vclock", "vdso", "vsyscall" };

	return kind < sizeof(names) / sizeof(names[0]) ? names[kind] : "?";
}

static void print_vma(FILE *out, const struct cr_vma *v)
{
	uint64_t pages = 0, inherited = 0;
	char inh[48] = "";

	for (uint32_t i = 0; i < v->nr_runs; i++) {
		pages += v->runs[i].nr_pages;
		if (v->runs[i].flags & CR_RUN_INHERITED)
			inherited += v->runs[i].nr_pages;
	}
	if (inherited)
		snprintf(inh, sizeof(inh), " (%llu the parent's)", (unsigned long long)inherited);
	fprintf(out, "    %012llx-%012llx %c%c%c %-11s %6llu pages stored%s%s%s\n",
		(unsigned long long)v->start, (unsigned long long)v->end,
		v->prot & PROT_READ ? 'r' : '-', v->prot & PROT_WRITE ? 'w' : '-',
		v->prot & PROT_EXEC ? 'x' : '-', vma_kind_name(v->kind),
		(unsigned long long)pages, inh, v->path ? " " : "", v->path ? v->path : "");
}

static void print_proc(FILE *out, const struct cr_proc *p)
{
	fprintf(out, "pid %d (%s) ppid %d pgid %d sid %d%s\n", p->pid, p->comm, p->ppid,
		p->pgid, p->sid, p->zombie ? " zombie" : "");
	if (p->zombie)
		return;
	fprintf(out, "  cwd %s exe %s uid %u gid %u\n", p->cwd ? p->cwd : "?",
		p->mm.exe_path ? p->mm.exe_path : "?", p->creds.uid, p->creds.gid);
	if (p->root && (p->root[0] != '/' || p->root[1]))
		fprintf(out, "  root %s\n", p->root);
	for (uint32_t i = 0; i < p->nr_threads; i++)
		fprintf(out, "  thread %d (%s) rip %llx rseq %llx pending %u\n",
			p->threads[i].tid, p->threads[i].comm,
			(unsigned long long)p->threads[i].regs.rip,
			(unsigned long long)p->threads[i].rseq_addr, p->threads[i].nr_pending);
	for (int w = 0; w < 3; w++)
		if (p->itimers[w].value_us)
			fprintf(out, "  itimer %d: %lld us left, interval %lld us\n", w,
				(long long)p->itimers[w].value_us,
				(long long)p->itimers[w].interval_us);
	for (uint32_t i = 0; i < p->nr_timers; i++)
		fprintf(out, "  posix timer %d: clock %d signal %d, %lld ns left, interval %lld ns\n",
			p->timers[i].id, p->timers[i].clock, p->timers[i].signo,
			(long long)p->timers[i].value_ns, (long long)p->timers[i].interval_ns);
	for (uint32_t i = 0; i < p->nr_fds; i++)
		fprintf(out, "  fd %d: file %u%s\n", p->fds[i].fd, p->fds[i].file,
			p->fds[i].cloexec ? " cloexec" : "");
	fprintf(out, "  %u mappings:\n", p->nr_vmas);
	for (uint32_t i = 0; i < p->nr_vmas; i++)
		print_vma(out, &p->vmas[i]);
}

/* An inet socket's addresses and state, and whether custody keeps it. */
static void print_inet(FILE *out, const struct cr_file *f)
{
	struct cr_inet sk;
	char what[160];

	if (f->kind != CR_FILE_TCP && f->kind != CR_FILE_UDP)
		return;
	if (cr_inet_model(f, &sk) < 0) {
		fprintf(out, ", (bad: %s)", err_msg());
		err_clear();
		return;
	}
	fprintf(out, ", %s", inet_describe(&sk, what, sizeof(what)));
	if (f->kind == CR_FILE_TCP && (f->inet.tcp.fin & CR_TCP_FIN_SENT))
		fprintf(out, ", FIN sent");
	if (f->kind == CR_FILE_TCP && (f->inet.tcp.fin & CR_TCP_FIN_RCVD))
		fprintf(out, ", receive side shut");
	if (f->inet.custody)
		fprintf(out, " (in custody)");
}

static void print_file(FILE *out, uint32_t id, const struct cr_file *f)
{
	const struct file_ops *ops = file_ops_of(f->kind);
	uint64_t bytes = 0;

	for (uint32_t k = 0; k < f->nr_data; k++)
		bytes += f->data[k].len;
	fprintf(out, "file %u: %s%s%s flags 0%o pos %llu", id, ops ? ops->name : "?",
		f->path ? " " : "", f->path ? f->path : "", f->flags,
		(unsigned long long)f->pos);
	if (f->peer != CR_FILE_NONE)
		fprintf(out, " peer %u", f->peer);
	if (f->nr_data)
		fprintf(out, ", %u blobs (%llu bytes)", f->nr_data, (unsigned long long)bytes);
	if (f->nr_ents)
		fprintf(out, ", %u entries", f->nr_ents);
	print_inet(out, f);
	if (f->kind == CR_FILE_UNIX && f->un.name_state == CR_UNIX_NAME_RENAMED)
		fprintf(out, ", bound to %.*s, renamed", (int)f->laddr.len - 2,
			(const char *)f->laddr.addr + 2);
	if (f->kind == CR_FILE_UNIX && f->un.name_state == CR_UNIX_NAME_UNLINKED)
		fprintf(out, ", bound to %.*s, unlinked", (int)f->laddr.len - 2,
			(const char *)f->laddr.addr + 2);
	fputc('\n', out);
}

/* The SysV objects of the tree's own IPC namespace. */
static void print_sysv(FILE *out, const struct cr_image *img)
{
	if (!img->ipc_ns)
		return;
	fprintf(out, "own IPC namespace\n");
	for (uint32_t i = 0; i < img->nr_shmem; i++) {
		const struct cr_shmem *sh = &img->shmem[i];

		if (sh->sysv)
			fprintf(out, "SysV shm id %d key 0x%08x (%llu bytes) mode 0%o uid %u%s\n",
				sh->perm.id, sh->perm.key, (unsigned long long)sh->segsz,
				sh->perm.mode, sh->perm.uid,
				sh->sysv == CR_SYSV_SHM_REMOVED ? " removed" : "");
	}
	for (uint32_t i = 0; i < img->nr_sems; i++)
		fprintf(out, "SysV semaphores id %d key 0x%08x (%u semaphores) mode 0%o uid %u\n",
			img->sems[i].perm.id, img->sems[i].perm.key, img->sems[i].nsems,
			img->sems[i].perm.mode, img->sems[i].perm.uid);
	for (uint32_t i = 0; i < img->nr_msgqs; i++)
		fprintf(out, "SysV message queue id %d key 0x%08x (%u messages) mode 0%o uid %u\n",
			img->msgqs[i].perm.id, img->msgqs[i].perm.key, img->msgqs[i].nr_msgs,
			img->msgqs[i].perm.mode, img->msgqs[i].perm.uid);
}

int cr_inspect(const char *dir, FILE *out)
{
	struct cr_image img;

	if (cr_image_read(dir, &img) < 0)
		return -1;
	fprintf(out, "image version %u, xsave %u bytes, %u processes, %u shared objects, "
		"%llu bytes of pages\n", img.version, img.xsave_size, img.nr_procs,
		img.nr_shmem, (unsigned long long)img.pages_size);
	for (uint32_t i = 0; i < img.nr_procs; i++)
		print_proc(out, &img.procs[i]);
	for (uint32_t i = 0; i < img.nr_files; i++)
		print_file(out, i, &img.files[i]);
	print_sysv(out, &img);
	cr_image_free(&img);
	return 0;
}
