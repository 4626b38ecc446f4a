/*
 * manifest.c - the store manifest of one image generation: text, versioned,
 * checksummed, and validated field by field when read.
 *
 *   picocenter-store-manifest 2        (1 is read too: no paged files)
 *   image NAME
 *   generation N
 *   created UNIX-SECONDS
 *   file NAME SIZE MODE-OCTAL NCHUNKS
 *   c SHA256-HEX PLAIN-LENGTH          (NCHUNKS lines, in file order)
 *   paged NAME SIZE MODE-OCTAL NPACKS NCHUNKS NRUNS
 *   p SHA256-HEX OBJECT-SIZE           (NPACKS lines: the pack table)
 *   c SHA256-HEX PLAIN-LENGTH          (NCHUNKS lines: the page index)
 *   r PACK OFFSET LENGTH               (NRUNS lines: pages due first)
 *   ...
 *   sha256 HEX                         (of every byte before this line)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "store/internal.h"

#define MANIFEST_MAGIC "picocenter-store-manifest 2"
#define MANIFEST_MAGIC_V1 "picocenter-store-manifest 1"
#define MAX_PACKS (1u << 20)
#define MAX_PACK_SIZE (1ull << 32)
#define MAX_FILES 4096
#define MAX_FILE_NAME 255

void manifest_free(struct manifest *m)
{
	for (size_t i = 0; i < m->nfiles; i++) {
		free(m->files[i].name);
		free(m->files[i].chunks);
		free(m->files[i].packs);
		free(m->files[i].runs);
	}
	free(m->files);
	free(m->image);
	memset(m, 0, sizeof(*m));
}

int mfile_add_chunk(struct mfile *f, const uint8_t h[HASH_LEN], uint64_t len)
{
	if ((f->nchunks & (f->nchunks - 1)) == 0) {   /* 0 or a power of two */
		size_t cap = f->nchunks ? f->nchunks * 2 : 16;
		struct mchunk *c = realloc(f->chunks, cap * sizeof(*c));

		if (!c)
			return err_set("out of memory");
		f->chunks = c;
	}
	memcpy(f->chunks[f->nchunks].hash, h, HASH_LEN);
	f->chunks[f->nchunks++].len = len;
	return 0;
}

int mfile_add_pack(struct mfile *f, const uint8_t h[HASH_LEN], uint64_t size)
{
	if ((f->npacks & (f->npacks - 1)) == 0) {
		size_t cap = f->npacks ? f->npacks * 2 : 4;
		struct mpack *p = realloc(f->packs, cap * sizeof(*p));

		if (!p)
			return err_set("out of memory");
		f->packs = p;
	}
	memcpy(f->packs[f->npacks].hash, h, HASH_LEN);
	f->packs[f->npacks++].size = size;
	return 0;
}

int mfile_add_run(struct mfile *f, uint32_t pack, uint64_t off, uint64_t len)
{
	if ((f->nruns & (f->nruns - 1)) == 0) {
		size_t cap = f->nruns ? f->nruns * 2 : 4;
		struct mrun *r = realloc(f->runs, cap * sizeof(*r));

		if (!r)
			return err_set("out of memory");
		f->runs = r;
	}
	f->runs[f->nruns++] = (struct mrun){ pack, off, len };
	return 0;
}

uint64_t mfile_chunk_bytes(const struct mfile *f)
{
	return f->paged ? pindex_size(f->size / STORE_PAGE) : f->size;
}

static int format_file(const struct mfile *f, struct buf *out)
{
	char hex[HASH_HEX];
	int rc;

	if (f->paged)
		rc = buf_printf(out, "paged %s %llu %o %zu %zu %zu\n", f->name,
				(unsigned long long)f->size, f->mode & 07777, f->npacks,
				f->nchunks, f->nruns);
	else
		rc = buf_printf(out, "file %s %llu %o %zu\n", f->name,
				(unsigned long long)f->size, f->mode & 07777, f->nchunks);
	for (size_t j = 0; rc == 0 && j < f->npacks; j++) {
		hash_hex(f->packs[j].hash, hex);
		rc = buf_printf(out, "p %s %llu\n", hex, (unsigned long long)f->packs[j].size);
	}
	for (size_t j = 0; rc == 0 && j < f->nchunks; j++) {
		hash_hex(f->chunks[j].hash, hex);
		rc = buf_printf(out, "c %s %llu\n", hex, (unsigned long long)f->chunks[j].len);
	}
	for (size_t j = 0; rc == 0 && j < f->nruns; j++)
		rc = buf_printf(out, "r %u %llu %llu\n", f->runs[j].pack,
				(unsigned long long)f->runs[j].off,
				(unsigned long long)f->runs[j].len);
	return rc;
}

