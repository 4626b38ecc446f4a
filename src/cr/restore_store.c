/*
 * restore_store.c - restore from and dump to the object store without a
 * whole-image download: cr_restore_from_store(), cr_dump_to_store(),
 * cr_mem_stats().
 *
 * A restore from the store is a restore whose origin (restore_ctx.h) fetches
 * the image's small files (manifest, activeset) into a scratch directory
 * and opens its pages for reads by range (store/store.h, store_get_lazy).
 * The bytes the restore writes before the tree resumes are fetched in one
 * parallel batch; the page server (mem/lazy.h) fetches the ActiveSet
 * before the tree resumes and every other page when it is touched.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "box/box.h"
#include "common/err.h"
#include "common/timing.h"
#include "cr/cr.h"
#include "cr/keeper.h"
#include "cr/restore_ctx.h"
#include "mem/lazy.h"
#include "store/store.h"

struct store_origin {
	const char *url, *image;
	const struct cr_restore_opts *opts;
	char scratch[4096];
	struct store *s;
	struct store_lazy *l;
	struct mem_source src;
	struct mem_as as;
	int timeout_ms;
	char note[KEEPER_NOTE_MAX];   /* the counters at resume, from the keeper */
};

/* ---- the page source over the store ---- */

static int origin_fetch(void *arg, const struct mem_range *r, size_t n)
{
	struct store_origin *o = arg;
	struct store_range *v = malloc((n ? n : 1) * sizeof(*v));
	int rc;

	if (!v)
		return err_set("out of memory");
	for (size_t i = 0; i < n; i++)
		v[i] = (struct store_range){ r[i].off, r[i].len };
	rc = store_lazy_fetch(o->l, v, n, o->timeout_ms);
	free(v);
	return rc;
}

static size_t origin_stats(void *arg, char *out, size_t len)
{
	struct store_origin *o = arg;
	struct store_lazy_stats st;
	int r;

	store_lazy_get_stats(o->l, &st);
	r = snprintf(out, len,
		     "bytes_store %llu\nbytes_cache %llu\nchunks %llu\n"
		     "chunks_in %llu\nrequests %llu\nretries %llu\nchunks_dropped %llu\n"
		     "local_copy %d\nbytes_local %llu\n",
		     (unsigned long long)st.bytes_store,
		     (unsigned long long)st.bytes_cache, (unsigned long long)st.chunks,
		     (unsigned long long)st.chunks_in, (unsigned long long)st.requests,
		     (unsigned long long)st.retries, (unsigned long long)st.chunks_dropped,
		     st.local_copy, (unsigned long long)st.bytes_local);
	return r < 0 ? 0 : (size_t)r < len ? (size_t)r : len - 1;
}

/* The counters as the tree resumes, for the caller (rst_origin.stats). */
static size_t origin_note(void *arg, char *out, size_t len)
{
	struct store_origin *o = arg;
	struct store_lazy_stats st;
	int r;

	store_lazy_get_stats(o->l, &st);
	r = snprintf(out, len, "generation %llu\n", (unsigned long long)st.generation);
	if (r < 0 || (size_t)r >= len)
		return 0;
	return (size_t)r + origin_stats(arg, out + r, len - (size_t)r);
}

static void origin_drop(void *arg, uint64_t off, uint64_t len)
{
	struct store_origin *o = arg;

	store_lazy_drop(o->l, off, len);
}

static void origin_release(void *arg)
{
	struct store_origin *o = arg;

	store_lazy_close(o->l);
	store_close(o->s);
	o->l = NULL;
	o->s = NULL;
}

/* ---- the origin ---- */

/* A local copy that failed its checks is no error (the store had the
 * files), but the reason goes to the restore's log. */
static void note_local_copy(struct store_origin *o)
{
	struct store_lazy_stats st;
	FILE *f;

	store_lazy_get_stats(o->l, &st);
	if (st.local_copy != STORE_LOCAL_REJECTED || !o->opts || !o->opts->log)
		return;
	f = fopen(o->opts->log, "ae");
	if (!f)
		return;
	fprintf(f, "picocenter: local copy of image %s not used: %s\n", o->image,
		st.local_why);
	fclose(f);
}

