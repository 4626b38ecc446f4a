/*
 * put.c - store_put_image(): chunk every file of an image directory, store
 * the chunks the store lacks, and commit the manifest last with if_absent.
 *
 * Which existing chunks may be reused as they are (the GC rule, see
 * docs/store.md): a chunk named by the generation this put builds on is
 * reused; any other existing chunk is first made young again (touched, or
 * written again on backends that cannot touch) so that GC's grace period
 * protects it until this put commits.  The put must commit within
 * STORE_COMMIT_DEADLINE seconds of starting.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"
#include "store/internal.h"

struct src_file {
	char *name;
	const uint8_t *map;       /* NULL for an empty file */
	size_t size;
	uint32_t mode;
	struct buf index;         /* paged: its page index, cut into chunks */
	struct buf due;           /* paged: the map of its pages due first (pdue.c),
				     or, for that map's own file, its bytes (map) */
};

struct job {
	size_t file;              /* index in put->files / manifest files */
	size_t chunk;             /* index in that file's chunk list */
	uint64_t off;
};

struct put {
	struct store *s;
	const char *name;
	const char *dir;
	struct src_file *files;
	size_t nfiles;
	struct manifest m;
	struct job *jobs;
	size_t njobs;
	uint8_t (*own)[HASH_LEN];  /* sorted hashes of the parent generation */
	size_t nown;
	struct manifest pm;        /* the parent generation (empty if none) */
	atomic_uint_fast64_t chunks_new, bytes_new, chunks_rewritten;
	struct pack_put_stats pages;
};

static int64_t now_s(void)
{
	return (int64_t)time(NULL);
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(((const struct src_file *)a)->name,
		      ((const struct src_file *)b)->name);
}

/* Map one regular file of the image directory. */
static int map_file(int dfd, const char *dir, const char *name, struct src_file *f)
{
	struct stat st;
	int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return err_sys("open %s/%s", dir, name);
	if (fstat(fd, &st) < 0) {
		close(fd);
		return err_sys("stat %s/%s", dir, name);
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return err_set("%s/%s: not a regular file", dir, name);
	}
	f->size = (size_t)st.st_size;
	f->mode = st.st_mode & 07777;
	f->map = NULL;
	if (f->size > 0) {
		void *p = mmap(NULL, f->size, PROT_READ, MAP_PRIVATE, fd, 0);

		if (p == MAP_FAILED) {
			close(fd);
			return err_sys("mmap %s/%s (%zu bytes)", dir, name, f->size);
		}
		f->map = p;
	}
	close(fd);
	return 0;
}

/* Room for one more source file. */
static int grow_files(struct put *p)
{
	if (p->nfiles % 16 == 0) {
		struct src_file *v = realloc(p->files, (p->nfiles + 16) * sizeof(*v));

		if (!v)
			return err_set("out of memory");
		p->files = v;
	}
	return 0;
}

static int add_src(struct put *p, int dfd, const char *name)
{
	struct src_file *f;

	if (file_name_check(name) < 0 || grow_files(p) < 0)
		return -1;
	f = &p->files[p->nfiles];
	memset(f, 0, sizeof(*f));
	if (!(f->name = strdup(name)))
		return err_set("out of memory");
	p->nfiles++;
	return map_file(dfd, p->dir, name, f);
}

/* A file the put makes itself (a get writes it into a directory like
 * any file of the image: a put of that directory makes it anew). */
static int is_derived(const char *name)
{
	return !strcmp(name, STORE_PAGED_FILE STORE_DUE_SUFFIX);
}

/* Every regular file of dir, sorted by name; hidden files and derived
 * ones are skipped. */
