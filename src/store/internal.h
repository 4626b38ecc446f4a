/*
 * internal.h - declarations shared by the files of src/store/ (not an API).
 *
 * store.h is the public interface; this header connects the pieces behind
 * it: buffers, chunking, chunk encoding, the store manifest, backend helpers
 * and the struct store itself.
 */
#ifndef PC_STORE_INTERNAL_H
#define PC_STORE_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "store/backend.h"
#include "store/store.h"

/* ---- buf.c ---- */
int buf_reserve(struct buf *b, size_t need);
int buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Little endian integers of 1-8 bytes. */
void le_put(uint8_t *p, uint64_t v, int bytes);
uint64_t le_get(const uint8_t *p, int bytes);

/* ---- chunker.c: content-defined chunking (FastCDC, gear hash) ---- */
#define CHUNK_MIN (64u * 1024)
#define CHUNK_AVG (256u * 1024)
#define CHUNK_MAX (1024u * 1024)
/* Length of the next chunk at the start of data[0..len). */
size_t chunker_next(const uint8_t *data, size_t len);

/* ---- chunk.c: hash, encode (compress) and decode (verify) chunks ---- */
#define HASH_LEN 32                  /* SHA-256 */
#define HASH_HEX (HASH_LEN * 2 + 1)
#define CHUNK_KEY_MAX (sizeof("chunks/xx/") + HASH_HEX)
int chunk_hash(const void *data, size_t len, uint8_t out[HASH_LEN]);
void hash_hex(const uint8_t h[HASH_LEN], char out[HASH_HEX]);
int hash_parse(const char *hex, uint8_t out[HASH_LEN]);
void chunk_key(const uint8_t h[HASH_LEN], char out[CHUNK_KEY_MAX]);
/* Encoded object: 1 byte format (CHUNK_RAW / CHUNK_ZSTD), then payload. */
#define CHUNK_RAW 'R'
#define CHUNK_ZSTD 'Z'
int chunk_encode(const void *plain, size_t len, struct buf *out);
/* Decode obj into dst (exactly plain_len bytes) and check its hash. */
int chunk_decode(const uint8_t *obj, size_t objlen, const uint8_t h[HASH_LEN],
		 uint8_t *dst, size_t plain_len);

/* ---- manifest.c: the store manifest of one image generation ---- */
struct mchunk {
	uint8_t hash[HASH_LEN];
	uint64_t len;                 /* plain bytes */
};
struct mrun {                         /* a range of a pack: pack, off, len */
	uint32_t pack;
	uint64_t off, len;
};
struct mpack {                        /* a pack object of a paged file */
	uint8_t hash[HASH_LEN];       /* SHA-256 of the object's bytes */
	uint64_t size;                /* object bytes */
};
struct mfile {
	char *name;
	uint64_t size;
	uint32_t mode;
	/* Plain file: its chunks add up to size.  Paged file (pages.c): the
	 * chunks hold its page index (pindex.c), the pages sit in packs. */
	size_t nchunks;
	struct mchunk *chunks;
	int paged;
	size_t npacks;
	struct mpack *packs;
	/* Paged: where the pages due first lie (the dump's hint: what a
	 * restore writes before the tree resumes), read in the same batch as
	 * the index. */
	size_t nruns;
	struct mrun *runs;
};
struct manifest {
	char *image;
	uint64_t generation;
	int64_t created;              /* unix seconds */
	size_t nfiles;
	struct mfile *files;
};
int manifest_format(const struct manifest *m, struct buf *out);
int manifest_parse(const uint8_t *data, size_t len, struct manifest *m);
void manifest_free(struct manifest *m);
/* An image's name: 1-IMAGE_NAME_MAX of [A-Za-z0-9._-], not starting with
 * '.' or '-' (it is a path component of its keys: names.c). */
#define IMAGE_NAME_MAX 128
int image_name_check(const char *name);
int file_name_check(const char *name);
int mfile_add_chunk(struct mfile *f, const uint8_t h[HASH_LEN], uint64_t len);
int mfile_add_pack(struct mfile *f, const uint8_t h[HASH_LEN], uint64_t size);
#define MAX_HINT_RUNS 65536u
#define MAX_HINT_BYTES (256ull << 20)
int mfile_add_run(struct mfile *f, uint32_t pack, uint64_t off, uint64_t len);
/* Bytes of a file's chunks: its size, or its page index's size if paged. */
uint64_t mfile_chunk_bytes(const struct mfile *f);

/* ---- pindex.c: the page index of a paged file ----
 * A paged file is a whole number of STORE_PAGE pages, each stored once
 * (encoded as a chunk: format byte + payload) inside a pack object; the
 * index says, for each page of the file in order, its SHA-256 and where
 * its encoding lies: pack number (in the file's pack table), offset and
 * length in that pack. */