static int origin_open(struct rst_ctx *c, void *arg)
{
	struct store_origin *o = arg;
	const struct cr_restore_opts *op = o->opts;
	struct store_lazy_opts lo = { 0 };
	int rc;

	if (op && op->cache_dir)
		rc = store_open_cached(o->url, op->cache_dir, op->cache_max, &o->s);
	else
		rc = store_open(o->url, &o->s);
	if (rc < 0)
		return -1;
	timing_mark("restore: store opened");
	if (store_scratch_dir(o->scratch, sizeof(o->scratch)) < 0)
		return -1;
	/* Without the ActiveSet, none of the pages due first (the hint holds
	 * the ActiveSet's): the small areas come in the batch before resume. */
	if (op)
		lo = (struct store_lazy_opts){ .generation = op->generation,
					       .local_dir = op->local_dir,
					       .unhinted = op->no_activeset };
	/* A box's writable layer (as big as the app's files) is fetched only
	 * if the box is made from the image (origin_fetch). */
	lo.defer = BOX_IMAGE_LAYER;
	rc = store_get_lazy_with(o->s, o->image, o->scratch, "pages", &lo, &o->l);
	if (rc < 0)
		return -1;
	note_local_copy(o);
	timing_mark("restore: image files opened");
	c->dir = o->scratch;
	rc = mem_as_read_or_skip(o->scratch, &o->as);
	c->as = rc == 0 && !(op && op->no_activeset) ? &o->as : NULL;
	c->fill = op ? op->fill : 0;
	c->record = c->lazy;
	return 0;
}

static int origin_deferred(struct rst_ctx *c, void *arg, const char *file)
{
	struct store_origin *o = arg;

	(void)file;   /* the one file open() deferred */
	return store_lazy_get_deferred(o->l, c->dir);
}

int rst_eager_ranges(const struct rst_ctx *c, struct mem_range **out, size_t *n)
{
	size_t cap = 64;
	struct mem_range *v = malloc(cap * sizeof(*v));

	*n = 0;
	for (uint32_t i = 0; v && i < c->img.nr_procs + c->img.nr_shmem; i++) {
		const struct cr_proc *p = i < c->img.nr_procs ? &c->img.procs[i] : NULL;
		uint32_t nv = p ? p->nr_vmas : 1;

		for (uint32_t k = 0; v && k < nv; k++) {
			const struct cr_page_run *runs;
			uint32_t nr;

			if (p) {
				if (c->lazy && mem_vma_is_lazy(&p->vmas[k]))
					continue;
				runs = p->vmas[k].runs;
				nr = p->vmas[k].nr_runs;
			} else {
				runs = c->img.shmem[i - c->img.nr_procs].runs;
				nr = c->img.shmem[i - c->img.nr_procs].nr_runs;
			}
			for (uint32_t j = 0; v && j < nr; j++) {
				if (*n == cap) {
					struct mem_range *nv2 = realloc(v, (cap *= 2) * sizeof(*v));

					if (!nv2)
						free(v);
					v = nv2;
					if (!v)
						break;
				}
				v[(*n)++] = (struct mem_range){ runs[j].file_off,
								runs[j].nr_pages * CR_PAGE_SIZE };
			}
		}
	}
	if (!v)
		return err_set("out of memory");
	*out = v;
	return 0;
}

static int add_range(struct mem_range **v, size_t *n, size_t *cap, uint64_t off,
		     uint64_t len)
{
	if (*n && (*v)[*n - 1].off + (*v)[*n - 1].len == off) {
		(*v)[*n - 1].len += len;
		return 0;
	}
	if (*n == *cap) {
		struct mem_range *nv = realloc(*v, (*cap = *cap ? *cap * 2 : 64) * sizeof(**v));

		if (!nv)
			return err_set("out of memory");
		*v = nv;
	}
	(*v)[(*n)++] = (struct mem_range){ off, len };
	return 0;
}

/* The pages of run r that the ActiveSet of process ap wants. */
static int as_run_ranges(const struct cr_page_run *r, const struct mem_as_proc *ap,
			 struct mem_range **v, size_t *n, size_t *cap)
{
	uint64_t end = r->addr + r->nr_pages * CR_PAGE_SIZE;