int manifest_format(const struct manifest *m, struct buf *out)
{
	uint8_t sum[HASH_LEN];
	char hex[HASH_HEX];
	int rc;

	out->len = 0;
	rc = buf_printf(out, MANIFEST_MAGIC "\nimage %s\ngeneration %llu\ncreated %lld\n",
			m->image, (unsigned long long)m->generation,
			(long long)m->created);
	for (size_t i = 0; rc == 0 && i < m->nfiles; i++)
		rc = format_file(&m->files[i], out);
	if (rc == 0)
		rc = chunk_hash(out->data, out->len, sum);
	if (rc == 0) {
		hash_hex(sum, hex);
		rc = buf_printf(out, "sha256 %s\n", hex);
	}
	return rc;
}

/* Line cursor over a NUL-terminated text. */
struct lines {
	char *p;
	unsigned no;
};

static char *next_line(struct lines *l)
{
	char *s = l->p, *nl;

	if (!s || !*s)
		return NULL;
	nl = strchr(s, '\n');
	if (!nl)
		return NULL;               /* every line ends with '\n' */
	*nl = '\0';
	l->p = nl + 1;
	l->no++;
	return s;
}

static int parse_u64(const char *s, int base, uint64_t *v)
{
	char *end;

	if (!*s || *s == '-' || *s == '+' || *s == ' ')
		return -1;
	errno = 0;
	*v = strtoull(s, &end, base);
	return errno || *end ? -1 : 0;
}

int image_name_check(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > IMAGE_NAME_MAX || name[0] == '.' || name[0] == '-')
		return err_set("bad image name '%s': want 1-%d of [A-Za-z0-9._-], "
			       "not starting with '.' or '-'", name, IMAGE_NAME_MAX);
	for (size_t i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
			return err_set("bad image name '%s': want 1-%d of "
				       "[A-Za-z0-9._-]", name, IMAGE_NAME_MAX);
	}
	return 0;
}

int file_name_check(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > MAX_FILE_NAME || name[0] == '.')
		return err_set("bad file name '%s' in image", name);
	for (size_t i = 0; i < n; i++)
		if (name[i] == '/' || name[i] <= ' ' || name[i] == 0x7f)
			return err_set("bad file name '%s' in image", name);
	return 0;
}

/* "TAG HEX N" with 1 <= N <= max: a chunk line (c) or a pack line (p). */
static int parse_hash_line(char *line, char tag, uint64_t max, uint8_t h[HASH_LEN],
			   uint64_t *n)
{
	char *sp;

	if (line[0] != tag || line[1] != ' ' || !(sp = strchr(line + 2, ' ')))
		return err_set("expected a '%c HASH NUMBER' line", tag);
	*sp = '\0';
	if (hash_parse(line + 2, h) < 0)
		return -1;
	if (parse_u64(sp + 1, 10, n) < 0 || *n == 0 || *n > max)
		return err_set("bad %s '%s'", tag == 'c' ? "chunk length" : "pack size", sp + 1);
	return 0;
}

static int parse_chunk_line(char *line, struct mfile *f)
{
	uint8_t h[HASH_LEN];
	uint64_t len;

	if (parse_hash_line(line, 'c', CHUNK_MAX, h, &len) < 0)
		return -1;
	return mfile_add_chunk(f, h, len);
}

static int parse_pack_line(char *line, struct mfile *f)
{
	uint8_t h[HASH_LEN];
	uint64_t size;

	if (parse_hash_line(line, 'p', MAX_PACK_SIZE, h, &size) < 0)
		return -1;
	return mfile_add_pack(f, h, size);
}