static int scan_dir(struct put *p)
{
	DIR *d = opendir(p->dir);
	struct dirent *e;
	int rc = 0;

	if (!d)
		return err_sys("open image directory %s", p->dir);
	while (rc == 0 && (errno = 0, e = readdir(d)) != NULL)
		if (e->d_name[0] != '.' && !is_derived(e->d_name))
			rc = add_src(p, dirfd(d), e->d_name);
	if (rc == 0 && errno)
		rc = err_sys("readdir %s", p->dir);
	closedir(d);
	if (rc == 0 && p->nfiles)
		qsort(p->files, p->nfiles, sizeof(*p->files), name_cmp);
	return rc;
}

static const struct mfile *parent_file(const struct put *p, const char *name)
{
	for (size_t i = 0; i < p->pm.nfiles; i++)
		if (!strcmp(p->pm.files[i].name, name))
			return &p->pm.files[i];
	return NULL;
}

/* Read the generation this put builds on, once (none: pm stays empty). */
static int load_parent(struct put *p, uint64_t parent)
{
	int rc;

	if (parent == 0)
		return 0;
	rc = image_read_manifest(&p->s->be, p->name, parent, &p->pm);
	return rc < 0 ? -1 : 0;     /* gone meanwhile (1): the commit will tell */
}

/* The file the base of an incremental put is: `name` of the parent
 * generation, which must be len bytes. */
static const struct mfile *base_of(struct put *p, uint64_t gen, const char *name,
				   uint64_t len)
{
	const struct mfile *bf = parent_file(p, name);

	if (!p->pm.image)
		err_set("base generation %llu is gone", (unsigned long long)gen);
	else if (!bf || bf->size != len)
		err_set("base generation %llu has no file %s of %llu bytes",
			(unsigned long long)gen, name, (unsigned long long)len);
	else
		return bf;
	return NULL;
}

/* Memory images are stored by pages: the engine's pages file. */
static int is_paged(const struct src_file *sf, const struct mfile *base)
{
	return !strcmp(sf->name, STORE_PAGED_FILE) && sf->size % STORE_PAGE == 0 &&
	       (!base || base->paged);
}

/* One file's manifest entry: a plain file's chunks are cut below; a paged
 * file's pages are stored now, its index is cut below. */
static int plan_file(struct put *p, struct src_file *sf, struct mfile *mf,
		     const struct store_put_opts *opts, uint64_t parent)
{
	const struct mfile *base = NULL;

	if (opts && opts->base_file && !strcmp(sf->name, opts->base_file) &&
	    !(base = base_of(p, parent, sf->name, opts->base_len)))
		return -1;
	if (is_paged(sf, base)) {
		struct pack_put_stats ps;
		struct pack_put_in in = { sf->map, sf->size, parent_file(p, sf->name), base != NULL,
					  opts ? opts->hint : NULL, opts ? opts->nhint : 0 };

		if (pack_put(p->s, &in, mf, &sf->index, &sf->due, &ps) < 0)
			return -1;
		p->pages.pages += ps.pages;
		p->pages.pages_new += ps.pages_new;
		p->pages.packs_new += ps.packs_new;
		p->pages.bytes_new += ps.bytes_new;
	} else {
		for (size_t j = 0; base && j < base->nchunks; j++)
			if (mfile_add_chunk(mf, base->chunks[j].hash, base->chunks[j].len) < 0)
				return -1;
	}
	mf->size += base ? base->size : 0;
	return 0;
}

/* Length of the chunk at off: content-defined, or fixed for an index. */
static size_t cut_next(const struct src_file *sf, uint64_t off)
{
	if (sf->index.data)
		return (size_t)pindex_chunk_len((sf->index.len - PINDEX_HEAD) / PINDEX_ENTRY, off);
	return chunker_next(sf->map + off, sf->size - off);
}

/* What is cut into chunks: the file, or the index of a paged one. */
static const uint8_t *cut_data(const struct src_file *sf)
{
	return sf->index.data ? sf->index.data : sf->map;
}

static size_t cut_len(const struct src_file *sf)
{
	return sf->index.data ? sf->index.len : sf->size;
}

