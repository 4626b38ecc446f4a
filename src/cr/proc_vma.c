/*
 * proc_vma.c - a process's memory map from /proc/PID/smaps, one read per
 * process, classified into enum cr_vma_kind (proc_read_vmas; see proc.h).
 * File-backed VMAs are identified through /proc/PID/map_files/START-END.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <linux/magic.h>

#include "common/err.h"
#include "cr/proc.h"

/* Where we are in smaps, for error messages. */
struct smaps_ctx {
	pid_t pid;
	char path[64];
	int lineno;
	struct cr_vma *v;
	uint32_t n, cap;
};

struct vma_line {
	uint64_t start, end, offset;
	char perms[5];
	const char *name;              /* "" for none */
};

static int vma_err(struct smaps_ctx *c, const char *what)
{
	return err_set("%s line %d: %s", c->path, c->lineno, what);
}

static int starts_with(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

/* "start-end perms offset major:minor inode [name]" */
static int parse_header(char *line, struct vma_line *h)
{
	uint64_t dev_major, dev_minor, inode;
	char *e;

	if (proc_parse_u64(line, 16, &h->start, &e) < 0 || *e != '-' ||
	    proc_parse_u64(e + 1, 16, &h->end, &e) < 0 || *e != ' ')
		return -1;
	e++;
	if (strlen(e) < 5 || e[4] != ' ' || !strchr("r-", e[0]) || !strchr("w-", e[1]) ||
	    !strchr("x-", e[2]) || !strchr("sp", e[3]))
		return -1;
	memcpy(h->perms, e, 4);
	h->perms[4] = '\0';
	if (proc_parse_u64(e + 5, 16, &h->offset, &e) < 0 || *e != ' ' ||
	    proc_parse_u64(e + 1, 16, &dev_major, &e) < 0 || *e != ':' ||
	    proc_parse_u64(e + 1, 16, &dev_minor, &e) < 0 || *e != ' ' ||
	    proc_parse_u64(e + 1, 10, &inode, &e) < 0 || (*e != ' ' && *e))
		return -1;
	while (*e == ' ')
		e++;
	h->name = e;
	return 0;
}

static int is_shmem_name(const char *name)
{
	return starts_with(name, "/memfd:") || starts_with(name, "/SYSV") ||
	       !strcmp(name, "/dev/zero (deleted)") || starts_with(name, "/dev/shm/") ||
	       starts_with(name, "[anon_shmem:");
}

/* Special [name] mappings that are not files. */
static int classify_special(struct cr_vma *v, const char *name)
{
	static const struct {
		const char *name;
		uint32_t kind, flags;
	} specials[] = {
		{ "[heap]", CR_VMA_ANON, CR_VMA_F_HEAP },
		{ "[stack]", CR_VMA_ANON, CR_VMA_F_STACK },
		{ "[vvar]", CR_VMA_VVAR, 0 },
		{ "[vvar_vclock]", CR_VMA_VVAR_VCLOCK, 0 },
		{ "[vdso]", CR_VMA_VDSO, 0 },
		{ "[vsyscall]", CR_VMA_VSYSCALL, 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(specials) / sizeof(specials[0]); i++) {
		if (!strcmp(name, specials[i].name)) {
			if (v->flags & CR_VMA_F_SHARED)
				break;
			v->kind = specials[i].kind;
			v->flags |= specials[i].flags;
			return 0;
		}
	}
	if (starts_with(name, "[anon:") && !(v->flags & CR_VMA_F_SHARED)) {
		v->kind = CR_VMA_ANON;
		return 0;
	}
	err_set("vma %llx-%llx: unsupported special mapping %s",
		(unsigned long long)v->start, (unsigned long long)v->end, name);
	return -1;
}

static int is_deleted_suffix(const char *s)
{
	size_t len = strlen(s), slen = strlen(" (deleted)");

	return len >= slen && !strcmp(s + len - slen, " (deleted)");
}

/* stat (and statfs) the file behind a VMA; *target = its path. */
static int stat_map_file(struct smaps_ctx *c, struct cr_vma *v, struct stat *st,
			 long *fs_type, char **target)
{
	char path[96];
	struct statfs sfs;

	snprintf(path, sizeof(path), "/proc/%d/map_files/%llx-%llx", c->pid,
		 (unsigned long long)v->start, (unsigned long long)v->end);
	if (stat(path, st) < 0)
		return err_sys("stat %s", path);
	if (statfs(path, &sfs) < 0)
		return err_sys("statfs %s", path);
	*fs_type = (long)sfs.f_type;
	return proc_readlink(c->pid, path, target);
}

/* A file on tmpfs that has a name (a POSIX shm object in /dev/shm, say),
 * not a memfd, a SysV segment or a file since removed. */
static int is_named_tmpfs_file(const struct stat *st, long fs_type, const char *name,
			       const char *target)
{
	return S_ISREG(st->st_mode) && fs_type == TMPFS_MAGIC && st->st_nlink > 0 &&
	       !is_deleted_suffix(name) && target[0] == '/' && !is_deleted_suffix(target);
}

const char *proc_unsupported_hint(const char *name)
{
	if (strstr(name, "[io_uring]"))
		return " (io_uring is not carried: run the app in a box, which refuses "
		       "io_uring so that runtimes fall back to epoll and threads, or turn "
		       "it off, e.g. UV_USE_IO_URING=0 for Node.js)";
	return "";
}

static int classify_file(struct smaps_ctx *c, struct cr_vma *v, const char *name, uint64_t offset)
{
	int shared = !!(v->flags & CR_VMA_F_SHARED);
	char *target;
	struct stat st;
	long fs_type = 0;

	if (stat_map_file(c, v, &st, &fs_type, &target) < 0)
		return -1;
	if (!shared && S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 5)) {
		v->kind = CR_VMA_ANON;          /* private /dev/zero: anonymous */
		free(target);
		return 0;
	}
	if (shared && (fs_type == TMPFS_MAGIC || is_shmem_name(name))) {
		v->kind = CR_VMA_SHMEM;
		if (is_named_tmpfs_file(&st, fs_type, name, target))
			v->path = target;   /* restore maps it again if still there */
		else
			free(target);
	} else if (S_ISREG(st.st_mode)) {
		if (st.st_nlink == 0 || is_deleted_suffix(name)) {
			err_set("vma %llx-%llx maps deleted file %s (unsupported)",
				(unsigned long long)v->start, (unsigned long long)v->end, target);
			free(target);
			return -1;
		}
		v->kind = shared ? CR_VMA_FILE_SHARED : CR_VMA_FILE;
		v->path = target;
	} else {
		char mode[32] = "";   /* none for an anonymous inode (io_uring...) */

		if (st.st_mode & S_IFMT)
			snprintf(mode, sizeof(mode), " (mode %o)", (unsigned)(st.st_mode & S_IFMT));
		err_set("vma %llx-%llx: unsupported %s mapping of %s%s%s",
			(unsigned long long)v->start, (unsigned long long)v->end,
			shared ? "shared" : "private", target, mode,
			proc_unsupported_hint(target));
		free(target);
		return -1;
	}
	v->dev = st.st_dev;
	v->ino = st.st_ino;
	v->file_size = (uint64_t)st.st_size;
	v->file_mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
	v->pgoff = offset;
	return 0;
}

static int vma_push(struct smaps_ctx *c, struct cr_vma **out)
{
	struct cr_vma *nv;

	if (c->n == CR_MAX_VMAS)
		return vma_err(c, "too many vmas");
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 64;
		nv = realloc(c->v, c->cap * sizeof(*nv));
		if (!nv)
			return vma_err(c, "out of memory");
		c->v = nv;
	}
	*out = &c->v[c->n++];
	memset(*out, 0, sizeof(**out));
	return 0;
}