/* "r PACK OFF LEN": inside pack PACK of f's table. */
static int parse_run_line(char *line, struct mfile *f, uint64_t *bytes)
{
	char *tok[4], *save = NULL;
	uint64_t pack, off, len;
	int i = 0;

	for (char *t = strtok_r(line, " ", &save); t && i < 4; t = strtok_r(NULL, " ", &save))
		tok[i++] = t;
	if (i != 4 || strcmp(tok[0], "r") || strtok_r(NULL, " ", &save))
		return err_set("expected a run line 'r PACK OFFSET LENGTH'");
	if (parse_u64(tok[1], 10, &pack) < 0 || parse_u64(tok[2], 10, &off) < 0 ||
	    parse_u64(tok[3], 10, &len) < 0 || pack >= f->npacks || len == 0 ||
	    off >= f->packs[pack].size || len > f->packs[pack].size - off ||
	    len > MAX_HINT_BYTES - *bytes)
		return err_set("bad run line");
	*bytes += len;
	return mfile_add_run(f, (uint32_t)pack, off, len);
}

/* The sizes of a file line: plain "SIZE MODE NCHUNKS", paged "SIZE MODE
 * NPACKS NCHUNKS"; the chunks must be able to hold the file's chunk bytes. */
static int parse_sizes(char **tok, int paged, struct mfile *f, uint64_t *nchunks,
		       uint64_t *nruns)
{
	uint64_t mode, npacks = 0, bytes;

	*nruns = 0;
	if (parse_u64(tok[0], 10, &f->size) < 0 || parse_u64(tok[1], 8, &mode) < 0 ||
	    mode > 07777 || (paged && parse_u64(tok[2], 10, &npacks) < 0) ||
	    parse_u64(tok[2 + paged], 10, nchunks) < 0 ||
	    (paged && parse_u64(tok[4], 10, nruns) < 0))
		return err_set("bad sizes in file line");
	if (paged && (f->size % STORE_PAGE || npacks > MAX_PACKS ||
		      (f->size && npacks == 0) || npacks > f->size / STORE_PAGE ||
		      *nruns > MAX_HINT_RUNS))
		return err_set("bad sizes in paged file line");
	f->mode = (uint32_t)mode;
	f->paged = paged;
	f->npacks = (size_t)npacks;   /* lines to read; recounted below */
	bytes = mfile_chunk_bytes(f);
	if (*nchunks > bytes || *nchunks < bytes / CHUNK_MAX + (bytes % CHUNK_MAX != 0))
		return err_set("bad sizes in file line");
	return 0;
}

/* "file NAME SIZE MODE NCHUNKS" or "paged NAME SIZE MODE NPACKS NCHUNKS
 * NRUNS", and its pack, chunk and run lines. */
static int parse_file(struct lines *l, char *line, struct manifest *m, int v1)
{
	char *tok[7], *save = NULL;
	uint64_t nchunks, npacks, nruns, sum = 0, hinted = 0;
	struct mfile *f;
	int i = 0, paged;

	for (char *t = strtok_r(line, " ", &save); t && i < 7;
	     t = strtok_r(NULL, " ", &save))
		tok[i++] = t;
	paged = i > 0 && !strcmp(tok[0], "paged") && !v1;
	if (i != 5 + 2 * paged || (!paged && strcmp(tok[0], "file") != 0) ||
	    strtok_r(NULL, " ", &save))
		return err_set("expected 'file NAME SIZE MODE NCHUNKS' or "
			       "'paged NAME SIZE MODE NPACKS NCHUNKS NRUNS'");
	if (file_name_check(tok[1]) < 0)
		return -1;
	for (size_t k = 0; k < m->nfiles; k++)
		if (!strcmp(m->files[k].name, tok[1]))
			return err_set("file '%s' listed twice", tok[1]);
	f = &m->files[m->nfiles];
	memset(f, 0, sizeof(*f));
	if (!(f->name = strdup(tok[1])))
		return err_set("out of memory");
	m->nfiles++;
	if (parse_sizes(tok + 2, paged, f, &nchunks, &nruns) < 0)
		return -1;
	npacks = f->npacks;
	f->npacks = 0;
	for (uint64_t k = 0; k < npacks; k++) {
		char *pl = next_line(l);

		if (!pl)
			return err_set("file '%s': missing pack lines", f->name);
		if (parse_pack_line(pl, f) < 0)
			return -1;
	}
	for (uint64_t k = 0; k < nchunks; k++) {
		char *cl = next_line(l);

		if (!cl)
			return err_set("file '%s': missing chunk lines", f->name);
		if (parse_chunk_line(cl, f) < 0)
			return -1;
		sum += f->chunks[f->nchunks - 1].len;
	}
	if (sum != mfile_chunk_bytes(f))
		return err_set("file '%s': chunks add up to %llu bytes, not %llu",
			       f->name, (unsigned long long)sum,
			       (unsigned long long)mfile_chunk_bytes(f));
	for (uint64_t k = 0; k < nruns; k++) {
		char *rl = next_line(l);

		if (!rl)
			return err_set("file '%s': missing run lines", f->name);
		if (parse_run_line(rl, f, &hinted) < 0)
			return -1;
	}
	return 0;
}

