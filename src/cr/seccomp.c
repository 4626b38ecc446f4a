/*
 * seccomp.c - a tree's own seccomp filters through dump and restore: read
 * from the stopped threads, the "seccomp" file of the image dir (written,
 * read back and validated) and the lookup the restore makes (seccomp.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <unistd.h>

#include "box/box.h"
#include "common/err.h"
#include "common/io.h"
#include "cr/seccomp.h"

#define MAGIC "PCSECC01"
#define MAX_FILE (64u << 20)

static void free_proc(struct cr_seccomp_proc *p)
{
	for (uint32_t i = 0; i < p->nr; i++)
		free(p->filters[i].insns);
	free(p->filters);
	p->filters = NULL;
	p->nr = 0;
}

void cr_seccomp_free(struct cr_seccomp *s)
{
	for (uint32_t i = 0; i < s->nr_procs; i++)
		free_proc(&s->procs[i]);
	free(s->procs);
	s->procs = NULL;
	s->nr_procs = 0;
}

/* Filter idx of tid (0: the oldest) into f; 0 if there is none. */
static int read_filter(pid_t tid, unsigned long idx, struct cr_bpf *f)
{
	long n = ptrace(PTRACE_SECCOMP_GET_FILTER, tid, idx, NULL);

	if (n < 0)
		return errno == ENOENT ? 0 : err_sys("tid %d: seccomp filter %lu", tid, idx);
	if (n == 0 || n > BPF_MAXINSNS)
		return err_set("tid %d: seccomp filter %lu of %ld instructions", tid, idx, n);
	f->insns = calloc((size_t)n, sizeof(*f->insns));
	if (!f->insns)
		return err_set("out of memory");
	if (ptrace(PTRACE_SECCOMP_GET_FILTER, tid, idx, f->insns) != n) {
		free(f->insns);
		f->insns = NULL;
		return err_sys("tid %d: read seccomp filter %lu", tid, idx);
	}
	f->len = (uint32_t)n;
	return 1;
}

/* Every filter of tid, oldest first. */
static int read_chain(pid_t tid, struct cr_seccomp_proc *p)
{
	struct cr_bpf got[CR_SECCOMP_MAX_FILTERS + 1];
	uint32_t n = 0;
	int r;

	memset(p, 0, sizeof(*p));
	while ((r = read_filter(tid, n, &got[n])) == 1)
		if (++n > CR_SECCOMP_MAX_FILTERS) {
			r = err_set("tid %d: more than %d seccomp filters", tid,
				    CR_SECCOMP_MAX_FILTERS);
			break;
		}
	if (r == 0 && n) {
		p->filters = calloc(n, sizeof(*p->filters));
		if (!p->filters)
			r = err_set("out of memory");
	}
	if (r < 0) {
		for (uint32_t i = 0; i < n; i++)
			free(got[i].insns);
		return -1;
	}
	if (n)
		memcpy(p->filters, got, n * sizeof(*got));
	p->nr = n;
	return 0;
}

static int same_filter(const struct cr_bpf *a, const struct sock_filter *insns, uint32_t len)
{
	return a->len == len && !memcmp(a->insns, insns, len * sizeof(*insns));
}

static int same_chain(const struct cr_seccomp_proc *a, const struct cr_seccomp_proc *b)
{
	if (a->nr != b->nr)
		return 0;
	for (uint32_t i = 0; i < a->nr; i++)
		if (!same_filter(&a->filters[i], b->filters[i].insns, b->filters[i].len))
			return 0;
	return 1;
}

/* The box's filter, the oldest, is the box's to restore: drop it.  One
 * that differs from this build's is the box's filter of the build that
 * started the app (an upgrade since): it is kept as if the app's own, so
 * that the restored tree has both (no call it could make before is
 * allowed that this build's box denies, and the reverse). */
static int drop_box_filter(struct cr_seccomp_proc *p, const struct box *box)
{
	const struct sock_filter *insns;
	unsigned short len;

	if (!box || !p->nr)
		return 0;
	if (box_seccomp_filter(&insns, &len) < 0)
		return -1;
	if (!same_filter(&p->filters[0], insns, len))
		return 0;
	free(p->filters[0].insns);
	memmove(p->filters, p->filters + 1, (p->nr - 1) * sizeof(*p->filters));
	p->nr--;
	return 0;
}

static int read_threads(struct cr_seccomp_proc *p, const pid_t *tids, size_t nr,
			const struct box *box)
{
	if (read_chain(tids[0], p) < 0)
		return -1;
	for (size_t i = 1; i < nr; i++) {
		struct cr_seccomp_proc t;
		int same;

		if (read_chain(tids[i], &t) < 0)
			return -1;
		same = same_chain(p, &t);
		free_proc(&t);
		if (!same)
			return err_set("threads with different seccomp filters (unsupported)");
	}
	return drop_box_filter(p, box);
}

int cr_seccomp_read(struct cr_seccomp *s, int32_t pid, const pid_t *host_tids, size_t nr_tids,
		    const struct box *box)
{
	struct cr_seccomp_proc p, *g;

	if (read_threads(&p, host_tids, nr_tids, box) < 0) {
		free_proc(&p);
		return err_wrap("pid %d", pid);
	}
	if (!p.nr) {
		free_proc(&p);
		return 0;
	}
	g = realloc(s->procs, (s->nr_procs + 1) * sizeof(*g));
	if (!g) {
		free_proc(&p);
		return err_set("out of memory");
	}
	p.pid = pid;
	s->procs = g;
	s->procs[s->nr_procs++] = p;
	return 0;
}