static int add_vma(struct smaps_ctx *c, char *line)
{
	struct vma_line h;
	struct cr_vma *v = NULL;

	if (parse_header(line, &h) < 0)
		return vma_err(c, "malformed vma line");
	if (h.start >= h.end || (h.start | h.end) % CR_PAGE_SIZE)
		return vma_err(c, "bad range");
	if (c->n && h.start < c->v[c->n - 1].end)
		return vma_err(c, "vmas out of order or overlapping");
	if (vma_push(c, &v) < 0)
		return -1;
	v->start = h.start;
	v->end = h.end;
	v->prot = (h.perms[0] == 'r' ? PROT_READ : 0) | (h.perms[1] == 'w' ? PROT_WRITE : 0) |
		  (h.perms[2] == 'x' ? PROT_EXEC : 0);
	v->flags = h.perms[3] == 's' ? CR_VMA_F_SHARED : 0;
	if (h.name[0] == '[' && !starts_with(h.name, "[anon_shmem:"))
		return classify_special(v, h.name);
	if (!h.name[0] && !(v->flags & CR_VMA_F_SHARED)) {
		v->kind = CR_VMA_ANON;
		return 0;
	}
	return classify_file(c, v, h.name, h.offset);
}

/* "VmFlags: rd wr mr mw me gd ac" for the last vma. */
static int apply_vmflags(struct smaps_ctx *c, char *value)
{
	static const struct {
		char code[3];
		uint32_t flag;
	} map[] = {
		{ "gd", CR_VMA_F_GROWSDOWN }, { "dc", CR_VMA_F_DONTFORK },
		{ "dd", CR_VMA_F_DONTDUMP }, { "wf", CR_VMA_F_WIPEONFORK },
		{ "hg", CR_VMA_F_HUGEPAGE }, { "nh", CR_VMA_F_NOHUGEPAGE },
		{ "lo", CR_VMA_F_LOCKED },
	};
	char *tok, *save;
	size_t i;

	if (!c->n)
		return vma_err(c, "VmFlags before any vma");
	for (tok = strtok_r(value, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
		for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
			if (!strcmp(tok, map[i].code))
				c->v[c->n - 1].flags |= map[i].flag;
	return 0;
}

/* "Rss:" or "Swap:" of the last VMA, in kB. */
static int apply_kb(struct smaps_ctx *c, const char *value, uint64_t *kb)
{
	char *end;

	if (!c->n)
		return vma_err(c, "Rss or Swap before any vma");
	*kb = strtoull(value, &end, 10);
	if (end == value)
		return vma_err(c, "unreadable Rss or Swap");
	return 0;
}

static int smaps_line(struct smaps_ctx *c, char *line)
{
	if ((line[0] >= '0' && line[0] <= '9') || (line[0] >= 'a' && line[0] <= 'f'))
		return add_vma(c, line);
	if (starts_with(line, "VmFlags:"))
		return apply_vmflags(c, line + strlen("VmFlags:"));
	if (starts_with(line, "Rss:"))
		return apply_kb(c, line + strlen("Rss:"), &c->v[c->n - 1].rss_kb);
	if (starts_with(line, "Swap:"))
		return apply_kb(c, line + strlen("Swap:"), &c->v[c->n - 1].swap_kb);
	return 0;  /* Size:, Pss:, ... */
}

int proc_read_vmas(pid_t host_pid, struct cr_vma **vmas, uint32_t *n)
{
	struct smaps_ctx c = { .pid = host_pid };
	char *buf, *cur, *line;
	size_t len;

	snprintf(c.path, sizeof(c.path), "/proc/%d/smaps", host_pid);
	if (proc_slurp(host_pid, c.path, &buf, &len) < 0)
		return -1;
	cur = buf;
	while ((line = proc_next_line(&cur))) {
		c.lineno++;
		if (smaps_line(&c, line) < 0) {
			free(buf);
			proc_free_vmas(c.v, c.n);
			return -1;
		}
	}
	free(buf);
	*vmas = c.v;
	*n = c.n;
	return 0;
}

void proc_free_vmas(struct cr_vma *v, uint32_t n)
{
	uint32_t i;

	if (!v)
		return;
	for (i = 0; i < n; i++) {
		free(v[i].path);
		free(v[i].runs);
	}
	free(v);
}