	for (size_t k = 0; k < ap->n; k++) {
		const struct mem_as_run *a = &ap->runs[k];
		uint64_t lo = a->addr > r->addr ? a->addr : r->addr;
		uint64_t hi = a->addr + a->nr_pages * CR_PAGE_SIZE;

		hi = hi < end ? hi : end;
		if (lo >= hi || !mem_as_wanted(a->mask))
			continue;
		if (add_range(v, n, cap, r->file_off + (lo - r->addr), hi - lo) < 0)
			return -1;
	}
	return 0;
}

/* Where the pages the ActiveSet prefetches are, so that they come in the
 * same batch as the rest of what the restore needs before resuming (the
 * page server then finds them in). */
static int as_ranges(const struct rst_ctx *c, struct mem_range **v, size_t *n)
{
	size_t cap = *n;

	for (uint32_t i = 0; c->as && c->lazy && i < c->img.nr_procs; i++) {
		const struct cr_proc *p = &c->img.procs[i];
		const struct mem_as_proc *ap = mem_as_find(c->as, p->pid);

		for (uint32_t k = 0; ap && k < p->nr_vmas; k++) {
			if (!mem_vma_is_lazy(&p->vmas[k]))
				continue;
			for (uint32_t j = 0; j < p->vmas[k].nr_runs; j++)
				if (as_run_ranges(&p->vmas[k].runs[j], ap, v, n, &cap) < 0)
					return -1;
		}
	}
	return 0;
}

static int origin_map(struct rst_ctx *c, void *arg)
{
	struct store_origin *o = arg;
	struct mem_range *r;
	size_t n;
	int rc;

	if (store_lazy_size(o->l) != c->img.pages_size)
		return err_set("the stored pages are %llu bytes, the manifest says %llu",
			       (unsigned long long)store_lazy_size(o->l),
			       (unsigned long long)c->img.pages_size);
	struct store_lazy_stats ls;

	store_lazy_get_stats(o->l, &ls);
	o->src = (struct mem_source){ .generation = ls.generation, .fetch = origin_fetch,
				      .stats = origin_stats, .release = origin_release,
				      .drop = origin_drop,
				      .arg = o };
	c->pages = store_lazy_data(o->l);
	c->pages_len = store_lazy_size(o->l);
	c->src = &o->src;
	if (rst_eager_ranges(c, &r, &n) < 0)
		return -1;
	rc = as_ranges(c, &r, &n);
	if (rc == 0)
		rc = origin_fetch(o, r, n);
	free(r);
	return rc;
}

static void origin_close(struct rst_ctx *c, void *arg)
{
	struct store_origin *o = arg;

	if (!c->src)        /* never handed to the restore: still ours */
		origin_release(o);
	if (o->scratch[0])
		store_remove_dir(o->scratch);
	mem_as_free(&o->as);
}

/* ---- counters ---- */

static uint64_t rss_kb_of(pid_t pid)
{
	char path[64], line[256];
	unsigned long long kb = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %llu kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/* Resident memory of pid and its descendants (depth-limited). */
static uint64_t tree_rss_kb(pid_t pid, int depth)
{
	char path[96];
	uint64_t kb = rss_kb_of(pid);
	DIR *d;
	struct dirent *e;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	if (depth > 16 || !(d = opendir(path)))
		return kb;
	while ((e = readdir(d))) {
		char cpath[400];
		long child;
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		snprintf(cpath, sizeof(cpath), "%s/%s/children", path, e->d_name);
		if (!(f = fopen(cpath, "re")))
			continue;
		while (fscanf(f, "%ld", &child) == 1)
			kb += tree_rss_kb((pid_t)child, depth + 1);
		fclose(f);
	}
	closedir(d);
	return kb;
}

static void parse_stat(struct cr_mem_stats *st, const char *name, unsigned long long v)
{
	static const struct { const char *name; size_t off; } f[] = {
		{ "generation", offsetof(struct cr_mem_stats, generation) },
		{ "bytes_store", offsetof(struct cr_mem_stats, bytes_store) },
		{ "bytes_cache", offsetof(struct cr_mem_stats, bytes_cache) },
		{ "pages_prefetched", offsetof(struct cr_mem_stats, pages_prefetched) },
		{ "prefetched_touched", offsetof(struct cr_mem_stats, prefetched_touched) },
		{ "probes", offsetof(struct cr_mem_stats, probes) },
		{ "faults", offsetof(struct cr_mem_stats, faults) },
		{ "faults_after_resume", offsetof(struct cr_mem_stats, faults_after_resume) },
		{ "pages_due", offsetof(struct cr_mem_stats, pages_due) },
		{ "local_copy", offsetof(struct cr_mem_stats, local_copy) },
		{ "bytes_local", offsetof(struct cr_mem_stats, bytes_local) },
	};

	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		if (!strcmp(name, f[i].name))
			*(uint64_t *)((char *)st + f[i].off) = v;
}

/* "name value" lines into st (unknown names passed over). */
static void parse_stats(struct cr_mem_stats *st, char *text)
{
	char *line, *save = NULL;

	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char name[64];
		unsigned long long v;

		if (sscanf(line, "%63s %llu", name, &v) == 2)
			parse_stat(st, name, v);
	}
}