#define STORE_PAGE 4096u
#define PACK_KEY_MAX (sizeof("packs/xx/") + HASH_HEX)
#define PINDEX_MAGIC "PCPIDX1\n"
#define PINDEX_HEAD 8u                /* the magic; the count is the file's */
#define PINDEX_ENTRY 44u              /* hash, pack, off, len (u32 LE) */
/* The index is cut into chunks of whole entries (the first one also holds
 * the magic), not by content: an incremental dump appends entries, so
 * every chunk before the end is the parent's, byte for byte.  A chunk
 * holds 1024 entries, or more for a large file, so that an index is about
 * 16 chunks at most (one parallel batch): a power of two, at most 16384
 * (720 KiB). */
#define PINDEX_CHUNK_MIN 1024u
#define PINDEX_CHUNK_MAX 16384u
#define PINDEX_CHUNKS 16u
/* Length of the index chunk starting at byte off of an index of n pages. */
uint64_t pindex_chunk_len(uint64_t npages, uint64_t off);
#define PAGE_ENC_MAX (STORE_PAGE + 1)
struct pentry {
	uint8_t hash[HASH_LEN];
	uint32_t pack, off, len;
};
struct pindex {
	size_t n;
	struct pentry *e;
	void *mem;                    /* freed by pindex_free (NULL: e is borrowed) */
	uint32_t *page;               /* entry k is page page[k] (NULL: page k; freed) */
};
/* The page of entry k. */
static inline size_t pindex_page(const struct pindex *ix, size_t k)
{
	return ix->page ? ix->page[k] : k;
}
/* Entry e (page i) inside f's pack table: 0, or -1 and why. */
int pentry_check(const struct pentry *e, const struct mfile *f, size_t i);
uint64_t pindex_size(uint64_t npages);
int pindex_format(const struct pentry *e, size_t n, struct buf *out);
/* Parse and validate against f (page count, pack table): the entries
 * copied (parse), or used where they lie in data (adopt, on a little
 * endian machine with data 4-aligned, else copied; mem is what
 * pindex_free frees later, NULL if data is the caller's and outlives ix).
 * A failed adopt leaves mem to the caller. */
int pindex_adopt(const uint8_t *data, size_t len, const struct mfile *f, void *mem,
		 struct pindex *out);
int pindex_parse(const uint8_t *data, size_t len, const struct mfile *f,
		 struct pindex *out);
void pindex_free(struct pindex *ix);
void pack_key(const uint8_t h[HASH_LEN], char out[PACK_KEY_MAX]);

/* ---- pdue.c: the map of the pages due first of a paged file ----
 * The entries of the pages that f's runs hold, with their page numbers
 * (a pindex with page set), stored as the file NAME STORE_DUE_SUFFIX.
 * build: from f's runs, its full index ix and that index's bytes (the
 * map names the index it was made for); parse: validated against f,
 * whose chunks must be that index. */
#define STORE_DUE_SUFFIX ".due"
/* A put writes the map only when the index is this many times its size:
 * the map is uploaded whole at every dump, the index only where it
 * changed (http.server's map would be larger than its index). */
#define PDUE_MIN_GAIN 16u
int pdue_build(const struct mfile *f, const struct pindex *ix, const struct buf *index,
	       struct buf *out);
int pdue_format(const struct pindex *ix, const uint8_t id[HASH_LEN], struct buf *out);
/* The id a map names: of the index f's chunks hold (f's chunk list). */
int pdue_index_id(const struct mfile *f, uint8_t id[HASH_LEN]);
int pdue_parse(const uint8_t *data, size_t len, const struct mfile *f, struct pindex *out);

/* ---- packput.c: storing a paged file ----
 * Store data (size bytes, whole pages) as the pages of paged file mf (its
 * name set): pages prev (the parent's file of that name, NULL if none or
 * not paged) holds are referenced, the others packed and written.  base:
 * prev's pages all come first (incremental).  Fills mf's pack table and
 * index (the index bytes, to be stored as mf's chunks) and, when it has
 * runs (the hint), the map of their pages in due (pdue.c; else empty). */
struct pack_put_stats {
	uint64_t pages, pages_new, packs_new, bytes_new;
};
struct pack_put_in {
	const uint8_t *data;          /* the local pages */
	size_t size;
	const struct mfile *prev;     /* the parent's file, or NULL */
	int base;                     /* prev's pages come first */
	const struct store_range *hint;   /* ranges due first, or NULL */
	size_t nhint;
};
int pack_put(struct store *s, const struct pack_put_in *in, struct mfile *mf,
	     struct buf *index, struct buf *due, struct pack_put_stats *st);
/* The runs of mf's pack table holding the pages of byte ranges r[0..n)
 * (pages.c's merge rule), as mf's hint. */
int pack_hint(struct mfile *mf, const struct pindex *ix, const struct store_range *r,
	      size_t n);