/* One job per chunk of file i. */
static int cut_jobs(struct put *p, size_t i, size_t *cap)
{
	const struct src_file *sf = &p->files[i];
	struct mfile *mf = &p->m.files[i];
	static const uint8_t zero[HASH_LEN];

	for (uint64_t off = 0; off < cut_len(sf);) {
		size_t len = cut_next(sf, off);

		if (p->njobs == *cap) {
			struct job *v;

			*cap = *cap ? *cap * 2 : 256;
			if (!(v = realloc(p->jobs, *cap * sizeof(*v))))
				return err_set("out of memory");
			p->jobs = v;
		}
		p->jobs[p->njobs++] = (struct job){ i, mf->nchunks, off };
		if (mfile_add_chunk(mf, zero, len) < 0)
			return -1;
		off += len;
	}
	return 0;
}

/* A file the put derives (the map of a paged file's pages due first:
 * NAME.due), stored like the files of the directory; its bytes are
 * taken over. */
static int add_derived(struct put *p, const char *name, struct buf *bytes)
{
	struct src_file *sf;
	struct mfile *mf;
	char dname[300];

	if ((size_t)snprintf(dname, sizeof(dname), "%s%s", name, STORE_DUE_SUFFIX) >=
	    sizeof(dname))
		return err_set("file name %s too long", name);
	if (grow_files(p) < 0)
		return -1;
	sf = &p->files[p->nfiles];
	memset(sf, 0, sizeof(*sf));
	mf = &p->m.files[p->m.nfiles];
	if (!(sf->name = strdup(dname)) || !(mf->name = strdup(dname))) {
		free(sf->name);
		return err_set("out of memory");
	}
	sf->due = *bytes;
	*bytes = (struct buf){ 0 };
	sf->map = sf->due.data;
	sf->size = mf->size = sf->due.len;
	sf->mode = mf->mode = 0600;
	p->nfiles++;
	p->m.nfiles++;
	return 0;
}

/* Cut every file into chunks: one job per chunk; then the files the put
 * derives. */
static int plan_jobs(struct put *p, const struct store_put_opts *opts, uint64_t parent)
{
	size_t cap = 0, nsrc = p->nfiles;

	/* each file may add its map of pages due first */
	p->m.files = calloc(2 * nsrc + 1, sizeof(*p->m.files));
	if (!p->m.files)
		return err_set("out of memory");
	for (size_t i = 0; i < nsrc; i++) {
		struct src_file *sf = &p->files[i];
		struct mfile *mf = &p->m.files[p->m.nfiles++];

		if (!(mf->name = strdup(sf->name)))
			return err_set("out of memory");
		mf->size = sf->size;
		mf->mode = sf->mode;
		if (plan_file(p, sf, mf, opts, parent) < 0 || cut_jobs(p, i, &cap) < 0)
			return -1;
	}
	for (size_t i = 0; i < nsrc; i++)
		if (p->files[i].due.len && (add_derived(p, p->files[i].name, &p->files[i].due) < 0 ||
					    cut_jobs(p, p->nfiles - 1, &cap) < 0))
			return -1;
	return 0;
}

static int hash_cmp(const void *a, const void *b)
{
	return memcmp(a, b, HASH_LEN);
}

/* The chunks of the generation this put builds on. */
static int load_own(struct put *p)
{
	size_t n = 0;

	for (size_t i = 0; i < p->pm.nfiles; i++)
		n += p->pm.files[i].nchunks;
	p->own = malloc((n ? n : 1) * HASH_LEN);
	if (!p->own)
		return err_set("out of memory");
	for (size_t i = 0; i < p->pm.nfiles; i++)
		for (size_t j = 0; j < p->pm.files[i].nchunks; j++)
			memcpy(p->own[p->nown++], p->pm.files[i].chunks[j].hash, HASH_LEN);
	qsort(p->own, p->nown, HASH_LEN, hash_cmp);
	return 0;
}