int cr_mem_stats(pid_t pid, struct cr_mem_stats *st)
{
	char *text;
	size_t len;
	int rc;

	memset(st, 0, sizeof(*st));
	rc = mem_control_ask(pid, 'S', &text, &len);
	st->rss_kb = tree_rss_kb(pid, 0);
	if (rc != 0)
		return rc;
	text[len - 1] = '\0';   /* the answer ends with a newline */
	parse_stats(st, text);
	free(text);
	return 0;
}

static void print_timing(const struct cr_mem_stats *st)
{
	if (!getenv("PICOCENTER_TIMING"))
		return;
	fprintf(stderr, "restore counters: generation %llu bytes_store %llu bytes_cache %llu "
		"pages_prefetched %llu probes %llu faults %llu rss_kb %llu local_copy %llu "
		"bytes_local %llu\n",
		(unsigned long long)st->generation, (unsigned long long)st->bytes_store,
		(unsigned long long)st->bytes_cache, (unsigned long long)st->pages_prefetched,
		(unsigned long long)st->probes, (unsigned long long)st->faults,
		(unsigned long long)st->rss_kb, (unsigned long long)st->local_copy,
		(unsigned long long)st->bytes_local);
}

/* ---- entry points ---- */

int cr_restore_from_store(const char *url, const char *image,
			  const struct cr_restore_opts *opts, pid_t *pid,
			  struct cr_mem_stats *st)
{
	struct store_origin o = { .url = url, .image = image, .opts = opts };
	struct rst_origin origin = { origin_open, origin_map, origin_close, &o, origin_note,
				     o.note, origin_deferred };
	struct cr_mem_stats local, *m = st ? st : &local;
	int rc;

	o.timeout_ms = opts && opts->store_timeout_ms > 0 ? opts->store_timeout_ms
							  : CR_STORE_TIMEOUT_MS;
	if (rst_restore_from(image, &origin, opts, pid) < 0)
		return err_wrap("restore image %s from %s", image, url);
	rc = cr_mem_stats(*pid, m);
	if (rc < 0)
		err_clear();   /* counters only */
	if (rc == 1)   /* no page server left (all in): the counters at resume */
		parse_stats(m, o.note);
	print_timing(m);
	return 0;
}

/* The generation the tree was restored from, if its page server says. */
static int restored_generation(pid_t pid, uint64_t *gen)
{
	struct cr_mem_stats st;
	int rc = cr_mem_stats(pid, &st);

	if (rc < 0)
		return -1;
	*gen = rc == 0 ? st.generation : 0;
	return 0;
}