/* Sort runs by pack and offset and merge neighbours (a gap of MERGE_GAP
 * at most, RUN_MAX bytes at most a run); *n becomes the merged count. */
void runs_merge(struct mrun *v, size_t *n);

/* ---- pages.c: reading a paged file's pages from its packs ---- */
struct store;
/* Fetch and decode f's index chunks (already fetched: objs, may be NULL). */
int pages_load_index(struct store *s, const struct mfile *f, struct pindex *ix);
/* The pages of f in runs f->runs, read in bufs[k] (f->runs[k]'s bytes,
 * NULL if that read failed): each one decoded, checked against its hash
 * and written at dst + i * STORE_PAGE; in[i] set; run by run on up to
 * `threads` threads.  A page that fails its check is left out (a later
 * fetch reads it again and reports it). */
void pages_from_runs(const struct mfile *f, const struct pindex *ix, uint8_t *const *bufs,
		     uint8_t *dst, uint8_t *in, unsigned threads, uint64_t *pages);
/* The same run by run, as each run's bytes come: plan once (which pages
 * of f, not in yet, each run holds: order[first[r] .. first[r + 1]),
 * each page in one run at most, their memory in dst taken), then decode
 * run r from its bytes buf (threads may decode different runs at once);
 * the pages in are counted. */
struct runs_plan {
	const struct mfile *f;
	const struct pindex *ix;
	uint8_t *dst, *in;
	size_t *first, *order;
};
int pages_plan_runs(const struct mfile *f, const struct pindex *ix, uint8_t *dst,
		    uint8_t *in, struct runs_plan *rp);
uint64_t pages_decode_run(const struct runs_plan *rp, size_t r, const uint8_t *buf);
/* The same for the pages of run r whose bytes are among the first got
 * bytes of buf, from the run's page *next on (0 at first; a run's pages
 * go by offset); *next is where the next call goes on. */
uint64_t pages_decode_run_upto(const struct runs_plan *rp, size_t r, const uint8_t *buf,
			       uint64_t got, size_t *next);
void pages_plan_free(struct runs_plan *rp);
/* Does one of f's runs (sorted) hold entry e? */
int pages_in_run(const struct mfile *f, const struct pentry *e);
/* Fetch pages idx[0..n) (indexes into ix) in ranged reads of their packs,
 * adjacent ranges merged, and write page i, checked against its hash, at
 * dst + (idx - first) * STORE_PAGE; done[idx] is set for each one in.
 * Returns 0 when all are in, 1 when the store failed for some (worth
 * asking again), -1 on an error (a pack missing, a page corrupt). */
struct pages_read {
	uint64_t bytes_store, bytes_cache, requests;
};
int pages_fetch(struct store *s, const struct mfile *f, const struct pindex *ix,
		const size_t *idx, size_t n, uint8_t *dst, size_t first,
		uint8_t *done, struct pages_read *rd);

/* ---- crc32c.c: CRC-32C (Castagnoli) ----
 * update: crc of the bytes so far (0 at the start) extended by data;
 * soft: the table even where the CPU has an instruction (tests). */
uint32_t crc32c_update(uint32_t crc, const void *data, size_t len, int soft);
uint32_t crc32c(const void *data, size_t len);

/* ---- localcopy.c: the local copy of a generation's small files ----
 * DIR/NAME.copy: the store manifest and every file's chunk bytes but a
 * paged file's pages (docs/store.md, "Local copy").  files[i]: the chunk
 * bytes of m->files[i] (mfile_chunk_bytes).  load: 0 and the copy mapped
 * (*data, *len: localcopy_unmap), its framing and manifest checked
 * (checksum, name, generation, the copy's length; the files' bytes, file
 * i at offset at_i: at_0 = *files_at, at_i+1 = localcopy_next(at_i,
 * file i), 8-aligned, NOT checked yet: localcopy_check() before any use),
 * 1 when there is none, -1 when it is not usable (the reason in err).
 * parse: both checks. */
#define LOCALCOPY_MAX (16u << 20)
#define LOCALCOPY_ALIGN 8u
int localcopy_write(const char *dir, const struct manifest *m, const uint8_t *text,
		    size_t tlen, const uint8_t *const *files);
int localcopy_load(const char *dir, const char *name, uint64_t gen, struct manifest *m,
		   uint8_t **data, size_t *len, size_t *files_at);
void localcopy_unmap(uint8_t *data, size_t len);
int localcopy_check(const uint8_t *data, size_t len);
size_t localcopy_next(size_t at, const struct mfile *f);
int localcopy_parse(const uint8_t *data, size_t len, const char *name, uint64_t gen,
		    struct manifest *m, size_t *files_at);