static int upload(struct put *p, const char *key, const uint8_t *data,
		  size_t len, int rewrite)
{
	struct buf enc = { 0 };
	int rc = chunk_encode(data, len, &enc);

	if (rc == 0)
		rc = p->s->be.ops->put(p->s->be.be, key, enc.data, enc.len, !rewrite);
	if (rc == 0 && rewrite)
		atomic_fetch_add(&p->chunks_rewritten, 1);
	else if (rc == 0) {
		atomic_fetch_add(&p->chunks_new, 1);
		atomic_fetch_add(&p->bytes_new, enc.len);
	}
	buf_free(&enc);
	return rc < 0 ? -1 : 0;
}

/* Make sure chunk `key` is stored and young enough for GC's grace. */
static int store_chunk(struct put *p, const uint8_t h[HASH_LEN], const char *key,
		       const uint8_t *data, size_t len)
{
	uint64_t size;
	int64_t mtime;
	int rc;

	if (p->nown && bsearch(h, p->own, p->nown, HASH_LEN, hash_cmp)) {
		rc = p->s->be.ops->head(p->s->be.be, key, &size);
		if (rc <= 0)
			return rc;
		return upload(p, key, data, len, 0);   /* lost: store again */
	}
	rc = backend_touch(&p->s->be, key);
	if (rc == 0)
		return 0;
	if (rc == 1)
		return upload(p, key, data, len, 0);
	if (rc < 0)
		return -1;
	rc = backend_stat(&p->s->be, key, &size, &mtime);
	if (rc == 1)
		return upload(p, key, data, len, 0);
	if (rc < 0)
		return -1;
	if (now_s() - mtime < STORE_REUSE_AGE)
		return 0;
	return upload(p, key, data, len, 1);
}

static int run_job(void *arg, size_t i)
{
	struct put *p = arg;
	struct job *j = &p->jobs[i];
	struct mchunk *c = &p->m.files[j->file].chunks[j->chunk];
	const uint8_t *data = cut_data(&p->files[j->file]) + j->off;
	char key[CHUNK_KEY_MAX];

	if (chunk_hash(data, c->len, c->hash) < 0)
		return -1;
	chunk_key(c->hash, key);
	if (store_chunk(p, c->hash, key, data, c->len) < 0)
		return err_wrap("file %s offset %llu", p->files[j->file].name,
				(unsigned long long)j->off);
	return 0;
}

/* Drop generations older than the newest STORE_KEEP_GENERATIONS. */
static void prune_old(struct put *p, uint64_t gen)
{
	char key[256];

	for (uint64_t g = gen > STORE_KEEP_GENERATIONS * 2 ? gen - STORE_KEEP_GENERATIONS * 2 : 1;
	     g + STORE_KEEP_GENERATIONS <= gen; g++)
		if (image_key(p->name, g, key, sizeof(key)) == 0)
			p->s->be.ops->del(p->s->be.be, key);
	err_clear();
}

/* The committed generation's local copy: every file's chunk bytes are
 * here (a paged file's index; a file built on its base is not whole
 * here, and then there is no copy). */
static void keep_local(struct put *p, const char *dir, const struct buf *text,
		       struct store_put_stats *st)
{
	const uint8_t **files = calloc(p->nfiles + 1, sizeof(*files));
	int rc = files ? 0 : err_set("out of memory");

	for (size_t i = 0; rc == 0 && i < p->nfiles; i++) {
		const struct src_file *sf = &p->files[i];

		files[i] = cut_data(sf);
		if (cut_len(sf) != mfile_chunk_bytes(&p->m.files[i]) || (!files[i] && cut_len(sf)))
			rc = err_set("file %s is not whole here", sf->name);
	}
	if (rc == 0)
		rc = localcopy_write(dir, &p->m, text->data, text->len, files);
	free(files);
	st->local_copy = rc == 0 ? 1 : -1;
	err_clear();   /* only a shortcut for the next restore */
}