const struct cr_seccomp_proc *cr_seccomp_of(const struct cr_seccomp *s, int32_t pid)
{
	for (uint32_t i = 0; i < s->nr_procs; i++)
		if (s->procs[i].pid == pid)
			return &s->procs[i];
	return NULL;
}

/* --- the file --- */

static int put(FILE *f, const void *p, size_t len)
{
	return fwrite(p, 1, len, f) == len ? 0 : -1;
}

static int write_all(FILE *f, const struct cr_seccomp *s)
{
	if (put(f, MAGIC, 8) < 0 || put(f, &s->nr_procs, 4) < 0)
		return -1;
	for (uint32_t i = 0; i < s->nr_procs; i++) {
		const struct cr_seccomp_proc *p = &s->procs[i];

		if (put(f, &p->pid, 4) < 0 || put(f, &p->nr, 4) < 0)
			return -1;
		for (uint32_t j = 0; j < p->nr; j++)
			if (put(f, &p->filters[j].len, 4) < 0 ||
			    put(f, p->filters[j].insns, p->filters[j].len * sizeof(struct sock_filter)) < 0)
				return -1;
	}
	return 0;
}

int cr_seccomp_save(const struct cr_seccomp *s, const char *dir)
{
	char path[4200];
	FILE *f;
	int rc;

	snprintf(path, sizeof(path), "%s/" CR_SECCOMP_FILE, dir);
	if (!s->nr_procs)   /* none, and none from an earlier dump either */
		return unlink(path) == 0 || errno == ENOENT ? 0 : err_sys("remove %s", path);
	f = fopen(path, "we");
	if (!f)
		return err_sys("create %s", path);
	rc = write_all(f, s);
	if (fflush(f) != 0 || fsync(fileno(f)) < 0)
		rc = -1;
	if (fclose(f) != 0 || rc < 0) {
		unlink(path);
		return err_sys("write %s", path);
	}
	return 0;
}

struct rd {
	const uint8_t *p;
	size_t left;
};

static int take(struct rd *r, void *out, size_t len)
{
	if (r->left < len)
		return -1;
	memcpy(out, r->p, len);
	r->p += len;
	r->left -= len;
	return 0;
}

static int parse_proc(struct rd *r, struct cr_seccomp_proc *p)
{
	int32_t pid;
	uint32_t nr;

	if (take(r, &pid, 4) < 0 || take(r, &nr, 4) < 0)
		return err_set("truncated");
	if (pid < 1 || nr == 0 || nr > CR_SECCOMP_MAX_FILTERS)
		return err_set("pid %" PRId32 " with %" PRIu32 " filters", pid, nr);
	p->filters = calloc(nr, sizeof(*p->filters));
	if (!p->filters)
		return err_set("out of memory");
	p->pid = pid;
	p->nr = nr;
	for (uint32_t i = 0; i < p->nr; i++) {
		struct cr_bpf *f = &p->filters[i];
		uint32_t len;

		if (take(r, &len, 4) < 0 || len == 0 || len > BPF_MAXINSNS ||
		    r->left < len * sizeof(*f->insns))
			return err_set("pid %" PRId32 ": bad filter %" PRIu32, p->pid, i);
		f->insns = malloc(len * sizeof(*f->insns));
		if (!f->insns)
			return err_set("out of memory");
		f->len = len;
		take(r, f->insns, len * sizeof(*f->insns));
	}
	return 0;
}

int cr_seccomp_parse(const uint8_t *buf, size_t len, struct cr_seccomp *s)
{
	struct rd r = { buf, len };
	char magic[8];
	uint32_t n;

	memset(s, 0, sizeof(*s));
	if (take(&r, magic, 8) < 0 || memcmp(magic, MAGIC, 8) || take(&r, &n, 4) < 0)
		return err_set("seccomp: not a filter file");
	if (n == 0 || n > r.left / 16)
		return err_set("seccomp: %" PRIu32 " processes", n);
	s->procs = calloc(n, sizeof(*s->procs));
	if (!s->procs)
		return err_set("out of memory");
	for (uint32_t i = 0; i < n; i++) {
		s->nr_procs = i + 1;
		if (parse_proc(&r, &s->procs[i]) < 0)
			return err_wrap("seccomp");
		if (cr_seccomp_of(s, s->procs[i].pid) != &s->procs[i])
			return err_set("seccomp: pid %" PRId32 " twice", s->procs[i].pid);
	}
	if (r.left)
		return err_set("seccomp: %zu bytes after the filters", r.left);
	return 0;
}

int cr_seccomp_load(const char *dir, struct cr_seccomp *s)
{
	char path[4200];
	struct stat st;
	uint8_t *buf;
	int fd, rc;

	memset(s, 0, sizeof(*s));
	snprintf(path, sizeof(path), "%s/" CR_SECCOMP_FILE, dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : err_sys("open %s", path);
	if (fstat(fd, &st) < 0 || st.st_size > MAX_FILE) {
		close(fd);
		return err_set("%s: too large or unreadable", path);
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		close(fd);
		return err_set("out of memory");
	}
	if (read(fd, buf, (size_t)st.st_size) != st.st_size)
		rc = err_sys("read %s", path);
	else
		rc = cr_seccomp_parse(buf, (size_t)st.st_size, s);
	free(buf);
	close(fd);
	if (rc < 0)
		cr_seccomp_free(s);
	return rc;
}
