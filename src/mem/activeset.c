/*
 * activeset.c - the ActiveSet file (DIR/activeset) and its policy (see
 * activeset.h).  The file is text:
 *
 *     picocenter-activeset 1
 *     revival 3
 *     proc 1
 *     r 7f0000000000 256 1          address (hex), pages, history mask
 *     ...
 *     xxh3 0123456789abcdef         XXH3-64 of every byte above
 *
 * Every field is checked when read: the checksum first, then each line.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "common/err.h"
#include "common/io.h"
#include "mem/activeset.h"

#define AS_MAGIC "picocenter-activeset 1\n"
#define AS_MAX_BYTES (256u << 20)
#define AS_MAX_PROCS 4096
#define AS_PAGE 4096ull
#define AS_MAX_PAGES (1ull << 36)

/* ---- policy ---- */

int mem_as_wanted(uint32_t mask)
{
	return __builtin_popcount(mask & ((1u << MEM_AS_HISTORY) - 1)) >= MEM_AS_MIN_SEEN;
}

uint32_t mem_as_next_mask(uint32_t mask, int seen)
{
	return ((mask << 1) | (seen ? 1u : 0u)) & ((1u << MEM_AS_HISTORY) - 1);
}

int mem_as_is_probe(uint64_t addr, uint64_t revival)
{
	uint64_t h = (addr / AS_PAGE) * 0x9E3779B97F4A7C15ull;

	return ((h >> 40) + revival) % MEM_AS_PROBE_EVERY == 0;
}

/* ---- reading ---- */

void mem_as_free(struct mem_as *as)
{
	for (size_t i = 0; as->procs && i < as->n; i++)
		free(as->procs[i].runs);
	free(as->procs);
	memset(as, 0, sizeof(*as));
}

const struct mem_as_proc *mem_as_find(const struct mem_as *as, pid_t pid)
{
	for (size_t i = 0; as && i < as->n; i++)
		if (as->procs[i].pid == pid)
			return &as->procs[i];
	return NULL;
}

static int add_proc(struct mem_as *as, long pid)
{
	struct mem_as_proc *v;

	if (pid <= 0 || pid > 4194304)
		return err_set("bad pid %ld", pid);
	if (as->n >= AS_MAX_PROCS)
		return err_set("more than %d processes", AS_MAX_PROCS);
	if (mem_as_find(as, (pid_t)pid))
		return err_set("pid %ld listed twice", pid);
	v = realloc(as->procs, (as->n + 1) * sizeof(*v));
	if (!v)
		return err_set("out of memory");
	as->procs = v;
	memset(&v[as->n], 0, sizeof(v[as->n]));
	v[as->n++].pid = (pid_t)pid;
	return 0;
}

static int add_run(struct mem_as *as, uint64_t addr, uint64_t n, unsigned long mask,
		   size_t *cap)
{
	struct mem_as_proc *p;

	if (as->n == 0)
		return err_set("a run before any proc line");
	p = &as->procs[as->n - 1];
	if (addr % AS_PAGE || n == 0 || n > AS_MAX_PAGES || addr + n * AS_PAGE < addr ||
	    addr >= (1ull << 57))
		return err_set("bad run 0x%llx+%llu pages", (unsigned long long)addr,
			       (unsigned long long)n);
	if (mask == 0 || mask >= (1ul << MEM_AS_HISTORY))
		return err_set("bad mask %lu", mask);
	if (p->n && addr < p->runs[p->n - 1].addr + p->runs[p->n - 1].nr_pages * AS_PAGE)
		return err_set("run 0x%llx out of order", (unsigned long long)addr);
	if (p->n == *cap) {
		size_t nc = *cap ? *cap * 2 : 16;
		struct mem_as_run *v = realloc(p->runs, nc * sizeof(*v));

		if (!v)
			return err_set("out of memory");
		p->runs = v;
		*cap = nc;
	}
	p->runs[p->n++] = (struct mem_as_run){ addr, n, (uint32_t)mask };
	return 0;
}

static int parse_line(struct mem_as *as, const char *line, size_t *cap)
{
	unsigned long long a, b;
	unsigned long mask;
	long pid;
	int used = 0;

	if (sscanf(line, "revival %llu%n", &a, &used) == 1 && line[used] == '\0') {
		as->revival = a;
		return 0;
	}
	if (sscanf(line, "proc %ld%n", &pid, &used) == 1 && line[used] == '\0') {
		*cap = 0;
		return add_proc(as, pid);
	}
	if (sscanf(line, "r %llx %llu %lu%n", &a, &b, &mask, &used) == 3 && line[used] == '\0')
		return add_run(as, a, b, mask, cap);
	return err_set("unknown line '%.40s'", line);
}