static uint64_t tail_size(const char *dir)
{
	char path[4200];
	struct stat st;

	snprintf(path, sizeof(path), "%s/pages", dir);
	return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

/* An incremental dump names its base in dir/.pages-base: the put then
 * builds the pages on that generation's. */
static int read_base(const char *dir, struct store_put_opts *po)
{
	char path[4200];
	unsigned long long gen, size;
	FILE *f;
	int n;

	snprintf(path, sizeof(path), "%s/.pages-base", dir);
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? 0 : err_sys("open %s", path);
	n = fscanf(f, "base %llu %llu", &gen, &size);
	fclose(f);
	if (n != 2)
		return err_set("%s: unreadable", path);
	if (!po->has_parent || gen != po->parent)
		return err_set("incremental dump on generation %llu, the put on %llu", gen,
			       (unsigned long long)po->parent);
	po->base_file = "pages";
	po->base_len = size;
	return 0;
}

/* What a lazy restore of the image in dir writes before the tree resumes
 * (the eager areas and the ActiveSet's pages), as byte ranges of its
 * pages: the store notes where they lie, and a restore reads them with the
 * image's small files.  Only a hint: none (0 ranges) when the image cannot
 * be read back. */
static int prefetch_hint(const char *dir, struct store_range **out, size_t *n)
{
	struct rst_ctx c;
	struct mem_as as;
	struct mem_range *r = NULL;
	int rc, has_as;

	*out = NULL;
	*n = 0;
	memset(&c, 0, sizeof(c));
	if (cr_image_read(dir, &c.img) < 0)
		return -1;
	has_as = mem_as_read_or_skip(dir, &as);
	c.lazy = 1;
	c.as = has_as == 0 ? &as : NULL;
	rc = has_as < 0 ? -1 : rst_eager_ranges(&c, &r, n);
	if (rc == 0)
		rc = as_ranges(&c, &r, n);
	if (rc == 0 && !(*out = malloc((*n ? *n : 1) * sizeof(**out))))
		rc = err_set("out of memory");
	for (size_t i = 0; rc == 0 && i < *n; i++)
		(*out)[i] = (struct store_range){ r[i].off, r[i].len };
	if (rc < 0)
		*n = 0;
	free(r);
	if (has_as == 0)
		mem_as_free(&as);
	cr_image_free(&c.img);
	return rc;
}

/* cr_dump_to_store's commit: the image goes into the store while the tree
 * is still stopped, so a failed upload leaves it running (cr_dump_opts.commit). */
struct store_commit {
	struct store *s;
	const char *image;
	struct store_put_opts po;
	struct store_put_stats ps;
	const struct cr_dump_opts *caller;   /* the caller's own commit, after ours */
};

static int put_committed(const char *dir, void *arg)
{
	struct store_commit *c = arg;
	struct store_range *hint = NULL;
	int rc;

	c->po.base_file = NULL;   /* a retried dump starts again */
	c->po.base_len = 0;
	rc = read_base(dir, &c->po);
	if (rc == 0 && prefetch_hint(dir, &hint, &c->po.nhint) < 0)
		err_clear();   /* only a hint */
	c->po.hint = hint;
	if (rc == 0)
		rc = store_put_image(c->s, c->image, dir, &c->po, &c->ps);
	free(hint);
	c->po.hint = NULL;
	c->po.nhint = 0;
	if (rc == 0 && c->caller && c->caller->commit)
		rc = c->caller->commit(dir, c->caller->commit_arg);
	return rc;
}

int cr_dump_to_store(pid_t pid, const char *url, const char *image,
		     const struct cr_dump_opts *opts, struct cr_dump_stats *st)
{
	struct store_commit c = { .image = image, .caller = opts };
	struct cr_dump_opts dopts = { 0 };
	char dir[4096];
	int rc;

	if (restored_generation(pid, &c.po.parent) < 0)
		return err_wrap("dump pid %d to the store", pid);
	c.po.has_parent = c.po.parent != 0;
	c.po.local_dir = opts ? opts->local_dir : NULL;
	if (opts && opts->cache_dir)
		rc = store_open_cached(url, opts->cache_dir, opts->cache_max, &c.s);
	else
		rc = store_open(url, &c.s);
	if (rc < 0)
		return -1;
	if (store_scratch_dir(dir, sizeof(dir)) < 0) {
		store_close(c.s);
		return -1;
	}
	if (opts)
		dopts = *opts;
	/* A verified dump is whole: its trial restore reads DIR alone. */
	dopts.incremental = c.po.has_parent && !dopts.full && !dopts.verify;
	dopts.commit = put_committed;
	dopts.commit_arg = &c;
	rc = cr_dump(pid, dir, &dopts);
	if (rc == 0 && c.po.base_file && dopts.leave_running)
		rc = mem_set_base(pid, c.ps.generation, c.po.base_len + tail_size(dir));
	store_remove_dir(dir);
	store_close(c.s);
	if (rc < 0)
		return err_wrap("dump pid %d to image %s in %s", pid, image, url);
	if (st)
		*st = (struct cr_dump_stats){ c.ps.generation, c.ps.bytes_new, c.ps.chunks_new,
					      c.ps.logical_bytes, c.ps.pages_new,
					      c.ps.pack_bytes_new };
	return 0;
}