/* Check the trailing "sha256 HEX\n" line; returns the body length. */
static int check_sum(const uint8_t *data, size_t len, size_t *body)
{
	const size_t tail = sizeof("sha256 ") - 1 + HASH_LEN * 2 + 1;
	uint8_t want[HASH_LEN], got[HASH_LEN];
	char hex[HASH_HEX];

	if (len < tail || memcmp(data + len - tail, "sha256 ", 7) != 0 ||
	    data[len - 1] != '\n')
		return err_set("no checksum line");
	memcpy(hex, data + len - tail + 7, HASH_LEN * 2);
	hex[HASH_LEN * 2] = '\0';
	if (hash_parse(hex, want) < 0 || chunk_hash(data, len - tail, got) < 0)
		return -1;
	if (memcmp(want, got, HASH_LEN) != 0)
		return err_set("checksum mismatch");
	*body = len - tail;
	return 0;
}

static int parse_header(struct lines *l, struct manifest *m, int *v1)
{
	char *s;
	uint64_t v;

	if (!(s = next_line(l)) ||
	    (strcmp(s, MANIFEST_MAGIC) != 0 && strcmp(s, MANIFEST_MAGIC_V1) != 0))
		return err_set("not a store manifest (or unknown version)");
	*v1 = !strcmp(s, MANIFEST_MAGIC_V1);
	if (!(s = next_line(l)) || strncmp(s, "image ", 6) != 0 ||
	    image_name_check(s + 6) < 0)
		return err_set("bad image line");
	if (!(m->image = strdup(s + 6)))
		return err_set("out of memory");
	if (!(s = next_line(l)) || strncmp(s, "generation ", 11) != 0 ||
	    parse_u64(s + 11, 10, &m->generation) < 0 || m->generation == 0)
		return err_set("bad generation line");
	if (!(s = next_line(l)) || strncmp(s, "created ", 8) != 0 ||
	    parse_u64(s + 8, 10, &v) < 0 || v > INT64_MAX)
		return err_set("bad created line");
	m->created = (int64_t)v;
	return 0;
}

static int parse_body(char *text, struct manifest *m)
{
	struct lines l = { text, 0 };
	char *s;
	int v1 = 0;

	if (parse_header(&l, m, &v1) < 0)
		return err_wrap("line %u", l.no);
	while ((s = next_line(&l)) != NULL) {
		if (m->nfiles == MAX_FILES)
			return err_set("more than %d files", MAX_FILES);
		if (!m->files && !(m->files = calloc(MAX_FILES, sizeof(*m->files))))
			return err_set("out of memory");
		if (parse_file(&l, s, m, v1) < 0)
			return err_wrap("line %u", l.no);
	}
	if (l.p && *l.p)
		return err_set("trailing garbage after line %u", l.no);
	return 0;
}

int manifest_parse(const uint8_t *data, size_t len, struct manifest *m)
{
	size_t body = 0;
	char *text;
	int rc;

	memset(m, 0, sizeof(*m));
	if (check_sum(data, len, &body) < 0)
		return err_wrap("store manifest");
	if (memchr(data, '\0', body))
		return err_set("store manifest: NUL byte");
	text = malloc(body + 1);
	if (!text)
		return err_set("out of memory");
	memcpy(text, data, body);
	text[body] = '\0';
	rc = parse_body(text, m);
	free(text);
	if (rc < 0) {
		manifest_free(m);
		return err_wrap("store manifest");
	}
	return 0;
}