static int check_sum(const char *text, size_t len, size_t *body)
{
	const char *last;
	unsigned long long want;
	int used = 0;
	size_t n;

	if (len < sizeof(AS_MAGIC) || memcmp(text, AS_MAGIC, sizeof(AS_MAGIC) - 1))
		return err_set("not an activeset file (bad first line)");
	if (text[len - 1] != '\n')
		return err_set("truncated (no final newline)");
	for (n = len - 1; n > 0 && text[n - 1] != '\n'; n--)
		;
	last = text + n;
	if (len - n != 22 || strncmp(last, "xxh3 ", 5) ||
	    strspn(last + 5, "0123456789abcdef") != 16 ||
	    sscanf(last, "xxh3 %16llx%n", &want, &used) != 1 || used != 21)
		return err_set("no checksum line at the end");
	if (XXH3_64bits(text, n) != want)
		return err_set("checksum mismatch (corrupted file)");
	*body = n;
	return 0;
}

int mem_as_parse(const char *text, size_t len, struct mem_as *as)
{
	size_t body = 0, at = sizeof(AS_MAGIC) - 1, cap = 0;
	char line[128];

	memset(as, 0, sizeof(*as));
	if (check_sum(text, len, &body) < 0)
		return err_wrap("activeset");
	while (at < body) {
		const char *nl = memchr(text + at, '\n', body - at);
		size_t l = (size_t)(nl - (text + at));

		if (l >= sizeof(line) || memchr(text + at, '\0', l)) {
			mem_as_free(as);
			return err_set("activeset: line %zu bytes long", l);
		}
		memcpy(line, text + at, l);
		line[l] = '\0';
		if (parse_line(as, line, &cap) < 0) {
			mem_as_free(as);
			return err_wrap("activeset");
		}
		at += l + 1;
	}
	return 0;
}

int mem_as_read_or_skip(const char *dir, struct mem_as *as)
{
	int rc = mem_as_read(dir, as);

	if (rc >= 0)
		return rc;
	fprintf(stderr, "picocenter: warning: %s; going on without the ActiveSet\n", err_msg());
	err_clear();
	return 1;
}

int mem_as_read(const char *dir, struct mem_as *as)
{
	char path[4200], *text;
	ssize_t got;
	int rc;

	memset(as, 0, sizeof(*as));
	snprintf(path, sizeof(path), "%s/%s", dir, MEM_AS_FILE);
	got = read_whole(path, AS_MAX_BYTES, &text);
	if (got < 0 && errno == ENOENT)
		return 1;
	if (got < 0)
		return errno == EFBIG ? err_set("%s is too large", path) : err_sys("read %s", path);
	rc = mem_as_parse(text, (size_t)got, as);
	free(text);
	return rc < 0 ? err_wrap("%s", path) : 0;
}

/* ---- writing ---- */

static void wprintf(struct mem_as_writer *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void wprintf(struct mem_as_writer *w, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (w->failed)
		return;
	if (w->cap - w->len < 128) {
		size_t cap = w->cap ? w->cap * 2 : 4096;
		char *b = realloc(w->buf, cap);

		if (!b) {
			w->failed = 1;
			return;
		}
		w->buf = b;
		w->cap = cap;
	}
	va_start(ap, fmt);
	n = vsnprintf(w->buf + w->len, w->cap - w->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= w->cap - w->len)
		w->failed = 1;
	else
		w->len += (size_t)n;
}

void mem_as_writer_printf(struct mem_as_writer *w, const char *fmt, ...)
{
	char line[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line))
		w->failed = 1;
	else
		wprintf(w, "%s", line);
}

void mem_as_writer_begin(struct mem_as_writer *w, uint64_t revival)
{
	memset(w, 0, sizeof(*w));
	wprintf(w, "%srevival %llu\n", AS_MAGIC, (unsigned long long)revival);
}

void mem_as_writer_proc(struct mem_as_writer *w, pid_t pid)
{
	wprintf(w, "proc %d\n", (int)pid);
}

void mem_as_writer_run(struct mem_as_writer *w, uint64_t addr, uint64_t nr_pages,
		       uint32_t mask)
{
	wprintf(w, "r %llx %llu %u\n", (unsigned long long)addr,
		(unsigned long long)nr_pages, mask);
}

int mem_as_writer_end(struct mem_as_writer *w)
{
	unsigned long long h = w->failed ? 0 : XXH3_64bits(w->buf, w->len);

	wprintf(w, "xxh3 %016llx\n", h);
	return w->failed ? err_set("activeset: out of memory") : 0;
}

void mem_as_writer_free(struct mem_as_writer *w)
{
	free(w->buf);
	memset(w, 0, sizeof(*w));
}