static int commit(struct put *p, uint64_t parent, const char *local_dir,
		  struct store_put_stats *st)
{
	struct buf text = { 0 };
	char key[256];
	int rc;

	p->m.generation = parent + 1;
	p->m.created = now_s();
	if (!(p->m.image = strdup(p->name)))
		return err_set("out of memory");
	if (image_key(p->name, p->m.generation, key, sizeof(key)) < 0 ||
	    manifest_format(&p->m, &text) < 0)
		return -1;
	rc = p->s->be.ops->put(p->s->be.be, key, text.data, text.len, 1);
	st->manifest_bytes = text.len;
	if (rc == 0 && local_dir)
		keep_local(p, local_dir, &text, st);
	buf_free(&text);
	if (rc == 1)
		return err_set("conflict: generation %llu of image '%s' was committed "
			       "by another writer (this put built on generation %llu)",
			       (unsigned long long)p->m.generation, p->name,
			       (unsigned long long)parent);
	if (rc < 0)
		return err_wrap("commit %s", key);
	st->generation = p->m.generation;
	prune_old(p, p->m.generation);
	return 0;
}

static void put_free(struct put *p)
{
	for (size_t i = 0; i < p->nfiles; i++) {
		if (p->files[i].map && p->files[i].map != p->files[i].due.data)
			munmap((void *)p->files[i].map, p->files[i].size);
		free(p->files[i].name);
		buf_free(&p->files[i].index);
		buf_free(&p->files[i].due);
	}
	free(p->files);
	free(p->jobs);
	free(p->own);
	manifest_free(&p->m);
	manifest_free(&p->pm);
}

static int put_run(struct put *p, const struct store_put_opts *opts,
		   struct store_put_stats *st)
{
	int64_t start = now_s();
	uint64_t parent;

	if (opts && opts->has_parent)
		parent = opts->parent;
	else if (image_latest(&p->s->be, p->name, &parent) < 0)
		return -1;
	if (opts && opts->base_file && !(opts->has_parent && opts->parent))
		return err_set("an incremental put needs its base generation as parent");
	if (load_parent(p, parent) < 0 || scan_dir(p) < 0 || plan_jobs(p, opts, parent) < 0 ||
	    load_own(p) < 0)
		return -1;
	if (pool_run(p->njobs, p->s->threads, run_job, p) < 0)
		return -1;
	if (now_s() - start > STORE_COMMIT_DEADLINE)
		return err_set("took %llds, longer than the commit deadline of %ds: "
			       "not committed (chunks may have been collected)",
			       (long long)(now_s() - start), STORE_COMMIT_DEADLINE);
	for (size_t i = 0; i < p->nfiles; i++)
		st->logical_bytes += p->files[i].size;
	st->files = p->nfiles;
	st->chunks = p->njobs;
	st->chunks_new = atomic_load(&p->chunks_new);
	st->bytes_new = atomic_load(&p->bytes_new) + p->pages.bytes_new;
	st->pages = p->pages.pages;
	st->pages_new = p->pages.pages_new;
	st->packs_new = p->pages.packs_new;
	st->pack_bytes_new = p->pages.bytes_new;
	st->chunks_rewritten = atomic_load(&p->chunks_rewritten);
	return commit(p, parent, opts ? opts->local_dir : NULL, st);
}

int store_put_image(struct store *s, const char *name, const char *dir,
		    const struct store_put_opts *opts, struct store_put_stats *st)
{
	struct store_put_stats local;
	struct put p = { .s = s, .name = name, .dir = dir };
	int rc;

	if (!st)
		st = &local;
	memset(st, 0, sizeof(*st));
	if (image_name_check(name) < 0)
		return -1;
	rc = put_run(&p, opts, st);
	put_free(&p);
	if (rc < 0)
		return err_wrap("put image %s from %s", name, dir);
	return 0;
}