/* ---- names.c: keys of images and generations ---- */
#define GEN_DIGITS 20
/* images/<name>/<generation, zero padded> */
int image_key(const char *name, uint64_t gen, char *out, size_t outlen);
/* Newest committed generation of an image (0: none). */
int image_latest(struct backend *b, const char *name, uint64_t *gen);
/* Read and parse one generation; 1 if it does not exist. */
int image_read_manifest(struct backend *b, const char *name, uint64_t gen,
			struct manifest *m);
/* Every committed (name, generation), sorted by name then generation. */
struct image_ref {
	char *name;
	uint64_t gen;
	int64_t mtime;
};
int image_list_all(struct backend *b, struct image_ref **refs, size_t *n);
/* The committed generations of one image, oldest first. */
int image_list(struct backend *b, const char *name, struct image_ref **refs, size_t *n);
void image_refs_free(struct image_ref *refs, size_t n);

/* ---- catalog.c: every manifest and chunk of a store ---- */
struct stored_chunk {
	uint8_t hash[HASH_LEN];
	uint64_t size;                /* encoded object size */
	int64_t mtime;
};
struct mark {                         /* a chunk some manifest references */
	uint8_t hash[HASH_LEN];
	uint64_t len;
	size_t manifest, file;        /* first referrer, for messages */
};
struct objects {                      /* stored objects of one kind */
	struct stored_chunk *v;       /* sorted by hash */
	size_t n;
	struct mark *marks;           /* referenced ones, sorted, unique */
	size_t nmarks;
};
struct catalog {
	struct image_ref *refs;       /* committed generations */
	struct manifest *m;           /* m[i] for refs[i]; empty if unreadable */
	char **bad;                   /* bad[i]: why refs[i] is unreadable */
	size_t n;
	struct stored_chunk *chunks;  /* sorted by hash */
	size_t nchunks;
	struct mark *marks;           /* sorted, unique */
	size_t nmarks;
	struct objects packs;         /* pack objects; marks: len = size */
};
/* strict: fail when a manifest cannot be read (GC must). */
int catalog_load(struct backend *b, struct catalog *c, int strict);
void catalog_free(struct catalog *c);
const struct mark *catalog_marked(const struct catalog *c, const uint8_t h[HASH_LEN]);
const struct stored_chunk *catalog_stored(const struct catalog *c,
					  const uint8_t h[HASH_LEN]);
const struct mark *objects_marked(const struct objects *o, const uint8_t h[HASH_LEN]);
const struct stored_chunk *objects_stored(const struct objects *o,
					  const uint8_t h[HASH_LEN]);

/* ---- backend.c: helpers over struct backend ---- */
/* Object size and mtime; 1 if absent.  Uses list() unless the backend
 * can stat directly. */
int backend_stat(struct backend *b, const char *key, uint64_t *size,
		 int64_t *mtime);
/* Refresh an object's mtime (GC's clock).  Returns 1 when the object is
 * absent, 2 when the backend cannot touch objects (the caller then writes
 * the object again). */
int backend_touch(struct backend *b, const char *key);
/* Remove the temporary objects crashed writers left (file backend: the
 * ".tmp-*" files) last modified before cutoff; cb sees each one.  A no-op
 * on backends that leave none. */
int backend_sweep_tmp(struct backend *b, int64_t cutoff, int dry_run,
		      backend_list_cb cb, void *arg);
/* Drop a local cache's copy of key: 0 dropped or already gone, 1 b has
 * no cache or does not cache key. */
int backend_forget(struct backend *b, const char *key);
/* The local cache's counters (all zero without one). */
void backend_cache_stats(struct backend *b, struct store_cache_stats *st);

/* ---- cache.c ---- */
/* Wrap remote (taken over: closed with the cache) in an LRU chunk cache. */
int cache_open(const char *dir, uint64_t max_bytes, struct backend *remote,
	       struct backend *out);

/* ---- fetched.c ---- */
/* Decode chunk c fetched by request r into dst.  If it fails its check
 * and the copy was a local cache's, drop that copy and read the chunk
 * again from the store; only a chunk bad there too is an error. */
int chunk_decode_fetched(struct store *s, struct backend_get *r, const struct mchunk *c,
			 uint8_t *dst);

/* ---- get.c ---- */
/* Fetch every file of m but `skip` and `defer` (NULL: none) into dir. */
int get_files(struct store *s, const struct manifest *m, const char *dir,
	      const char *skip, const char *defer, struct store_get_stats *st);
/* Fetch file f of m into dir. */
int get_one_file(struct store *s, const char *dir, const struct mfile *f);

/* ---- pool.c: run fn(i) for i in [0, n) on up to nthreads threads ---- */
typedef int (*pool_fn)(void *arg, size_t i);
int pool_run(size_t n, unsigned nthreads, pool_fn fn, void *arg);
unsigned pool_default_threads(void);

/* ---- the store ---- */
struct store {
	struct backend be;
	char *url;
	unsigned threads;
};

#endif
