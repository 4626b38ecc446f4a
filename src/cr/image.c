/*
 * image.c - the checkpoint manifest: serializes a struct cr_image into
 * DIR/manifest, parses a manifest back and validates every field, frees an
 * image.  The byte layout is specified in docs/image-format.md; keep the two
 * in step (and bump CR_IMAGE_VERSION when the layout changes).
 *
 * Sections: format constants, little-endian writer, little-endian reader,
 * validation (shared by the writer and the reader), encoding, decoding,
 * file I/O, public entry points.
 */
#include <stddef.h>   /* before image.h, which uses size_t without it */
#include "cr/image.h"
#include "common/err.h"
#include "common/io.h"
#include "cr/file_inet.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/netlink.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <limits.h>
/* The low-level SHA-256 calls (deprecated in OpenSSL 3 in favour of EVP)
 * skip the provider initialisation EVP does on first use: about 0.5 ms of
 * every restore, which reads one small manifest. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- Format constants (docs/image-format.md) ---- */

static const char hdr_magic[8] = "PICOIMG";  /* with its NUL: 8 bytes */
#define HDR_OFF_VERSION 8
#define HDR_OFF_FLAGS   12
#define HDR_OFF_LENGTH  16
#define HDR_OFF_SHA     24
#define SHA_LEN         32
#define HDR_LEN         56
#define REC_HDR_LEN     8
#define REC_OPTIONAL    0x80000000u   /* unknown records with this bit: skip */
#define MANIFEST_MAX    (1u << 30)
#define MANIFEST_NAME   "manifest"

#define USER_VA_END     0x800000000000ull
#define VSYSCALL_START  0xffffffffff600000ull
#define VSYSCALL_END    (VSYSCALL_START + CR_PAGE_SIZE)
#define PROT_MASK       (PROT_READ | PROT_WRITE | PROT_EXEC)
#define VMA_FLAGS_MASK  ((CR_VMA_F_LOCKED << 1) - 1)
#ifndef SS_AUTODISARM
#define SS_AUTODISARM   (1u << 31)    /* <linux/signal.h>; not in glibc's */
#endif
#define ALTSTACK_FLAGS  ((uint32_t)SS_ONSTACK | SS_DISABLE | SS_AUTODISARM)
#define CLOCK_MAX       11            /* CLOCK_TAI */
#define MAX_GROUPS      64
#define EPOLL_EVENTS_MASK ((uint32_t)(EPOLLIN | EPOLLPRI | EPOLLOUT | EPOLLERR | \
			   EPOLLHUP | EPOLLRDNORM | EPOLLRDBAND | \
			   EPOLLWRNORM | EPOLLWRBAND | EPOLLMSG | EPOLLRDHUP | \
			   EPOLLEXCLUSIVE | EPOLLWAKEUP | EPOLLONESHOT | EPOLLET))

/* Fixed payload sizes, used to bound counts before allocating. */
#define RUN_LEN     28
#define TIMER_LEN   44
#define SIGINFO_LEN CR_SIGINFO_SIZE

enum rec_type {
	REC_IMAGE = 1, REC_SHMEM, REC_RUN, REC_PROC, REC_CREDS, REC_RLIMITS,
	REC_MM, REC_AUXV, REC_SIGACTIONS, REC_TIMER, REC_SIGINFO, REC_THREAD,
	REC_XSAVE, REC_VMA, REC_FD, REC_FILE, REC_FDATA, REC_FENT, REC_END,
	REC_SEM, REC_MSGQ, REC_MSG, REC_LAST = REC_MSG,
};

static const char *const rec_names[] = {
	[REC_IMAGE] = "IMAGE", [REC_SHMEM] = "SHMEM", [REC_RUN] = "RUN",
	[REC_PROC] = "PROC", [REC_CREDS] = "CREDS", [REC_RLIMITS] = "RLIMITS",
	[REC_MM] = "MM", [REC_AUXV] = "AUXV", [REC_SIGACTIONS] = "SIGACTIONS",
	[REC_TIMER] = "TIMER", [REC_SIGINFO] = "SIGINFO", [REC_THREAD] = "THREAD",
	[REC_XSAVE] = "XSAVE", [REC_VMA] = "VMA", [REC_FD] = "FD",
	[REC_FILE] = "FILE", [REC_FDATA] = "FDATA", [REC_FENT] = "FENT",
	[REC_END] = "END", [REC_SEM] = "SEM", [REC_MSGQ] = "MSGQ", [REC_MSG] = "MSG",
};

static const char *rec_name(uint32_t type)
{
	if (type >= REC_IMAGE && type <= REC_LAST)
		return rec_names[type];
	return "unknown";
}

/* The 27 registers of user_regs_struct, in the order they are stored. */
#define REG(name) offsetof(struct user_regs_struct, name)
static const size_t reg_offsets[] = {
	REG(r15), REG(r14), REG(r13), REG(r12), REG(rbp), REG(rbx), REG(r11),
	REG(r10), REG(r9), REG(r8), REG(rax), REG(rcx), REG(rdx), REG(rsi),
	REG(rdi), REG(orig_rax), REG(rip), REG(cs), REG(eflags), REG(rsp),
	REG(ss), REG(fs_base), REG(gs_base), REG(ds), REG(es), REG(fs), REG(gs),
};
#undef REG
#define NR_REGS (sizeof(reg_offsets) / sizeof(reg_offsets[0]))
_Static_assert(sizeof(struct user_regs_struct) == 27 * 8,
	       "user_regs_struct is 27 u64 fields");

/* ---- Little-endian encoding of integers ---- */

static void le_store(uint8_t *dst, uint64_t v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dst[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t le_load(const uint8_t *src, size_t n)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n; i++)
		v |= (uint64_t)src[i] << (8 * i);
	return v;
}

/* ---- Writer: a growing buffer; allocation failure is sticky ---- */

struct wbuf {
	uint8_t *p;
	size_t len, cap;
	bool oom;
};

/* Reserve n bytes at the end; NULL once allocation has failed. */
static uint8_t *wb_room(struct wbuf *w, size_t n)
{
	uint8_t *d;

	if (w->oom)
		return NULL;
	if (n > w->cap - w->len) {
		size_t cap = w->cap ? w->cap : 16384;
		uint8_t *p;

		while (cap - w->len < n) {
			if (cap > SIZE_MAX / 2)
				goto oom;
			cap *= 2;
		}
		p = realloc(w->p, cap);
		if (!p)
			goto oom;
		w->p = p;
		w->cap = cap;
	}
	d = w->p + w->len;
	w->len += n;
	return d;
oom:
	w->oom = true;
	return NULL;
}

static void put_bytes(struct wbuf *w, const void *src, size_t n)
{
	uint8_t *d = wb_room(w, n);

	if (d && n)
		memcpy(d, src, n);
}

static void put_le(struct wbuf *w, uint64_t v, size_t n)
{
	uint8_t *d = wb_room(w, n);

	if (d)
		le_store(d, v, n);
}

static void put_u32(struct wbuf *w, uint32_t v) { put_le(w, v, 4); }
static void put_u64(struct wbuf *w, uint64_t v) { put_le(w, v, 8); }
static void put_i32(struct wbuf *w, int32_t v) { put_le(w, (uint32_t)v, 4); }
static void put_i64(struct wbuf *w, int64_t v) { put_le(w, (uint64_t)v, 8); }

/* A string: u32 length, then the bytes without NUL; NULL is length 0. */
static void put_str(struct wbuf *w, const char *s)
{
	size_t n = s ? strlen(s) : 0;

	put_u32(w, (uint32_t)n);
	put_bytes(w, s, n);
}

/* Start a record; returns where its length goes, for rec_end(). */
static size_t rec_begin(struct wbuf *w, uint32_t type)
{
	size_t at;

	put_u32(w, type);
	at = w->len;
	put_u32(w, 0);
	return at;
}

static void rec_end(struct wbuf *w, size_t at)
{
	if (!w->oom)
		le_store(w->p + at, w->len - at - 4, 4);
}

/* ---- Reader: a bounded cursor; running past the end is sticky ---- */

struct rbuf {
	const uint8_t *p;
	size_t len, off;
	bool overrun;
};

static size_t rb_left(const struct rbuf *r)
{
	return r->len - r->off;
}

static const uint8_t *rb_take(struct rbuf *r, size_t n)
{
	const uint8_t *s;

	if (n > rb_left(r)) {
		r->overrun = true;
		r->off = r->len;
		return NULL;
	}
	s = r->p + r->off;
	r->off += n;
	return s;
}

static uint64_t get_le(struct rbuf *r, size_t n)
{
	const uint8_t *s = rb_take(r, n);

	return s ? le_load(s, n) : 0;
}

static uint32_t get_u32(struct rbuf *r) { return (uint32_t)get_le(r, 4); }
static uint64_t get_u64(struct rbuf *r) { return get_le(r, 8); }
static int32_t get_i32(struct rbuf *r) { return (int32_t)get_u32(r); }
static int64_t get_i64(struct rbuf *r) { return (int64_t)get_u64(r); }

static void get_bytes(struct rbuf *r, void *dst, size_t n)
{
	const uint8_t *s = rb_take(r, n);

	if (s)
		memcpy(dst, s, n);
	else
		memset(dst, 0, n);
}

/* Read a string written by put_str() into a new allocation (*out NULL for
 * length 0).  Rejects strings of CR_PATH_MAX bytes or more and inner NULs. */
static int get_str(struct rbuf *r, char **out, const char *what)
{
	uint32_t n = get_u32(r);
	const uint8_t *s;

	*out = NULL;
	if (r->overrun || n == 0)
		return 0;
	if (n >= CR_PATH_MAX)
		return err_set("%s: length %" PRIu32 " not below %d", what, n,
			       CR_PATH_MAX);
	s = rb_take(r, n);
	if (!s)
		return err_set("%s: length %" PRIu32 " runs past its record",
			       what, n);
	if (memchr(s, '\0', n))
		return err_set("%s: contains a NUL byte", what);
	*out = malloc(n + 1);
	if (!*out)
		return err_sys("%s: malloc %" PRIu32, what, n + 1);
	memcpy(*out, s, n);
	(*out)[n] = '\0';
	return 0;
}

/* ---- Validation: what both the writer and the reader insist on ---- */

static bool page_aligned(uint64_t v)
{
	return (v & (CR_PAGE_SIZE - 1)) == 0;
}

static bool valid_signo(int64_t sig)
{
	return sig >= 1 && sig <= CR_NSIG;
}

/* An array pointer must be there when its count is not zero. */
static int check_array(const void *arr, uint32_t n, const char *what)
{
	if (n && !arr)
		return err_set("nr_%s is %" PRIu32 " but %s is NULL", what, n,
			       what);
	return 0;
}

static int check_path(const char *s, const char *what, bool required)
{
	if (!s)
		return required ? err_set("%s missing", what) : 0;
	if (strnlen(s, CR_PATH_MAX) >= CR_PATH_MAX)
		return err_set("%s not shorter than %d bytes", what,
			       CR_PATH_MAX);
	if (s[0] != '/')
		return err_set("%s \"%s\" not absolute", what, s);
	return 0;
}

static int check_comm(const char comm[CR_COMM_LEN])
{
	if (!memchr(comm, '\0', CR_COMM_LEN))
		return err_set("comm not NUL-terminated");
	return 0;
}

static int check_siginfos(const struct cr_siginfo *si, uint32_t n,
			  const char *what)
{
	if (check_array(si, n, what))
		return -1;
	for (uint32_t i = 0; i < n; i++) {
		int32_t signo = (int32_t)le_load(si[i].raw, 4);

		if (!valid_signo(signo))
			return err_set("%s %" PRIu32 ": signo %" PRId32
				       " not in 1..%d", what, i, signo, CR_NSIG);
	}
	return 0;
}

/* One run: [addr, addr + nr_pages pages) inside [lo, hi), after *prev_end,
 * its bytes inside DIR/pages.  Advances *prev_end. */
static int check_run(const struct cr_image *img, const struct cr_page_run *r,
		     uint64_t lo, uint64_t hi, uint64_t *prev_end)
{
	uint64_t bytes, end, file_end;

	if (r->nr_pages == 0)
		return err_set("nr_pages is 0");
	if (r->flags & ~CR_RUN_INHERITED)
		return err_set("flags 0x%" PRIx32 " has unknown bits", r->flags);
	if (!page_aligned(r->addr))
		return err_set("addr 0x%" PRIx64 " not page aligned", r->addr);
	if (__builtin_mul_overflow(r->nr_pages, (uint64_t)CR_PAGE_SIZE, &bytes) ||
	    __builtin_add_overflow(r->addr, bytes, &end))
		return err_set("addr 0x%" PRIx64 " + %" PRIu64 " pages overflows",
			       r->addr, r->nr_pages);
	if (r->addr < lo || end > hi)
		return err_set("[0x%" PRIx64 ", 0x%" PRIx64 ") outside [0x%"
			       PRIx64 ", 0x%" PRIx64 ")", r->addr, end, lo, hi);
	if (r->addr < *prev_end)
		return err_set("addr 0x%" PRIx64 " overlaps or precedes the "
			       "previous run (ends 0x%" PRIx64 ")", r->addr,
			       *prev_end);
	if (!page_aligned(r->file_off))
		return err_set("file_off 0x%" PRIx64 " not page aligned",
			       r->file_off);
	if (__builtin_add_overflow(r->file_off, bytes, &file_end) ||
	    file_end > img->pages_size)
		return err_set("file_off 0x%" PRIx64 " + %" PRIu64 " bytes past "
			       "pages_size %" PRIu64, r->file_off, bytes,
			       img->pages_size);
	*prev_end = end;
	return 0;
}

static int check_runs(const struct cr_image *img, const struct cr_page_run *runs,
		      uint32_t n, uint64_t lo, uint64_t hi)
{
	uint64_t prev_end = lo;

	if (check_array(runs, n, "runs"))
		return -1;
	for (uint32_t i = 0; i < n; i++)
		if (check_run(img, &runs[i], lo, hi, &prev_end))
			return err_wrap("run %" PRIu32, i);
	return 0;
}

static int check_ipc_perm(const struct cr_ipc_perm *p)
{
	if (p->id < 0)
		return err_set("SysV id %" PRId32 " negative", p->id);
	if (p->mode & ~0777u)
		return err_set("SysV mode 0%" PRIo32 " beyond 0777", p->mode);
	return 0;
}

static int check_shmem(const struct cr_image *img, const struct cr_shmem *sh)
{
	static const struct cr_ipc_perm none;

	if (!page_aligned(sh->size))
		return err_set("size 0x%" PRIx64 " not page aligned", sh->size);
	if (sh->sysv > CR_SYSV_SHM_REMOVED || (sh->sysv && !img->ipc_ns))
		return err_set("sysv %" PRIu32 " (ipc_ns %" PRIu32 ")", sh->sysv, img->ipc_ns);
	if (!sh->sysv && (sh->segsz || memcmp(&sh->perm, &none, sizeof(none))))
		return err_set("SysV fields on a shmem object that is not SysV");
	if (sh->sysv && (!sh->segsz || sh->segsz > sh->size ||
			 sh->size - sh->segsz >= CR_PAGE_SIZE))
		return err_set("SysV segsz %" PRIu64 " does not round up to size %" PRIu64,
			       sh->segsz, sh->size);
	if (sh->sysv && check_ipc_perm(&sh->perm))
		return -1;
	if (sh->sysv == CR_SYSV_SHM_REMOVED && sh->perm.key)
		return err_set("a removed SysV segment with key 0x%08" PRIx32, sh->perm.key);
	for (uint32_t i = 0; i < sh->nr_runs && sh->runs; i++)
		if (sh->runs[i].flags)
			return err_set("run %" PRIu32 ": flags 0x%" PRIx32 " in shared "
				       "memory", i, sh->runs[i].flags);
	return check_runs(img, sh->runs, sh->nr_runs, 0, sh->size);
}

static int check_sem(const struct cr_sem_set *s)
{
	if (check_ipc_perm(&s->perm))
		return -1;
	if (s->nsems == 0 || s->nsems > CR_SEM_MAX)
		return err_set("nsems %" PRIu32 " not in 1..%d", s->nsems, CR_SEM_MAX);
	if (check_array(s->vals, s->nsems, "vals"))
		return -1;
	for (uint32_t i = 0; i < s->nsems; i++)
		if (s->vals[i] > CR_SEMVMX)
			return err_set("semaphore %" PRIu32 ": value %u above %d", i,
				       s->vals[i], CR_SEMVMX);
	return 0;
}

static int check_msgq(const struct cr_msg_queue *q)
{
	if (check_ipc_perm(&q->perm) || check_array(q->msgs, q->nr_msgs, "msgs"))
		return -1;
	for (uint32_t i = 0; i < q->nr_msgs; i++)
		if (q->msgs[i].mtype <= 0 || q->msgs[i].len > CR_BLOB_MAX ||
		    (q->msgs[i].len && !q->msgs[i].data))
			return err_set("message %" PRIu32 ": mtype %" PRId64 " or length %"
				       PRIu64 " out of range", i, q->msgs[i].mtype,
				       q->msgs[i].len);
	return 0;
}

/* Every SysV id unique within its kind; objects only in an own namespace. */
static int check_ipc(const struct cr_image *img)
{
	if (img->ipc_ns > 1)
		return err_set("ipc_ns %" PRIu32 " not 0 or 1", img->ipc_ns);
	if (!img->ipc_ns && (img->nr_sems || img->nr_msgqs))
		return err_set("SysV objects without an IPC namespace of the tree");
	if (check_array(img->sems, img->nr_sems, "sems") ||
	    check_array(img->msgqs, img->nr_msgqs, "msgqs"))
		return -1;
	for (uint32_t i = 0; i < img->nr_sems; i++) {
		if (check_sem(&img->sems[i]))
			return err_wrap("sem %" PRIu32, i);
		for (uint32_t j = 0; j < i; j++)
			if (img->sems[j].perm.id == img->sems[i].perm.id)
				return err_set("sem %" PRIu32 ": id %" PRId32 " repeated", i,
					       img->sems[i].perm.id);
	}
	for (uint32_t i = 0; i < img->nr_msgqs; i++) {
		if (check_msgq(&img->msgqs[i]))
			return err_wrap("msgq %" PRIu32, i);
		for (uint32_t j = 0; j < i; j++)
			if (img->msgqs[j].perm.id == img->msgqs[i].perm.id)
				return err_set("msgq %" PRIu32 ": id %" PRId32 " repeated", i,
					       img->msgqs[i].perm.id);
	}
	for (uint32_t i = 0; i < img->nr_shmem; i++)
		for (uint32_t j = 0; img->shmem[i].sysv && j < i; j++)
			if (img->shmem[j].sysv && img->shmem[j].perm.id == img->shmem[i].perm.id)
				return err_set("shmem %" PRIu32 ": SysV id %" PRId32 " repeated",
					       i, img->shmem[i].perm.id);
	return 0;
}

static bool vma_is_file(uint32_t kind)
{
	return kind == CR_VMA_FILE || kind == CR_VMA_FILE_SHARED;
}

static bool vma_is_shared(uint32_t kind)
{
	return kind == CR_VMA_SHMEM || kind == CR_VMA_FILE_SHARED;
}

static bool vma_has_runs(uint32_t kind)
{
	return kind == CR_VMA_ANON || kind == CR_VMA_FILE;
}

/* Where the VMA may lie: start/end aligned, ordered, after the previous. */
static int check_vma_range(const struct cr_vma *v, uint64_t prev_end)
{
	if (v->kind == CR_VMA_VSYSCALL) {
		if (v->start != VSYSCALL_START || v->end != VSYSCALL_END)
			return err_set("vsyscall at [0x%" PRIx64 ", 0x%" PRIx64
				       "), not [0x%llx, 0x%llx)", v->start,
				       v->end, VSYSCALL_START, VSYSCALL_END);
	} else {
		if (!page_aligned(v->start))
			return err_set("start 0x%" PRIx64 " not page aligned",
				       v->start);
		if (!page_aligned(v->end))
			return err_set("end 0x%" PRIx64 " not page aligned",
				       v->end);
		if (v->start >= v->end)
			return err_set("start 0x%" PRIx64 " not below end 0x%"
				       PRIx64, v->start, v->end);
		if (v->end > USER_VA_END)
			return err_set("end 0x%" PRIx64 " above 0x%llx", v->end,
				       USER_VA_END);
	}
	if (v->start < prev_end)
		return err_set("start 0x%" PRIx64 " overlaps or precedes the "
			       "previous vma (ends 0x%" PRIx64 ")", v->start,
			       prev_end);
	return 0;
}

static int check_vma(const struct cr_image *img, const struct cr_vma *v,
		     uint64_t prev_end)
{
	bool shared = v->flags & CR_VMA_F_SHARED;

	if (v->kind < CR_VMA_ANON || v->kind > CR_VMA_VSYSCALL)
		return err_set("kind %" PRIu32 " unknown", v->kind);
	if (check_vma_range(v, prev_end))
		return -1;
	if (v->prot & ~(uint32_t)PROT_MASK)
		return err_set("prot 0x%" PRIx32 " has bits other than R/W/X",
			       v->prot);
	if (v->flags & ~(uint32_t)VMA_FLAGS_MASK)
		return err_set("flags 0x%" PRIx32 " has unknown bits", v->flags);
	if (shared != vma_is_shared(v->kind))
		return err_set("flag SHARED %s for kind %" PRIu32,
			       shared ? "set" : "clear", v->kind);
	if (v->kind == CR_VMA_SHMEM && v->shmem_id >= img->nr_shmem)
		return err_set("shmem_id %" PRIu32 " not below nr_shmem %" PRIu32,
			       v->shmem_id, img->nr_shmem);
	if (v->kind != CR_VMA_SHMEM && v->shmem_id != 0)
		return err_set("shmem_id %" PRIu32 " set on a non-shmem vma",
			       v->shmem_id);
	if (!page_aligned(v->pgoff))
		return err_set("pgoff 0x%" PRIx64 " not page aligned", v->pgoff);
	if (!vma_is_file(v->kind) && v->path)
		return err_set("path set on a vma of kind %" PRIu32, v->kind);
	if (check_path(v->path, "path", vma_is_file(v->kind)))
		return -1;
	if (!vma_has_runs(v->kind) && v->nr_runs)
		return err_set("%" PRIu32 " page runs on a vma of kind %" PRIu32,
			       v->nr_runs, v->kind);
	return check_runs(img, v->runs, v->nr_runs, v->start, v->end);
}

static int check_vmas(const struct cr_image *img, const struct cr_proc *p)
{
	uint64_t prev_end = 0;

	if (p->nr_vmas > CR_MAX_VMAS)
		return err_set("nr_vmas %" PRIu32 " above %d", p->nr_vmas,
			       CR_MAX_VMAS);
	if (check_array(p->vmas, p->nr_vmas, "vmas"))
		return -1;
	for (uint32_t i = 0; i < p->nr_vmas; i++) {
		if (check_vma(img, &p->vmas[i], prev_end))
			return err_wrap("vma %" PRIu32, i);
		prev_end = p->vmas[i].end;
	}
	return 0;
}

static int check_thread(const struct cr_image *img, const struct cr_thread *t)
{
	if (t->tid <= 0)
		return err_set("tid %" PRId32 " not positive", t->tid);
	if (check_comm(t->comm))
		return -1;
	if (t->xsave_len > CR_XSAVE_MAX)
		return err_set("xsave_len %" PRIu32 " above %d", t->xsave_len,
			       CR_XSAVE_MAX);
	if (t->xsave_len != img->xsave_size)
		return err_set("xsave_len %" PRIu32 " differs from the image's "
			       "xsave_size %" PRIu32, t->xsave_len,
			       img->xsave_size);
	if (check_array(t->xsave, t->xsave_len, "xsave"))
		return -1;
	if ((uint32_t)t->altstack_flags & ~ALTSTACK_FLAGS)
		return err_set("altstack_flags 0x%" PRIx32 " has unknown bits",
			       (uint32_t)t->altstack_flags);
	return check_siginfos(t->pending, t->nr_pending, "pending");
}

static int check_threads(const struct cr_image *img, const struct cr_proc *p)
{
	if (p->nr_threads > CR_MAX_THREADS)
		return err_set("nr_threads %" PRIu32 " above %d", p->nr_threads,
			       CR_MAX_THREADS);
	if (p->nr_threads == 0 && !p->zombie)
		return err_set("no threads (only a zombie may have none)");
	if (check_array(p->threads, p->nr_threads, "threads"))
		return -1;
	if (p->nr_threads && p->threads[0].tid != p->pid)
		return err_set("threads[0].tid %" PRId32 " is not the pid",
			       p->threads[0].tid);
	for (uint32_t i = 0; i < p->nr_threads; i++)
		if (check_thread(img, &p->threads[i]))
			return err_wrap("thread %" PRIu32 " (tid %" PRId32 ")",
					i, p->threads[i].tid);
	return 0;
}

static int check_fd(const struct cr_image *img, const struct cr_fd *f,
		    int32_t prev_fd)
{
	if (f->fd < 0)
		return err_set("fd %" PRId32 " negative", f->fd);
	if (f->fd <= prev_fd)
		return err_set("fd %" PRId32 " not above the previous fd %" PRId32
			       " (fds must be unique and sorted)", f->fd, prev_fd);
	if (f->file >= img->nr_files)
		return err_set("file %" PRIu32 " not below nr_files %" PRIu32,
			       f->file, img->nr_files);
	if (f->cloexec > 1)
		return err_set("cloexec %" PRIu32 " not 0 or 1", f->cloexec);
	return 0;
}

static int check_fds(const struct cr_image *img, const struct cr_proc *p)
{
	int32_t prev_fd = -1;

	if (p->nr_fds > CR_MAX_FDS)
		return err_set("nr_fds %" PRIu32 " above %u", p->nr_fds, CR_MAX_FDS);
	if (check_array(p->fds, p->nr_fds, "fds"))
		return -1;
	for (uint32_t i = 0; i < p->nr_fds; i++) {
		if (check_fd(img, &p->fds[i], prev_fd))
			return err_wrap("fd entry %" PRIu32, i);
		prev_fd = p->fds[i].fd;
	}
	return 0;
}

static int check_timer(const struct cr_posix_timer *t)
{
	if (t->id < 0)
		return err_set("id %" PRId32 " negative", t->id);
	if (t->clock > CLOCK_MAX)
		return err_set("clock %" PRId32 " unknown", t->clock);
	if (t->notify != SIGEV_SIGNAL && t->notify != SIGEV_NONE &&
	    t->notify != SIGEV_THREAD_ID)
		return err_set("notify %" PRId32 " unknown", t->notify);
	if (t->notify != SIGEV_NONE && !valid_signo(t->signo))
		return err_set("signo %" PRId32 " not in 1..%d", t->signo,
			       CR_NSIG);
	if (t->signo < 0 || t->signo > CR_NSIG)
		return err_set("signo %" PRId32 " not in 0..%d", t->signo,
			       CR_NSIG);
	if (t->interval_ns < 0 || t->value_ns < 0)
		return err_set("negative interval or value");
	return 0;
}

static int cmp_i32(const void *a, const void *b)
{
	int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;

	return (x > y) - (x < y);
}

static int check_timers(const struct cr_proc *p)
{
	int32_t *ids;
	int rc = 0;

	if (check_array(p->timers, p->nr_timers, "timers"))
		return -1;
	for (uint32_t i = 0; i < p->nr_timers; i++)
		if (check_timer(&p->timers[i]))
			return err_wrap("timer %" PRIu32, i);
	if (p->nr_timers < 2)
		return 0;
	ids = malloc(p->nr_timers * sizeof(*ids));
	if (!ids)
		return err_sys("timers: malloc");
	for (uint32_t i = 0; i < p->nr_timers; i++)
		ids[i] = p->timers[i].id;
	qsort(ids, p->nr_timers, sizeof(*ids), cmp_i32);
	for (uint32_t i = 1; i < p->nr_timers && !rc; i++)
		if (ids[i] == ids[i - 1])
			rc = err_set("timer id %" PRId32 " used twice", ids[i]);
	free(ids);
	return rc;
}

static const char *const rlimit_names[CR_NR_RLIMITS] = {
	"CPU", "FSIZE", "DATA", "STACK", "CORE", "RSS", "NPROC", "NOFILE",
	"MEMLOCK", "AS", "LOCKS", "SIGPENDING", "MSGQUEUE", "NICE", "RTPRIO",
	"RTTIME",
};

static int check_limits(const struct cr_proc *p)
{
	for (int i = 0; i < CR_NR_RLIMITS; i++)
		if (p->rlimits[i].cur > p->rlimits[i].max)
			return err_set("rlimit %d (%s): cur %" PRIu64 " above max %"
				       PRIu64, i, rlimit_names[i],
				       p->rlimits[i].cur, p->rlimits[i].max);
	for (int i = 0; i < 3; i++)
		if (p->itimers[i].interval_us < 0 || p->itimers[i].value_us < 0)
			return err_set("itimer %d: negative interval or value",
				       i);
	return 0;
}

static int check_creds(const struct cr_creds *c)
{
	if (c->nr_groups > MAX_GROUPS)
		return err_set("creds: nr_groups %" PRIu32 " above %d",
			       c->nr_groups, MAX_GROUPS);
	if (c->no_new_privs > 1)
		return err_set("creds: no_new_privs %" PRIu32 " not 0 or 1",
			       c->no_new_privs);
	return 0;
}

static int check_mm(const struct cr_mm *m)
{
	if (m->start_code > m->end_code || m->start_data > m->end_data ||
	    m->start_brk > m->brk || m->arg_start > m->arg_end ||
	    m->env_start > m->env_end)
		return err_set("mm: a start above its end (code, data, brk, "
			       "arg or env)");
	if (m->nr_auxv % 2 || m->nr_auxv > CR_AUXV_MAX * 2)
		return err_set("mm: nr_auxv %" PRIu32 " odd or above %d",
			       m->nr_auxv, CR_AUXV_MAX * 2);
	return check_path(m->exe_path, "mm: exe_path", false);
}

static int check_sigactions(const struct cr_proc *p)
{
	if (p->sigactions[SIGKILL - 1].handler ||
	    p->sigactions[SIGSTOP - 1].handler)
		return err_set("sigactions: SIGKILL/SIGSTOP handler not SIG_DFL");
	return 0;
}

/* The process's own fields (its ids against the others: check_tree()). */
static int check_proc_fields(const struct cr_proc *p)
{
	if (p->pid <= 0)
		return err_set("pid %" PRId32 " not positive", p->pid);
	if (p->ppid < 0 || p->pgid < 0 || p->sid < 0)
		return err_set("negative ppid, pgid or sid");
	if (p->zombie > 1)
		return err_set("zombie %" PRIu32 " not 0 or 1", p->zombie);
	if (p->exit_signal < 0 || p->exit_signal > CR_NSIG)
		return err_set("exit_signal %" PRId32 " not in 0..%d",
			       p->exit_signal, CR_NSIG);
	if (p->umask & ~0777u)
		return err_set("umask 0%" PRIo32 " above 0777", p->umask);
	if (check_comm(p->comm) || check_path(p->cwd, "cwd", !p->zombie) ||
	    check_path(p->root, "root", !p->zombie))
		return -1;
	return check_creds(&p->creds);
}

static int check_proc(const struct cr_image *img, const struct cr_proc *p)
{
	if (check_proc_fields(p) || check_limits(p) || check_mm(&p->mm) ||
	    check_sigactions(p) || check_timers(p))
		return -1;
	if (check_siginfos(p->shared_pending, p->nr_shared_pending,
			   "shared_pending"))
		return -1;
	if (check_threads(img, p) || check_vmas(img, p))
		return -1;
	return check_fds(img, p);
}

/* An id (pid or tid) and the index of the process it belongs to. */
struct id_ix {
	int32_t id;
	uint32_t ix;
};

static int cmp_id_ix(const void *a, const void *b)
{
	return cmp_i32(&((const struct id_ix *)a)->id,
		       &((const struct id_ix *)b)->id);
}

static const struct id_ix *find_id(const struct id_ix *v, size_t n, int32_t id)
{
	struct id_ix key = { .id = id };

	return bsearch(&key, v, n, sizeof(*v), cmp_id_ix);
}

/* Sort v and fail on the first id present twice. */
static int sort_unique(struct id_ix *v, size_t n, const char *what)
{
	qsort(v, n, sizeof(*v), cmp_id_ix);
	for (size_t i = 1; i < n; i++)
		if (v[i].id == v[i - 1].id)
			return err_set("%s %" PRId32 " used twice (procs %" PRIu32
				       " and %" PRIu32 ")", what, v[i].id,
				       v[i - 1].ix, v[i].ix);
	return 0;
}

/* Every pid unique, every ppid an earlier process. */
static int check_parents(const struct cr_image *img, struct id_ix *pids)
{
	const struct cr_proc *init = &img->procs[0];

	if (init->pid != 1 || init->ppid != 0)
		return err_set("proc 0 is pid %" PRId32 " ppid %" PRId32
			       ", not pid 1 ppid 0", init->pid, init->ppid);
	for (uint32_t i = 0; i < img->nr_procs; i++)
		pids[i] = (struct id_ix){ img->procs[i].pid, i };
	if (sort_unique(pids, img->nr_procs, "pid"))
		return -1;
	for (uint32_t i = 1; i < img->nr_procs; i++) {
		const struct cr_proc *p = &img->procs[i];
		const struct id_ix *parent = find_id(pids, img->nr_procs, p->ppid);

		if (!parent || parent->ix >= i)
			return err_set("proc %" PRIu32 " (pid %" PRId32 "): ppid %"
				       PRId32 " is not an earlier proc", i,
				       p->pid, p->ppid);
	}
	return 0;
}

/* Do the parent's runs cover [addr, end), in VMAs of the kind? */
static int runs_cover(const struct cr_proc *p, uint32_t kind, uint64_t addr, uint64_t end)
{
	for (uint32_t i = 0; i < p->nr_vmas && addr < end; i++) {
		const struct cr_vma *v = &p->vmas[i];

		if (v->end <= addr)
			continue;
		if (v->start > addr || v->kind != kind)
			return 0;
		for (uint32_t k = 0; k < v->nr_runs && addr < end; k++) {
			const struct cr_page_run *r = &v->runs[k];
			uint64_t r_end = r->addr + r->nr_pages * CR_PAGE_SIZE;

			if (r_end <= addr)
				continue;
			if (r->addr > addr)
				return 0;
			addr = r_end;
		}
		if (addr < end && addr < v->end)
			return 0;
	}
	return addr >= end;
}

/* An INHERITED run names pages its live parent has at the same
 * addresses, in a VMA of the same kind (check_run has checked each run's
 * own range). */
static int check_inherited(const struct cr_image *img, const struct id_ix *pids)
{
	for (uint32_t i = 0; i < img->nr_procs; i++) {
		const struct cr_proc *p = &img->procs[i];
		const struct cr_proc *pp = i ? NULL : p;   /* the init: none */

		for (uint32_t m = 0; m < p->nr_vmas; m++)
			for (uint32_t k = 0; k < p->vmas[m].nr_runs; k++) {
				const struct cr_page_run *r = &p->vmas[m].runs[k];

				if (!(r->flags & CR_RUN_INHERITED))
					continue;
				if (!pp)
					pp = &img->procs[find_id(pids, img->nr_procs,
								 p->ppid)->ix];
				if (i == 0 || p->zombie || pp->zombie ||
				    !runs_cover(pp, p->vmas[m].kind, r->addr,
						r->addr + r->nr_pages * CR_PAGE_SIZE))
					return err_set("proc %" PRIu32 " (pid %" PRId32 "): vma %"
						       PRIu32 " run %" PRIu32 ": INHERITED, but "
						       "pid %" PRId32 "'s runs do not cover it",
						       i, p->pid, m, k, p->ppid);
			}
	}
	return 0;
}

/* SIGEV_THREAD_ID timers must name a thread of their own process. */
static int check_timer_targets(const struct cr_image *img,
			       const struct id_ix *tids, size_t n)
{
	for (uint32_t i = 0; i < img->nr_procs; i++) {
		const struct cr_proc *p = &img->procs[i];

		for (uint32_t j = 0; j < p->nr_timers; j++) {
			const struct cr_posix_timer *t = &p->timers[j];
			const struct id_ix *owner;

			if (t->notify != SIGEV_THREAD_ID)
				continue;
			owner = find_id(tids, n, t->notify_tid);
			if (!owner || owner->ix != i)
				return err_set("proc %" PRIu32 " (pid %" PRId32
					       "): timer %" PRIu32 ": notify_tid %"
					       PRId32 " not a thread of it", i,
					       p->pid, j, t->notify_tid);
		}
	}
	return 0;
}

/* Every pid and tid unique across the namespace. */
static int check_tids(const struct cr_image *img, struct id_ix *tids, size_t n)
{
	size_t k = 0;

	for (uint32_t i = 0; i < img->nr_procs; i++) {
		const struct cr_proc *p = &img->procs[i];

		tids[k++] = (struct id_ix){ p->pid, i };
		for (uint32_t j = 1; j < p->nr_threads; j++)
			tids[k++] = (struct id_ix){ p->threads[j].tid, i };
	}
	if (sort_unique(tids, n, "tid"))
		return -1;
	return check_timer_targets(img, tids, n);
}

static int check_tree(const struct cr_image *img)
{
	size_t nr_tids = 0;
	struct id_ix *ids;
	int rc;

	for (uint32_t i = 0; i < img->nr_procs; i++)
		nr_tids += 1 + (img->procs[i].nr_threads ?
				img->procs[i].nr_threads - 1 : 0);
	ids = malloc(nr_tids * sizeof(*ids));
	if (!ids)
		return err_sys("malloc %zu ids", nr_tids);
	rc = check_parents(img, ids);
	if (!rc)
		rc = check_inherited(img, ids);
	if (!rc)
		rc = check_tids(img, ids, nr_tids);
	free(ids);
	return rc;
}

/* ---- Validation of files (open file descriptions) ---- */

static int check_sockaddr(const struct cr_sockaddr *a, const char *what)
{
	if (a->len > CR_SOCKADDR_MAX)
		return err_set("%s: length %" PRIu32 " above %d", what, a->len,
			       CR_SOCKADDR_MAX);
	if (a->len && a->len < 2)
		return err_set("%s: length %" PRIu32 " shorter than a family",
			       what, a->len);
	return 0;
}

/* An AF_UNIX address: family AF_UNIX, path NUL-free up to its end (a
 * path name) or starting with NUL (an abstract name). */
static int check_unix_addr(const struct cr_sockaddr *a, const char *what)
{
	size_t n;

	if (!a->len)
		return 0;
	if (le_load(a->addr, 2) != AF_UNIX)
		return err_set("%s: family %" PRIu64 " not AF_UNIX", what,
			       le_load(a->addr, 2));
	if (a->len > 110)
		return err_set("%s: length %" PRIu32 " above 110", what, a->len);
	n = a->len - 2;
	if (n == 0)
		return err_set("%s: empty name", what);
	if (a->addr[2] && (a->addr[2] != '/' || memchr(a->addr + 2, '\0', n)))
		return err_set("%s: path name not absolute or with a NUL", what);
	return 0;
}

static int check_data(const struct cr_file *f)
{
	if (check_array(f->data, f->nr_data, "data"))
		return -1;
	for (uint32_t i = 0; i < f->nr_data; i++) {
		if (f->data[i].len > CR_BLOB_MAX)
			return err_set("data %" PRIu32 ": %" PRIu64 " bytes, above %u",
				       i, f->data[i].len, CR_BLOB_MAX);
		if (f->data[i].len && !f->data[i].data)
			return err_set("data %" PRIu32 ": NULL", i);
		if (f->kind == CR_FILE_MQUEUE ? f->data[i].flags >= CR_MQ_PRIO_MAX :
		    f->data[i].flags != 0)
			return err_set("data %" PRIu32 ": flags 0x%" PRIx32 " unknown",
				       i, f->data[i].flags);
	}
	return 0;
}

static int check_no_extras(const struct cr_file *f, bool data, bool ents,
			   bool path)
{
	if (!data && f->nr_data)
		return err_set("nr_data %" PRIu32 " for a kind without data",
			       f->nr_data);
	if (!ents && f->nr_ents)
		return err_set("nr_ents %" PRIu32 " for a kind without entries",
			       f->nr_ents);
	if (!path && f->path)
		return err_set("path for a kind without one");
	if (f->peer != CR_FILE_NONE && f->kind != CR_FILE_UNIX)
		return err_set("peer for a kind without one");
	if (f->laddr.len || f->raddr.len)
		if (f->kind != CR_FILE_UNIX && f->kind != CR_FILE_TCP &&
		    f->kind != CR_FILE_UDP)
			return err_set("socket address for a kind without one");
	return 0;
}

static int check_reg(const struct cr_file *f)
{
	if (f->reg.unlinked > 1)
		return err_set("unlinked %" PRIu32 " not 0 or 1", f->reg.unlinked);
	if (f->reg.mode & ~07777u)
		return err_set("mode 0%" PRIo32 " above 07777", f->reg.mode);
	if (f->nr_data != f->reg.unlinked)
		return err_set("nr_data %" PRIu32 " (an unlinked file has 1, "
			       "others 0)", f->nr_data);
	if (f->reg.unlinked && f->data[0].len != f->reg.size)
		return err_set("content %" PRIu64 " bytes, size %" PRIu64,
			       f->data[0].len, f->reg.size);
	if (f->reg.seals & ~CR_MEMFD_SEALS)
		return err_set("seals 0x%" PRIx32 " beyond 0x%x", f->reg.seals, CR_MEMFD_SEALS);
	if (f->reg.seals && !(f->reg.unlinked && f->path && !strncmp(f->path, "/memfd:", 7)))
		return err_set("seals on a file that is not a memfd");
	return check_path(f->path, "path", true);
}

static int check_dev(const struct cr_file *f)
{
	static const char *const ok[] = { "/dev/null", "/dev/zero", "/dev/random",
					   "/dev/urandom" };

	for (size_t i = 0; f->path && i < sizeof(ok) / sizeof(ok[0]); i++)
		if (!strcmp(f->path, ok[i]))
			return 0;
	return err_set("device path \"%s\" not /dev/null, zero, random or "
		       "urandom", f->path ? f->path : "");
}

static int check_pipe(const struct cr_file *f)
{
	uint32_t acc = f->flags & O_ACCMODE;

	if (f->pipe.has_data > 1)
		return err_set("has_data %" PRIu32 " not 0 or 1", f->pipe.has_data);
	if (!f->pipe.has_data && f->nr_data)
		return err_set("data without has_data");
	if (f->pipe.size < 4096 || f->pipe.size > (1u << 30))
		return err_set("pipe size %" PRIu32 " not in 4096..2^30",
			       f->pipe.size);
	if (f->kind == CR_FILE_PIPE && acc != O_RDONLY && acc != O_WRONLY)
		return err_set("pipe end neither read-only nor write-only");
	if (f->obj == 0)
		return err_set("pipe without an object id");
	return check_path(f->path, "path", f->kind == CR_FILE_FIFO);
}

/* A renamed or unlinked socket file: only for a path name; the current
 * name (path) exactly when renamed. */
static int check_unix_name(const struct cr_file *f)
{
	uint32_t s = f->un.name_state;

	if (s > CR_UNIX_NAME_UNLINKED)
		return err_set("name_state %" PRIu32 " unknown", s);
	if (s != CR_UNIX_NAME_BOUND && (f->laddr.len <= 2 || f->laddr.addr[2] != '/'))
		return err_set("name_state %" PRIu32 " without a path name", s);
	if ((s == CR_UNIX_NAME_RENAMED) != (f->path != NULL))
		return err_set("path present iff the socket file was renamed");
	return check_path(f->path, "path", false);
}

static int check_unix(const struct cr_image *img, const struct cr_file *f)
{
	const struct cr_file_unix *u = &f->un;

	if (u->type != SOCK_STREAM && u->type != SOCK_DGRAM &&
	    u->type != SOCK_SEQPACKET)
		return err_set("socket type %" PRIu32 " unknown", u->type);
	if (u->state < CR_UNIX_UNCONN || u->state > CR_UNIX_PEER_GONE)
		return err_set("socket state %" PRIu32 " unknown", u->state);
	if ((u->state == CR_UNIX_CONN) != (f->peer != CR_FILE_NONE))
		return err_set("peer %" PRIu32 " does not match state %" PRIu32,
			       f->peer, u->state);
	if (f->peer != CR_FILE_NONE && img->files[f->peer].kind != CR_FILE_UNIX)
		return err_set("peer %" PRIu32 " is not a unix socket", f->peer);
	if (f->peer != CR_FILE_NONE && img->files[f->peer].un.type != u->type)
		return err_set("peer %" PRIu32 " of another socket type", f->peer);
	if (u->state == CR_UNIX_LISTEN && u->type == SOCK_DGRAM)
		return err_set("a listening datagram socket");
	if ((u->state == CR_UNIX_CONN_EXT) != (f->raddr.len != 0))
		return err_set("raddr present iff connected outside the tree");
	if (u->passcred > 1 || u->name_mode & ~07777u)
		return err_set("passcred or name_mode out of range");
	if (u->rcvtimeo_us < 0 || u->sndtimeo_us < 0)
		return err_set("negative timeout");
	if (u->state == CR_UNIX_LISTEN && f->nr_data)
		return err_set("queued data on a listening socket");
	if (u->shutdown & ~(CR_UNIX_SHUT_RD | CR_UNIX_SHUT_WR))
		return err_set("shutdown 0x%" PRIx32 " has unknown bits", u->shutdown);
	if (u->custody && (u->state != CR_UNIX_LISTEN || !f->laddr.len))
		return err_set("custody tag on a unix socket that is not a bound listener");
	if (u->state == CR_UNIX_LISTEN && !f->laddr.len)
		return err_set("a listening socket without a name");
	if (u->backlog && u->state != CR_UNIX_LISTEN)
		return err_set("backlog on a socket that does not listen");
	if (f->peer != CR_FILE_NONE && u->type != SOCK_DGRAM &&
	    img->files[f->peer].peer != (uint32_t)(f - img->files))
		return err_set("stream peer %" PRIu32 " not connected back", f->peer);
	if (f->peer != CR_FILE_NONE &&
	    img->files[f->peer].peer != (uint32_t)(f - img->files) &&
	    !img->files[f->peer].laddr.len)
		return err_set("connected to peer %" PRIu32 ", which has no name", f->peer);
	if (u->state == CR_UNIX_CONN_EXT && u->type != SOCK_DGRAM)
		return err_set("a stream connected outside the tree");
	if (check_unix_addr(&f->laddr, "laddr") || check_unix_addr(&f->raddr, "raddr"))
		return -1;
	return check_unix_name(f);
}

/* A POSIX message queue: "/name" (one component), its attributes, and
 * its messages on one file per queue. */
static int check_mqueue(const struct cr_file *f)
{
	const struct cr_file_mqueue *q = &f->mq;

	if (check_path(f->path, "path", true))
		return -1;
	if (!f->path[1] || strchr(f->path + 1, '/'))
		return err_set("queue name \"%s\" not /NAME", f->path);
	if (q->unlinked > 1 || q->has_data > 1 || q->mode & ~0777u)
		return err_set("unlinked, has_data or mode out of range");
	if (q->maxmsg <= 0 || q->msgsize <= 0 || q->maxmsg > 65536 || q->msgsize > (1 << 24))
		return err_set("maxmsg %" PRId64 " or msgsize %" PRId64 " out of range",
			       q->maxmsg, q->msgsize);
	if (f->nr_data && !q->has_data)
		return err_set("messages on a file without has_data");
	if (f->nr_data > (uint64_t)q->maxmsg)
		return err_set("%" PRIu32 " messages, above maxmsg %" PRId64, f->nr_data,
			       q->maxmsg);
	for (uint32_t i = 0; i < f->nr_data; i++)
		if (f->data[i].len > (uint64_t)q->msgsize)
			return err_set("message %" PRIu32 ": %" PRIu64 " bytes, above msgsize %"
				       PRId64, i, f->data[i].len, q->msgsize);
	return 0;
}

static int check_netlink(const struct cr_file *f)
{
	const struct cr_file_netlink *n = &f->nl;

	if (n->protocol != NETLINK_ROUTE && n->protocol != NETLINK_KOBJECT_UEVENT)
		return err_set("netlink protocol %" PRIu32 " not supported", n->protocol);
	if (n->type != SOCK_RAW && n->type != SOCK_DGRAM)
		return err_set("netlink socket type %" PRIu32 " not RAW or DGRAM", n->type);
	if (n->opts & ~CR_NETLINK_O_MASK)
		return err_set("netlink options 0x%" PRIx32 " have unknown bits", n->opts);
	if (n->protocol == NETLINK_KOBJECT_UEVENT && (n->groups[0] > 1 || n->groups[1]))
		return err_set("uevent groups beyond group 1");
	if (n->dst_group > 32)
		return err_set("netlink dst_group %" PRIu32 " above 32", n->dst_group);
	return 0;
}

static int check_ents(const struct cr_file *f)
{
	if (check_array(f->ents, f->nr_ents, "ents"))
		return -1;
	for (uint32_t i = 0; i < f->nr_ents; i++) {
		const struct cr_file_ent *e = &f->ents[i];

		if (i && e->fd <= f->ents[i - 1].fd)
			return err_set("entry %" PRIu32 ": %" PRId32 " not above the "
				       "previous one", i, e->fd);
		if (f->kind == CR_FILE_EPOLL &&
		    (e->fd < 0 || e->path || (e->events & ~EPOLL_EVENTS_MASK)))
			return err_set("epoll entry %" PRIu32 ": bad fd, events or path", i);
		if (f->kind == CR_FILE_INOTIFY &&
		    (e->fd <= 0 || e->data || (e->events & ~(uint32_t)(IN_ALL_EVENTS |
		     IN_ONLYDIR | IN_DONT_FOLLOW | IN_EXCL_UNLINK | IN_MASK_ADD |
		     IN_ONESHOT))))
			return err_set("inotify watch %" PRIu32 ": bad wd, mask or data", i);
		if (f->kind == CR_FILE_INOTIFY && check_path(e->path, "watch path", true))
			return err_wrap("inotify watch %" PRIu32, i);
	}
	return 0;
}

/* What each kind may carry besides its own fields. */
static int check_extras(const struct cr_file *f)
{
	uint32_t k = f->kind;
	bool data = k == CR_FILE_REG || k == CR_FILE_PIPE || k == CR_FILE_FIFO ||
		    k == CR_FILE_UNIX || k == CR_FILE_TCP || k == CR_FILE_MQUEUE;
	bool ents = k == CR_FILE_EPOLL || k == CR_FILE_INOTIFY;
	bool path = k == CR_FILE_REG || k == CR_FILE_DIR || k == CR_FILE_DEV ||
		    k == CR_FILE_FIFO || k == CR_FILE_UNIX || k == CR_FILE_MQUEUE;

	return check_no_extras(f, data, ents, path);
}

static int check_kind(const struct cr_image *img, const struct cr_file *f)
{
	if (f->kind < CR_FILE_REG || f->kind > CR_FILE_KIND_MAX)
		return err_set("kind %" PRIu32 " unknown", f->kind);
	if (check_extras(f))
		return -1;
	switch (f->kind) {
	case CR_FILE_REG:
		return check_reg(f);
	case CR_FILE_DIR:
		return check_path(f->path, "path", true);
	case CR_FILE_DEV:
		return check_dev(f);
	case CR_FILE_PIPE:
	case CR_FILE_FIFO:
		return check_pipe(f);
	case CR_FILE_UNIX:
		return check_unix(img, f);
	case CR_FILE_EPOLL:
	case CR_FILE_INOTIFY:
		return check_ents(f);
	case CR_FILE_TCP:
	case CR_FILE_UDP:
		return file_inet_check(f);
	case CR_FILE_NETLINK:
		return check_netlink(f);
	case CR_FILE_MQUEUE:
		return check_mqueue(f);
	case CR_FILE_EVENTFD:
		if (f->efd.semaphore > 1 || f->efd.count == UINT64_MAX)
			return err_set("eventfd semaphore or count out of range");
		return 0;
	case CR_FILE_TIMERFD:
		if (f->tfd.clock < 0 || f->tfd.clock > CLOCK_MAX ||
		    f->tfd.value_ns < 0 || f->tfd.interval_ns < 0)
			return err_set("timerfd clock, value or interval out of range");
		return 0;
	}
	return 0;   /* CR_FILE_SIGNALFD: any mask */
}

/* Is id a pid (or, for threads, a tid) of the tree? */
static bool tree_has_id(const struct cr_image *img, int32_t id, bool threads)
{
	for (uint32_t i = 0; i < img->nr_procs; i++) {
		const struct cr_proc *p = &img->procs[i];

		if (p->pid == id)
			return true;
		for (uint32_t k = 0; threads && k < p->nr_threads; k++)
			if (p->threads[k].tid == id)
				return true;
	}
	return false;
}

static int check_owner(const struct cr_image *img, const struct cr_file *f)
{
	if (f->owner_type < F_OWNER_TID || f->owner_type > F_OWNER_PGRP)
		return err_set("owner_type %" PRId32 " unknown", f->owner_type);
	if (f->owner < 0)
		return err_set("owner %" PRId32 " negative", f->owner);
	if (f->owner && !tree_has_id(img, f->owner, f->owner_type == F_OWNER_TID))
		return err_set("owner %" PRId32 " not in the tree", f->owner);
	if (f->sig < 0 || f->sig > CR_NSIG)
		return err_set("sig %" PRId32 " not in 0..%d", f->sig, CR_NSIG);
	return 0;
}

static int check_file(const struct cr_image *img, uint32_t id,
		      const struct cr_file *f)
{
	if (f->flags & ~CR_FILE_FLAGS_MASK)
		return err_set("flags 0%" PRIo32 " has unknown bits", f->flags);
	if ((f->flags & O_ACCMODE) == O_ACCMODE)
		return err_set("access mode 3");
	if (f->peer != CR_FILE_NONE && (f->peer >= img->nr_files || f->peer == id))
		return err_set("peer %" PRIu32 " not another file", f->peer);
	if (check_owner(img, f) || check_sockaddr(&f->laddr, "laddr") ||
	    check_sockaddr(&f->raddr, "raddr") || check_data(f))
		return -1;
	return check_kind(img, f);
}

static int check_files(const struct cr_image *img)
{
	if (img->nr_files > CR_MAX_FILES)
		return err_set("nr_files %" PRIu32 " above %u", img->nr_files,
			       CR_MAX_FILES);
	if (check_array(img->files, img->nr_files, "files"))
		return -1;
	for (uint32_t i = 0; i < img->nr_files; i++)
		if (check_file(img, i, &img->files[i]))
			return err_wrap("file %" PRIu32, i);
	return 0;
}

/* A box name (not a path): 1-23 of a-z 0-9 and '-', not starting with '-'. */
static int check_box_name(const char *s)
{
	size_t n;

	if (!s)
		return 0;
	n = strlen(s);
	if (n == 0 || n >= 24 || s[0] == '-' || strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-") != n)
		return err_set("box name '%.32s' invalid", s);
	return 0;
}

static int check_image(const struct cr_image *img)
{
	if (check_box_name(img->box))
		return -1;
	if (img->xsave_size > CR_XSAVE_MAX)
		return err_set("xsave_size %" PRIu32 " above %d", img->xsave_size,
			       CR_XSAVE_MAX);
	if (!page_aligned(img->pages_size))
		return err_set("pages_size %" PRIu64 " not page aligned",
			       img->pages_size);
	if (img->nr_procs == 0 || img->nr_procs > CR_MAX_PROCS)
		return err_set("nr_procs %" PRIu32 " not in 1..%d", img->nr_procs,
			       CR_MAX_PROCS);
	if (check_array(img->procs, img->nr_procs, "procs") ||
	    check_array(img->shmem, img->nr_shmem, "shmem"))
		return -1;
	for (uint32_t i = 0; i < img->nr_shmem; i++)
		if (check_shmem(img, &img->shmem[i]))
			return err_wrap("shmem %" PRIu32, i);
	if (check_ipc(img))
		return -1;
	for (uint32_t i = 0; i < img->nr_procs; i++)
		if (check_proc(img, &img->procs[i]))
			return err_wrap("proc %" PRIu32 " (pid %" PRId32 ")", i,
					img->procs[i].pid);
	if (check_tree(img))
		return -1;
	return check_files(img);
}

/* ---- Encoding: one function per record (docs/image-format.md) ---- */

static void encode_runs(struct wbuf *w, const struct cr_page_run *runs,
			uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		size_t at = rec_begin(w, REC_RUN);

		put_u64(w, runs[i].addr);
		put_u64(w, runs[i].nr_pages);
		put_u64(w, runs[i].file_off);
		put_u32(w, runs[i].flags);
		rec_end(w, at);
	}
}

static void encode_siginfos(struct wbuf *w, const struct cr_siginfo *si,
			    uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		size_t at = rec_begin(w, REC_SIGINFO);

		put_bytes(w, si[i].raw, CR_SIGINFO_SIZE);
		rec_end(w, at);
	}
}

static void encode_image_rec(struct wbuf *w, const struct cr_image *img)
{
	size_t at = rec_begin(w, REC_IMAGE);

	put_u32(w, img->xsave_size);
	put_u64(w, img->xfeatures);
	put_u64(w, img->pages_size);
	put_u64(w, img->pages_hash);
	put_u32(w, img->nr_procs);
	put_u32(w, img->nr_shmem);
	put_u32(w, img->nr_files);
	put_u32(w, img->ipc_ns);
	put_u32(w, img->nr_sems);
	put_u32(w, img->nr_msgqs);
	put_str(w, img->box);
	rec_end(w, at);
}

static void encode_ipc_perm(struct wbuf *w, const struct cr_ipc_perm *p)
{
	put_i32(w, p->id);
	put_u32(w, p->key);
	put_u32(w, p->uid);
	put_u32(w, p->gid);
	put_u32(w, p->cuid);
	put_u32(w, p->cgid);
	put_u32(w, p->mode);
}

static void encode_shmem(struct wbuf *w, const struct cr_shmem *sh)
{
	size_t at = rec_begin(w, REC_SHMEM);

	put_u64(w, sh->size);
	put_u32(w, sh->nr_runs);
	put_u32(w, sh->sysv);
	encode_ipc_perm(w, &sh->perm);
	put_u64(w, sh->segsz);
	rec_end(w, at);
	encode_runs(w, sh->runs, sh->nr_runs);
}

static void encode_sem(struct wbuf *w, const struct cr_sem_set *s)
{
	size_t at = rec_begin(w, REC_SEM);

	encode_ipc_perm(w, &s->perm);
	put_u32(w, s->nsems);
	for (uint32_t i = 0; i < s->nsems; i++)
		put_le(w, s->vals[i], 2);
	rec_end(w, at);
}

static void encode_msgq(struct wbuf *w, const struct cr_msg_queue *q)
{
	size_t at = rec_begin(w, REC_MSGQ);

	encode_ipc_perm(w, &q->perm);
	put_u64(w, q->qbytes);
	put_u32(w, q->nr_msgs);
	rec_end(w, at);
	for (uint32_t i = 0; i < q->nr_msgs; i++) {
		at = rec_begin(w, REC_MSG);
		put_i64(w, q->msgs[i].mtype);
		put_u64(w, q->msgs[i].len);
		put_bytes(w, q->msgs[i].data, q->msgs[i].len);
		rec_end(w, at);
	}
}

static void encode_proc_rec(struct wbuf *w, const struct cr_proc *p)
{
	size_t at = rec_begin(w, REC_PROC);

	put_i32(w, p->pid);
	put_i32(w, p->ppid);
	put_i32(w, p->pgid);
	put_i32(w, p->sid);
	put_u32(w, p->zombie);
	put_i32(w, p->exit_code);
	put_i32(w, p->exit_signal);
	put_bytes(w, p->comm, CR_COMM_LEN);
	put_u32(w, p->umask);
	put_u32(w, p->personality);
	put_str(w, p->cwd);
	put_str(w, p->root);
	for (int i = 0; i < 3; i++) {
		put_i64(w, p->itimers[i].interval_us);
		put_i64(w, p->itimers[i].value_us);
	}
	put_u32(w, p->nr_timers);
	put_u32(w, p->nr_shared_pending);
	put_u32(w, p->nr_threads);
	put_u32(w, p->nr_vmas);
	put_u32(w, p->nr_fds);
	rec_end(w, at);
}

static void encode_creds(struct wbuf *w, const struct cr_creds *c)
{
	size_t at = rec_begin(w, REC_CREDS);
	const uint32_t ids[8] = { c->uid, c->euid, c->suid, c->fsuid,
				  c->gid, c->egid, c->sgid, c->fsgid };
	const uint64_t caps[5] = { c->cap_inh, c->cap_prm, c->cap_eff,
				   c->cap_bnd, c->cap_amb };

	for (int i = 0; i < 8; i++)
		put_u32(w, ids[i]);
	for (int i = 0; i < 5; i++)
		put_u64(w, caps[i]);
	put_u32(w, c->no_new_privs);
	put_u32(w, c->securebits);
	put_u32(w, c->nr_groups);
	for (uint32_t i = 0; i < c->nr_groups; i++)
		put_u32(w, c->groups[i]);
	rec_end(w, at);
}

static void encode_rlimits(struct wbuf *w, const struct cr_rlimit *rl)
{
	size_t at = rec_begin(w, REC_RLIMITS);

	for (int i = 0; i < CR_NR_RLIMITS; i++) {
		put_u64(w, rl[i].cur);
		put_u64(w, rl[i].max);
	}
	rec_end(w, at);
}

static void encode_mm(struct wbuf *w, const struct cr_mm *m)
{
	size_t at = rec_begin(w, REC_MM);
	const uint64_t f[11] = { m->start_code, m->end_code, m->start_data,
				 m->end_data, m->start_brk, m->brk,
				 m->start_stack, m->arg_start, m->arg_end,
				 m->env_start, m->env_end };

	for (int i = 0; i < 11; i++)
		put_u64(w, f[i]);
	put_str(w, m->exe_path);
	rec_end(w, at);

	at = rec_begin(w, REC_AUXV);
	put_u32(w, m->nr_auxv);
	for (uint32_t i = 0; i < m->nr_auxv; i++)
		put_u64(w, m->auxv[i]);
	rec_end(w, at);
}

static void encode_sigactions(struct wbuf *w, const struct cr_sigaction *sa)
{
	size_t at = rec_begin(w, REC_SIGACTIONS);

	for (int i = 0; i < CR_NSIG; i++) {
		put_u64(w, sa[i].handler);
		put_u64(w, sa[i].flags);
		put_u64(w, sa[i].restorer);
		put_u64(w, sa[i].mask);
	}
	rec_end(w, at);
}

static void encode_timer(struct wbuf *w, const struct cr_posix_timer *t)
{
	size_t at = rec_begin(w, REC_TIMER);

	put_i32(w, t->id);
	put_i32(w, t->clock);
	put_i32(w, t->notify);
	put_i32(w, t->signo);
	put_i32(w, t->notify_tid);
	put_u64(w, t->sigval);
	put_i64(w, t->interval_ns);
	put_i64(w, t->value_ns);
	rec_end(w, at);
}

static void encode_thread(struct wbuf *w, const struct cr_thread *t)
{
	size_t at = rec_begin(w, REC_THREAD);

	put_i32(w, t->tid);
	put_bytes(w, t->comm, CR_COMM_LEN);
	for (size_t i = 0; i < NR_REGS; i++) {
		uint64_t reg;

		memcpy(&reg, (const uint8_t *)&t->regs + reg_offsets[i], 8);
		put_u64(w, reg);
	}
	put_u64(w, t->rseq_addr);
	put_u32(w, t->rseq_len);
	put_u32(w, t->rseq_sig);
	put_u64(w, t->robust_head);
	put_u64(w, t->robust_len);
	put_u64(w, t->clear_tid);
	put_u64(w, t->sigmask);
	put_u64(w, t->altstack_sp);
	put_u64(w, t->altstack_size);
	put_i32(w, t->altstack_flags);
	put_u32(w, t->nr_pending);
	rec_end(w, at);

	at = rec_begin(w, REC_XSAVE);
	put_bytes(w, t->xsave, t->xsave_len);
	rec_end(w, at);
	encode_siginfos(w, t->pending, t->nr_pending);
}

static void encode_vma(struct wbuf *w, const struct cr_vma *v)
{
	size_t at = rec_begin(w, REC_VMA);

	put_u64(w, v->start);
	put_u64(w, v->end);
	put_u32(w, v->prot);
	put_u32(w, v->flags);
	put_u32(w, v->kind);
	put_u32(w, v->shmem_id);
	put_u64(w, v->pgoff);
	put_str(w, v->path);
	put_u64(w, v->file_size);
	put_i64(w, v->file_mtime_ns);
	put_u32(w, v->nr_runs);
	rec_end(w, at);
	encode_runs(w, v->runs, v->nr_runs);
}

static void encode_fd(struct wbuf *w, const struct cr_fd *f)
{
	size_t at = rec_begin(w, REC_FD);

	put_i32(w, f->fd);
	put_u32(w, f->file);
	put_u32(w, f->cloexec);
	rec_end(w, at);
}

/* ---- Files: the per-kind tail of a FILE record is a list of fields ---- */

struct tail_field {
	size_t off;        /* in struct cr_file */
	size_t size;       /* 4 or 8 bytes */
};

#define TF(m) { offsetof(struct cr_file, m), sizeof(((struct cr_file *)0)->m) }
static const struct tail_field tail_reg[] = {
	TF(reg.unlinked), TF(reg.mode), TF(reg.size), TF(reg.seals),
};
static const struct tail_field tail_pipe[] = {
	TF(pipe.size), TF(pipe.has_data),
};
static const struct tail_field tail_unix[] = {
	TF(un.type), TF(un.state), TF(un.backlog), TF(un.passcred), TF(un.rcvbuf),
	TF(un.sndbuf), TF(un.rcvtimeo_us), TF(un.sndtimeo_us), TF(un.name_mode),
	TF(un.name_uid), TF(un.name_gid), TF(un.shutdown), TF(un.custody),
	TF(un.name_state),
};
static const struct tail_field tail_netlink[] = {
	TF(nl.protocol), TF(nl.type), TF(nl.portid), TF(nl.opts), TF(nl.groups[0]),
	TF(nl.groups[1]), TF(nl.rcvbuf), TF(nl.sndbuf), TF(nl.dst_portid), TF(nl.dst_group),
};
static const struct tail_field tail_mqueue[] = {
	TF(mq.unlinked), TF(mq.mode), TF(mq.uid), TF(mq.gid), TF(mq.maxmsg), TF(mq.msgsize),
	TF(mq.has_data),
};
static const struct tail_field tail_eventfd[] = { TF(efd.count), TF(efd.semaphore) };
static const struct tail_field tail_timerfd[] = {
	TF(tfd.clock), TF(tfd.settime_flags), TF(tfd.value_ns), TF(tfd.interval_ns),
	TF(tfd.ticks),
};
static const struct tail_field tail_signalfd[] = { TF(sfd.mask) };
static const struct tail_field tail_inet[] = {
	TF(inet.family), TF(inet.state), TF(inet.backlog), TF(inet.custody),
	TF(inet.opts.reuseaddr), TF(inet.opts.reuseport), TF(inet.opts.keepalive),
	TF(inet.opts.v6only), TF(inet.opts.broadcast), TF(inet.opts.rcvbuf),
	TF(inet.opts.sndbuf), TF(inet.opts.linger_on), TF(inet.opts.linger_secs),
	TF(inet.opts.rcvtimeo_us), TF(inet.opts.sndtimeo_us), TF(inet.opts.nodelay),
	TF(inet.opts.cork), TF(inet.opts.keepidle), TF(inet.opts.keepintvl),
	TF(inet.opts.keepcnt), TF(inet.opts.defer_accept), TF(inet.opts.fastopen),
	TF(inet.tcp.snd_seq), TF(inet.tcp.rcv_seq), TF(inet.tcp.opts), TF(inet.tcp.mss),
	TF(inet.tcp.snd_wscale), TF(inet.tcp.rcv_wscale), TF(inet.tcp.timestamp),
	TF(inet.tcp.snd_wl1), TF(inet.tcp.snd_wnd), TF(inet.tcp.max_window),
	TF(inet.tcp.rcv_wnd), TF(inet.tcp.rcv_wup), TF(inet.tcp.unsent_len), TF(inet.tcp.fin),
};
#undef TF

/* The tail fields of a kind (none for unknown kinds and kinds without). */
static const struct tail_field *file_tail(uint32_t kind, size_t *n)
{
#define T(v) (*n = sizeof(v) / sizeof(v[0]), v)
	switch (kind) {
	case CR_FILE_REG: return T(tail_reg);
	case CR_FILE_PIPE: case CR_FILE_FIFO: return T(tail_pipe);
	case CR_FILE_UNIX: return T(tail_unix);
	case CR_FILE_EVENTFD: return T(tail_eventfd);
	case CR_FILE_TIMERFD: return T(tail_timerfd);
	case CR_FILE_SIGNALFD: return T(tail_signalfd);
	case CR_FILE_TCP: case CR_FILE_UDP: return T(tail_inet);
	case CR_FILE_NETLINK: return T(tail_netlink);
	case CR_FILE_MQUEUE: return T(tail_mqueue);
	}
#undef T
	*n = 0;
	return NULL;
}

static void put_sockaddr(struct wbuf *w, const struct cr_sockaddr *a)
{
	put_u32(w, a->len);
	put_bytes(w, a->addr, a->len <= CR_SOCKADDR_MAX ? a->len : 0);
}

static void encode_file(struct wbuf *w, const struct cr_file *f)
{
	size_t at = rec_begin(w, REC_FILE), n;
	const struct tail_field *t = file_tail(f->kind, &n);

	put_u32(w, f->kind);
	put_u32(w, f->flags);
	put_u64(w, f->pos);
	put_i32(w, f->owner_type);
	put_i32(w, f->owner);
	put_i32(w, f->sig);
	put_u32(w, f->peer);
	put_u64(w, f->obj);
	put_str(w, f->path);
	put_sockaddr(w, &f->laddr);
	put_sockaddr(w, &f->raddr);
	put_u32(w, f->nr_data);
	put_u32(w, f->nr_ents);
	for (size_t i = 0; i < n; i++)
		put_le(w, le_load((const uint8_t *)f + t[i].off, t[i].size), t[i].size);
	rec_end(w, at);
	for (uint32_t i = 0; i < f->nr_data; i++) {
		at = rec_begin(w, REC_FDATA);
		put_u32(w, f->data[i].flags);
		put_u64(w, f->data[i].len);
		put_bytes(w, f->data[i].data, f->data[i].len);
		rec_end(w, at);
	}
	for (uint32_t i = 0; i < f->nr_ents; i++) {
		at = rec_begin(w, REC_FENT);
		put_i32(w, f->ents[i].fd);
		put_u32(w, f->ents[i].events);
		put_u64(w, f->ents[i].data);
		put_str(w, f->ents[i].path);
		rec_end(w, at);
	}
}

static void encode_proc(struct wbuf *w, const struct cr_proc *p)
{
	encode_proc_rec(w, p);
	encode_creds(w, &p->creds);
	encode_rlimits(w, p->rlimits);
	encode_mm(w, &p->mm);
	encode_sigactions(w, p->sigactions);
	for (uint32_t i = 0; i < p->nr_timers; i++)
		encode_timer(w, &p->timers[i]);
	encode_siginfos(w, p->shared_pending, p->nr_shared_pending);
	for (uint32_t i = 0; i < p->nr_threads; i++)
		encode_thread(w, &p->threads[i]);
	for (uint32_t i = 0; i < p->nr_vmas; i++)
		encode_vma(w, &p->vmas[i]);
	for (uint32_t i = 0; i < p->nr_fds; i++)
		encode_fd(w, &p->fds[i]);
}

static int sha256(const uint8_t *data, size_t len, uint8_t out[SHA_LEN])
{
	SHA256_CTX ctx;

	if (!SHA256_Init(&ctx) || !SHA256_Update(&ctx, data, len) || !SHA256_Final(out, &ctx))
		return err_set("SHA-256 failed");
	return 0;
}

/* The whole manifest: header (length and checksum filled last), records. */
static int encode_manifest(struct wbuf *w, const struct cr_image *img)
{
	static const uint8_t zero[SHA_LEN];

	put_bytes(w, hdr_magic, sizeof(hdr_magic));
	put_u32(w, CR_IMAGE_VERSION);
	put_u32(w, 0);
	put_u64(w, 0);
	put_bytes(w, zero, SHA_LEN);
	encode_image_rec(w, img);
	for (uint32_t i = 0; i < img->nr_shmem; i++)
		encode_shmem(w, &img->shmem[i]);
	for (uint32_t i = 0; i < img->nr_sems; i++)
		encode_sem(w, &img->sems[i]);
	for (uint32_t i = 0; i < img->nr_msgqs; i++)
		encode_msgq(w, &img->msgqs[i]);
	for (uint32_t i = 0; i < img->nr_files; i++)
		encode_file(w, &img->files[i]);
	for (uint32_t i = 0; i < img->nr_procs; i++)
		encode_proc(w, &img->procs[i]);
	rec_end(w, rec_begin(w, REC_END));
	if (w->oom) {
		errno = ENOMEM;
		return err_sys("encode");
	}
	le_store(w->p + HDR_OFF_LENGTH, w->len, 8);
	return sha256(w->p + HDR_LEN, w->len - HDR_LEN, w->p + HDR_OFF_SHA);
}

/* ---- Decoding: the stream of records, then one function per record ---- */

/* The next known record (unknown optional ones are skipped) into *pl. */
static int rec_next(struct rbuf *s, uint32_t *type, struct rbuf *pl)
{
	for (;;) {
		size_t at = s->off;
		uint32_t t, n;

		if (rb_left(s) < REC_HDR_LEN)
			return err_set("offset %zu: truncated record header", at);
		t = get_u32(s);
		n = get_u32(s);
		if (n > rb_left(s))
			return err_set("offset %zu: %s record (type 0x%" PRIx32
				       ") of %" PRIu32 " bytes, only %zu left",
				       at, rec_name(t), t, n, rb_left(s));
		*pl = (struct rbuf){ .p = s->p + s->off, .len = n };
		s->off += n;
		if (t >= REC_IMAGE && t <= REC_LAST) {
			*type = t;
			return 0;
		}
		if (!(t & REC_OPTIONAL))
			return err_set("offset %zu: unknown record type 0x%" PRIx32,
				       at, t);
	}
}

static int rec_expect(struct rbuf *s, uint32_t want, struct rbuf *pl)
{
	size_t at = s->off;
	uint32_t t = 0;

	if (rec_next(s, &t, pl))
		return -1;
	if (t != want)
		return err_set("offset %zu: expected a %s record, found %s", at,
			       rec_name(want), rec_name(t));
	return 0;
}

/* A record's payload must be consumed exactly. */
static int rec_done(const struct rbuf *pl, uint32_t type)
{
	if (pl->overrun)
		return err_set("%s record truncated (%zu bytes)", rec_name(type),
			       pl->len);
	if (pl->off != pl->len)
		return err_set("%s record has %zu trailing bytes", rec_name(type),
			       pl->len - pl->off);
	return 0;
}

/* calloc n elements whose records (min_rec bytes each) must still follow. */
static int alloc_array(void *out, uint32_t n, size_t size,
		       const struct rbuf *s, size_t min_rec, const char *what)
{
	void *p = NULL;

	if (n) {
		if (n > rb_left(s) / min_rec)
			return err_set("nr_%s %" PRIu32 " more than the manifest "
				       "holds", what, n);
		p = calloc(n, size);
		if (!p)
			return err_sys("%s: calloc %" PRIu32, what, n);
	}
	memcpy(out, &p, sizeof(p));
	return 0;
}

static int decode_run(struct rbuf *s, struct cr_page_run *r)
{
	struct rbuf pl;

	if (rec_expect(s, REC_RUN, &pl))
		return -1;
	r->addr = get_u64(&pl);
	r->nr_pages = get_u64(&pl);
	r->file_off = get_u64(&pl);
	r->flags = get_u32(&pl);
	return rec_done(&pl, REC_RUN);
}

static int decode_runs(struct rbuf *s, struct cr_page_run **runs, uint32_t n)
{
	if (alloc_array(runs, n, sizeof(**runs), s, REC_HDR_LEN + RUN_LEN,
			"runs"))
		return -1;
	for (uint32_t i = 0; i < n; i++)
		if (decode_run(s, &(*runs)[i]))
			return err_wrap("run %" PRIu32, i);
	return 0;
}

static int decode_siginfos(struct rbuf *s, struct cr_siginfo **si, uint32_t n,
			   const char *what)
{
	if (alloc_array(si, n, sizeof(**si), s, REC_HDR_LEN + SIGINFO_LEN, what))
		return -1;
	for (uint32_t i = 0; i < n; i++) {
		struct rbuf pl;

		if (rec_expect(s, REC_SIGINFO, &pl))
			return err_wrap("%s %" PRIu32, what, i);
		get_bytes(&pl, (*si)[i].raw, CR_SIGINFO_SIZE);
		if (rec_done(&pl, REC_SIGINFO))
			return err_wrap("%s %" PRIu32, what, i);
	}
	return 0;
}

static int decode_image_rec(struct rbuf *s, struct cr_image *img)
{
	struct rbuf pl;

	if (rec_expect(s, REC_IMAGE, &pl))
		return -1;
	img->xsave_size = get_u32(&pl);
	img->xfeatures = get_u64(&pl);
	img->pages_size = get_u64(&pl);
	img->pages_hash = get_u64(&pl);
	img->nr_procs = get_u32(&pl);
	img->nr_shmem = get_u32(&pl);
	img->nr_files = get_u32(&pl);
	img->ipc_ns = get_u32(&pl);
	img->nr_sems = get_u32(&pl);
	img->nr_msgqs = get_u32(&pl);
	if (get_str(&pl, &img->box, "box"))
		return -1;
	return rec_done(&pl, REC_IMAGE);
}

static void decode_ipc_perm(struct rbuf *pl, struct cr_ipc_perm *p)
{
	p->id = get_i32(pl);
	p->key = get_u32(pl);
	p->uid = get_u32(pl);
	p->gid = get_u32(pl);
	p->cuid = get_u32(pl);
	p->cgid = get_u32(pl);
	p->mode = get_u32(pl);
}

static int decode_shmem(struct rbuf *s, struct cr_shmem *sh)
{
	struct rbuf pl;

	if (rec_expect(s, REC_SHMEM, &pl))
		return -1;
	sh->size = get_u64(&pl);
	sh->nr_runs = get_u32(&pl);
	sh->sysv = get_u32(&pl);
	decode_ipc_perm(&pl, &sh->perm);
	sh->segsz = get_u64(&pl);
	if (rec_done(&pl, REC_SHMEM))
		return -1;
	return decode_runs(s, &sh->runs, sh->nr_runs);
}

static int decode_sem(struct rbuf *s, struct cr_sem_set *sem)
{
	struct rbuf pl;

	if (rec_expect(s, REC_SEM, &pl))
		return -1;
	decode_ipc_perm(&pl, &sem->perm);
	sem->nsems = get_u32(&pl);
	if (sem->nsems > CR_SEM_MAX || sem->nsems > rb_left(&pl) / 2)
		return err_set("nsems %" PRIu32 " more than the record holds", sem->nsems);
	sem->vals = calloc(sem->nsems ? sem->nsems : 1, sizeof(*sem->vals));
	if (!sem->vals)
		return err_sys("sem: calloc %" PRIu32, sem->nsems);
	for (uint32_t i = 0; i < sem->nsems; i++)
		sem->vals[i] = (uint16_t)get_le(&pl, 2);
	return rec_done(&pl, REC_SEM);
}

static int decode_msg(struct rbuf *s, struct cr_msg *m)
{
	struct rbuf pl;

	if (rec_expect(s, REC_MSG, &pl))
		return -1;
	m->mtype = get_i64(&pl);
	m->len = get_u64(&pl);
	if (m->len > CR_BLOB_MAX || m->len > rb_left(&pl))
		return err_set("message of %" PRIu64 " bytes, more than the record holds",
			       m->len);
	m->data = malloc(m->len ? m->len : 1);
	if (!m->data)
		return err_sys("message: malloc %" PRIu64, m->len);
	get_bytes(&pl, m->data, m->len);
	return rec_done(&pl, REC_MSG);
}

static int decode_msgq(struct rbuf *s, struct cr_msg_queue *q)
{
	struct rbuf pl;

	if (rec_expect(s, REC_MSGQ, &pl))
		return -1;
	decode_ipc_perm(&pl, &q->perm);
	q->qbytes = get_u64(&pl);
	q->nr_msgs = get_u32(&pl);
	if (rec_done(&pl, REC_MSGQ) ||
	    alloc_array(&q->msgs, q->nr_msgs, sizeof(*q->msgs), s, REC_HDR_LEN + 16, "msgs"))
		return -1;
	for (uint32_t i = 0; i < q->nr_msgs; i++)
		if (decode_msg(s, &q->msgs[i]))
			return err_wrap("message %" PRIu32, i);
	return 0;
}

/* SysV semaphore sets and message queues, after the shmem objects. */
static int decode_ipc(struct rbuf *s, struct cr_image *img)
{
	if (alloc_array(&img->sems, img->nr_sems, sizeof(*img->sems), s, REC_HDR_LEN,
			"sems"))
		return -1;
	for (uint32_t i = 0; i < img->nr_sems; i++)
		if (decode_sem(s, &img->sems[i]))
			return err_wrap("sem %" PRIu32, i);
	if (alloc_array(&img->msgqs, img->nr_msgqs, sizeof(*img->msgqs), s, REC_HDR_LEN,
			"msgqs"))
		return -1;
	for (uint32_t i = 0; i < img->nr_msgqs; i++)
		if (decode_msgq(s, &img->msgqs[i]))
			return err_wrap("msgq %" PRIu32, i);
	return 0;
}

static int decode_proc_rec(struct rbuf *s, struct cr_proc *p)
{
	struct rbuf pl;

	if (rec_expect(s, REC_PROC, &pl))
		return -1;
	p->pid = get_i32(&pl);
	p->ppid = get_i32(&pl);
	p->pgid = get_i32(&pl);
	p->sid = get_i32(&pl);
	p->zombie = get_u32(&pl);
	p->exit_code = get_i32(&pl);
	p->exit_signal = get_i32(&pl);
	get_bytes(&pl, p->comm, CR_COMM_LEN);
	p->umask = get_u32(&pl);
	p->personality = get_u32(&pl);
	if (get_str(&pl, &p->cwd, "cwd") || get_str(&pl, &p->root, "root"))
		return -1;
	for (int i = 0; i < 3; i++) {
		p->itimers[i].interval_us = get_i64(&pl);
		p->itimers[i].value_us = get_i64(&pl);
	}
	p->nr_timers = get_u32(&pl);
	p->nr_shared_pending = get_u32(&pl);
	p->nr_threads = get_u32(&pl);
	p->nr_vmas = get_u32(&pl);
	p->nr_fds = get_u32(&pl);
	return rec_done(&pl, REC_PROC);
}

static int decode_creds(struct rbuf *s, struct cr_creds *c)
{
	uint32_t *ids[8] = { &c->uid, &c->euid, &c->suid, &c->fsuid,
			     &c->gid, &c->egid, &c->sgid, &c->fsgid };
	uint64_t *caps[5] = { &c->cap_inh, &c->cap_prm, &c->cap_eff,
			      &c->cap_bnd, &c->cap_amb };
	struct rbuf pl;

	if (rec_expect(s, REC_CREDS, &pl))
		return -1;
	for (int i = 0; i < 8; i++)
		*ids[i] = get_u32(&pl);
	for (int i = 0; i < 5; i++)
		*caps[i] = get_u64(&pl);
	c->no_new_privs = get_u32(&pl);
	c->securebits = get_u32(&pl);
	c->nr_groups = get_u32(&pl);
	if (c->nr_groups > MAX_GROUPS)
		return err_set("creds: nr_groups %" PRIu32 " above %d",
			       c->nr_groups, MAX_GROUPS);
	for (uint32_t i = 0; i < c->nr_groups; i++)
		c->groups[i] = get_u32(&pl);
	return rec_done(&pl, REC_CREDS);
}

static int decode_rlimits(struct rbuf *s, struct cr_rlimit *rl)
{
	struct rbuf pl;

	if (rec_expect(s, REC_RLIMITS, &pl))
		return -1;
	for (int i = 0; i < CR_NR_RLIMITS; i++) {
		rl[i].cur = get_u64(&pl);
		rl[i].max = get_u64(&pl);
	}
	return rec_done(&pl, REC_RLIMITS);
}

static int decode_auxv(struct rbuf *s, struct cr_mm *m)
{
	struct rbuf pl;

	if (rec_expect(s, REC_AUXV, &pl))
		return -1;
	m->nr_auxv = get_u32(&pl);
	if (m->nr_auxv > CR_AUXV_MAX * 2)
		return err_set("mm: nr_auxv %" PRIu32 " above %d", m->nr_auxv,
			       CR_AUXV_MAX * 2);
	for (uint32_t i = 0; i < m->nr_auxv; i++)
		m->auxv[i] = get_u64(&pl);
	return rec_done(&pl, REC_AUXV);
}

static int decode_mm(struct rbuf *s, struct cr_mm *m)
{
	uint64_t *f[11] = { &m->start_code, &m->end_code, &m->start_data,
			    &m->end_data, &m->start_brk, &m->brk,
			    &m->start_stack, &m->arg_start, &m->arg_end,
			    &m->env_start, &m->env_end };
	struct rbuf pl;

	if (rec_expect(s, REC_MM, &pl))
		return -1;
	for (int i = 0; i < 11; i++)
		*f[i] = get_u64(&pl);
	if (get_str(&pl, &m->exe_path, "mm: exe_path") || rec_done(&pl, REC_MM))
		return -1;
	return decode_auxv(s, m);
}

static int decode_sigactions(struct rbuf *s, struct cr_sigaction *sa)
{
	struct rbuf pl;

	if (rec_expect(s, REC_SIGACTIONS, &pl))
		return -1;
	for (int i = 0; i < CR_NSIG; i++) {
		sa[i].handler = get_u64(&pl);
		sa[i].flags = get_u64(&pl);
		sa[i].restorer = get_u64(&pl);
		sa[i].mask = get_u64(&pl);
	}
	return rec_done(&pl, REC_SIGACTIONS);
}

static int decode_timer(struct rbuf *s, struct cr_posix_timer *t)
{
	struct rbuf pl;

	if (rec_expect(s, REC_TIMER, &pl))
		return -1;
	t->id = get_i32(&pl);
	t->clock = get_i32(&pl);
	t->notify = get_i32(&pl);
	t->signo = get_i32(&pl);
	t->notify_tid = get_i32(&pl);
	t->sigval = get_u64(&pl);
	t->interval_ns = get_i64(&pl);
	t->value_ns = get_i64(&pl);
	return rec_done(&pl, REC_TIMER);
}

static int decode_xsave(struct rbuf *s, struct cr_thread *t)
{
	struct rbuf pl;

	if (rec_expect(s, REC_XSAVE, &pl))
		return -1;
	if (pl.len > CR_XSAVE_MAX)
		return err_set("xsave_len %zu above %d", pl.len, CR_XSAVE_MAX);
	t->xsave_len = (uint32_t)pl.len;
	if (t->xsave_len) {
		t->xsave = malloc(t->xsave_len);
		if (!t->xsave)
			return err_sys("xsave: malloc %" PRIu32, t->xsave_len);
		get_bytes(&pl, t->xsave, t->xsave_len);
	}
	return rec_done(&pl, REC_XSAVE);
}

static int decode_thread(struct rbuf *s, struct cr_thread *t)
{
	struct rbuf pl;

	if (rec_expect(s, REC_THREAD, &pl))
		return -1;
	t->tid = get_i32(&pl);
	get_bytes(&pl, t->comm, CR_COMM_LEN);
	for (size_t i = 0; i < NR_REGS; i++) {
		uint64_t reg = get_u64(&pl);

		memcpy((uint8_t *)&t->regs + reg_offsets[i], &reg, 8);
	}
	t->rseq_addr = get_u64(&pl);
	t->rseq_len = get_u32(&pl);
	t->rseq_sig = get_u32(&pl);
	t->robust_head = get_u64(&pl);
	t->robust_len = get_u64(&pl);
	t->clear_tid = get_u64(&pl);
	t->sigmask = get_u64(&pl);
	t->altstack_sp = get_u64(&pl);
	t->altstack_size = get_u64(&pl);
	t->altstack_flags = get_i32(&pl);
	t->nr_pending = get_u32(&pl);
	if (rec_done(&pl, REC_THREAD) || decode_xsave(s, t))
		return -1;
	return decode_siginfos(s, &t->pending, t->nr_pending, "pending");
}

static int decode_vma(struct rbuf *s, struct cr_vma *v)
{
	struct rbuf pl;

	if (rec_expect(s, REC_VMA, &pl))
		return -1;
	v->start = get_u64(&pl);
	v->end = get_u64(&pl);
	v->prot = get_u32(&pl);
	v->flags = get_u32(&pl);
	v->kind = get_u32(&pl);
	v->shmem_id = get_u32(&pl);
	v->pgoff = get_u64(&pl);
	if (get_str(&pl, &v->path, "path"))
		return -1;
	v->file_size = get_u64(&pl);
	v->file_mtime_ns = get_i64(&pl);
	v->nr_runs = get_u32(&pl);
	if (rec_done(&pl, REC_VMA))
		return -1;
	return decode_runs(s, &v->runs, v->nr_runs);
}

static int decode_fd(struct rbuf *s, struct cr_fd *f)
{
	struct rbuf pl;

	if (rec_expect(s, REC_FD, &pl))
		return -1;
	f->fd = get_i32(&pl);
	f->file = get_u32(&pl);
	f->cloexec = get_u32(&pl);
	return rec_done(&pl, REC_FD);
}

static int get_sockaddr(struct rbuf *r, struct cr_sockaddr *a, const char *what)
{
	a->len = get_u32(r);
	if (a->len > CR_SOCKADDR_MAX)
		return err_set("%s: length %" PRIu32 " above %d", what, a->len,
			       CR_SOCKADDR_MAX);
	get_bytes(r, a->addr, a->len);
	return 0;
}

static int decode_fdata(struct rbuf *s, struct cr_file_data *d)
{
	struct rbuf pl;
	const uint8_t *p;

	if (rec_expect(s, REC_FDATA, &pl))
		return -1;
	d->flags = get_u32(&pl);
	d->len = get_u64(&pl);
	if (d->len > CR_BLOB_MAX || d->len > rb_left(&pl))
		return err_set("FDATA of %" PRIu64 " bytes, above %u or past its "
			       "record", d->len, CR_BLOB_MAX);
	p = rb_take(&pl, d->len);
	if (d->len) {
		d->data = malloc(d->len);
		if (!d->data)
			return err_sys("FDATA: malloc %" PRIu64, d->len);
		memcpy(d->data, p, d->len);
	}
	return rec_done(&pl, REC_FDATA);
}

static int decode_fent(struct rbuf *s, struct cr_file_ent *e)
{
	struct rbuf pl;

	if (rec_expect(s, REC_FENT, &pl))
		return -1;
	e->fd = get_i32(&pl);
	e->events = get_u32(&pl);
	e->data = get_u64(&pl);
	if (get_str(&pl, &e->path, "path"))
		return -1;
	return rec_done(&pl, REC_FENT);
}

static int decode_file_rec(struct rbuf *s, struct cr_file *f)
{
	const struct tail_field *t;
	struct rbuf pl;
	size_t n;

	if (rec_expect(s, REC_FILE, &pl))
		return -1;
	f->kind = get_u32(&pl);
	f->flags = get_u32(&pl);
	f->pos = get_u64(&pl);
	f->owner_type = get_i32(&pl);
	f->owner = get_i32(&pl);
	f->sig = get_i32(&pl);
	f->peer = get_u32(&pl);
	f->obj = get_u64(&pl);
	if (get_str(&pl, &f->path, "path") ||
	    get_sockaddr(&pl, &f->laddr, "laddr") ||
	    get_sockaddr(&pl, &f->raddr, "raddr"))
		return -1;
	f->nr_data = get_u32(&pl);
	f->nr_ents = get_u32(&pl);
	t = file_tail(f->kind, &n);
	for (size_t i = 0; i < n; i++)
		le_store((uint8_t *)f + t[i].off, get_le(&pl, t[i].size), t[i].size);
	return rec_done(&pl, REC_FILE);
}

static int decode_file(struct rbuf *s, struct cr_file *f)
{
	uint32_t nd, ne;

	if (decode_file_rec(s, f))
		return -1;
	nd = f->nr_data;
	ne = f->nr_ents;
	f->nr_data = f->nr_ents = 0;     /* counts of what is allocated */
	if (alloc_array(&f->data, nd, sizeof(*f->data), s, REC_HDR_LEN + 12, "data"))
		return -1;
	f->nr_data = nd;
	for (uint32_t i = 0; i < nd; i++)
		if (decode_fdata(s, &f->data[i]))
			return err_wrap("data %" PRIu32, i);
	if (alloc_array(&f->ents, ne, sizeof(*f->ents), s, REC_HDR_LEN + 20, "ents"))
		return -1;
	f->nr_ents = ne;
	for (uint32_t i = 0; i < ne; i++)
		if (decode_fent(s, &f->ents[i]))
			return err_wrap("entry %" PRIu32, i);
	return 0;
}

static int decode_files(struct rbuf *s, struct cr_image *img)
{
	if (img->nr_files > CR_MAX_FILES)
		return err_set("nr_files %" PRIu32 " above %u", img->nr_files,
			       CR_MAX_FILES);
	if (alloc_array(&img->files, img->nr_files, sizeof(*img->files), s,
			REC_HDR_LEN, "files"))
		return -1;
	for (uint32_t i = 0; i < img->nr_files; i++)
		if (decode_file(s, &img->files[i]))
			return err_wrap("file %" PRIu32, i);
	return 0;
}

static int decode_proc_lists(struct rbuf *s, struct cr_proc *p)
{
	if (alloc_array(&p->timers, p->nr_timers, sizeof(*p->timers), s,
			REC_HDR_LEN + TIMER_LEN, "timers"))
		return -1;
	for (uint32_t i = 0; i < p->nr_timers; i++)
		if (decode_timer(s, &p->timers[i]))
			return err_wrap("timer %" PRIu32, i);
	if (decode_siginfos(s, &p->shared_pending, p->nr_shared_pending,
			    "shared_pending") ||
	    alloc_array(&p->threads, p->nr_threads, sizeof(*p->threads), s,
			REC_HDR_LEN, "threads"))
		return -1;
	for (uint32_t i = 0; i < p->nr_threads; i++)
		if (decode_thread(s, &p->threads[i]))
			return err_wrap("thread %" PRIu32, i);
	if (alloc_array(&p->vmas, p->nr_vmas, sizeof(*p->vmas), s, REC_HDR_LEN,
			"vmas"))
		return -1;
	for (uint32_t i = 0; i < p->nr_vmas; i++)
		if (decode_vma(s, &p->vmas[i]))
			return err_wrap("vma %" PRIu32, i);
	if (alloc_array(&p->fds, p->nr_fds, sizeof(*p->fds), s, REC_HDR_LEN,
			"fds"))
		return -1;
	for (uint32_t i = 0; i < p->nr_fds; i++)
		if (decode_fd(s, &p->fds[i]))
			return err_wrap("fd entry %" PRIu32, i);
	return 0;
}

static int decode_proc(struct rbuf *s, struct cr_proc *p)
{
	if (decode_proc_rec(s, p) || decode_creds(s, &p->creds) ||
	    decode_rlimits(s, p->rlimits) || decode_mm(s, &p->mm) ||
	    decode_sigactions(s, p->sigactions))
		return -1;
	return decode_proc_lists(s, p);
}

static int decode_end(struct rbuf *s)
{
	struct rbuf pl;

	if (rec_expect(s, REC_END, &pl) || rec_done(&pl, REC_END))
		return -1;
	if (rb_left(s))
		return err_set("%zu bytes after the END record", rb_left(s));
	return 0;
}

/* The records after the header, into img (freeable even when this fails). */
static int decode_records(const uint8_t *buf, size_t len, struct cr_image *img)
{
	struct rbuf s = { .p = buf, .len = len, .off = HDR_LEN };

	if (decode_image_rec(&s, img))
		return -1;
	if (alloc_array(&img->shmem, img->nr_shmem, sizeof(*img->shmem), &s,
			REC_HDR_LEN, "shmem"))
		return -1;
	for (uint32_t i = 0; i < img->nr_shmem; i++)
		if (decode_shmem(&s, &img->shmem[i]))
			return err_wrap("shmem %" PRIu32, i);
	if (decode_ipc(&s, img))
		return -1;
	if (decode_files(&s, img))
		return -1;
	if (img->nr_procs > CR_MAX_PROCS)
		return err_set("nr_procs %" PRIu32 " above %d", img->nr_procs,
			       CR_MAX_PROCS);
	if (alloc_array(&img->procs, img->nr_procs, sizeof(*img->procs), &s,
			REC_HDR_LEN, "procs"))
		return -1;
	for (uint32_t i = 0; i < img->nr_procs; i++)
		if (decode_proc(&s, &img->procs[i]))
			return err_wrap("proc %" PRIu32 " (pid %" PRId32 ")", i,
					img->procs[i].pid);
	return decode_end(&s);
}

static int check_header(const uint8_t *buf, size_t len)
{
	uint8_t sum[SHA_LEN];
	uint32_t version;
	uint64_t total;

	if (len < HDR_LEN)
		return err_set("%zu bytes, shorter than the %d-byte header", len,
			       HDR_LEN);
	if (memcmp(buf, hdr_magic, sizeof(hdr_magic)))
		return err_set("bad magic: not a picocenter manifest");
	version = (uint32_t)le_load(buf + HDR_OFF_VERSION, 4);
	if (version != CR_IMAGE_VERSION)
		return err_set("format version %" PRIu32 ", this build reads %d",
			       version, CR_IMAGE_VERSION);
	total = le_load(buf + HDR_OFF_LENGTH, 8);
	if (total != len)
		return err_set("header says %" PRIu64 " bytes, found %zu "
			       "(truncated or extended)", total, len);
	if (le_load(buf + HDR_OFF_FLAGS, 4))
		return err_set("header flags 0x%" PRIx64 " unknown",
			       le_load(buf + HDR_OFF_FLAGS, 4));
	if (sha256(buf + HDR_LEN, len - HDR_LEN, sum))
		return -1;
	if (memcmp(sum, buf + HDR_OFF_SHA, SHA_LEN))
		return err_set("SHA-256 checksum mismatch: manifest corrupted");
	return 0;
}

uint64_t cr_vma_start(const struct cr_proc *p, uint32_t kind)
{
	for (uint32_t i = 0; i < p->nr_vmas; i++)
		if (p->vmas[i].kind == kind)
			return p->vmas[i].start;
	return 0;
}

/* ---- File I/O ---- */

static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return err_sys("open directory %s", dir);
	if (fsync(fd)) {
		err_sys("fsync directory %s", dir);
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

static int manifest_path(char *out, size_t size, const char *dir,
			 const char *suffix)
{
	int n = snprintf(out, size, "%s/" MANIFEST_NAME "%s", dir, suffix);

	if (n < 0 || (size_t)n >= size)
		return err_set("directory path too long: %s", dir);
	return 0;
}

/* Write DIR/manifest.tmp, fsync it, rename it over DIR/manifest, fsync DIR. */
static int write_atomic(const char *dir, const uint8_t *buf, size_t len)
{
	char tmp[PATH_MAX], final[PATH_MAX];
	int fd;

	if (manifest_path(tmp, sizeof(tmp), dir, ".tmp") ||
	    manifest_path(final, sizeof(final), dir, ""))
		return -1;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return err_sys("create %s", tmp);
	if ((write_full(fd, buf, len, -1) < 0 && err_sys("write %s", tmp)) ||
	    (fsync(fd) && err_sys("fsync %s", tmp))) {
		close(fd);
		goto fail;
	}
	if (close(fd)) {
		err_sys("close %s", tmp);
		goto fail;
	}
	if (rename(tmp, final)) {
		err_sys("rename %s to %s", tmp, final);
		goto fail;
	}
	return fsync_dir(dir);
fail:
	unlink(tmp);
	return -1;
}

static int read_fully(int fd, uint8_t *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, buf + got, len - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_sys("read");
		if (n == 0)
			return err_set("file shrank while read (%zu of %zu bytes)",
				       got, len);
		got += (size_t)n;
	}
	return 0;
}

static int read_file(const char *path, uint8_t **out, size_t *len)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int rc = -1;

	*out = NULL;
	if (fd < 0)
		return err_sys("open");
	if (fstat(fd, &st)) {
		err_sys("fstat");
	} else if (!S_ISREG(st.st_mode)) {
		err_set("not a regular file");
	} else if ((uint64_t)st.st_size > MANIFEST_MAX) {
		err_set("%lld bytes, above the %u-byte limit",
			(long long)st.st_size, MANIFEST_MAX);
	} else if (!(*out = malloc((size_t)st.st_size + 1))) {
		err_sys("malloc %lld", (long long)st.st_size);
	} else if (read_fully(fd, *out, (size_t)st.st_size)) {
		free(*out);
		*out = NULL;
	} else {
		*len = (size_t)st.st_size;
		rc = 0;
	}
	close(fd);
	return rc;
}

/* ---- Public entry points ---- */

int cr_image_write(const struct cr_image *img, const char *dir)
{
	struct wbuf w = { 0 };
	int rc;

	if (check_image(img))
		return err_wrap("write manifest: invalid image");
	rc = encode_manifest(&w, img);
	if (rc)
		err_wrap("write manifest");
	else
		rc = write_atomic(dir, w.p, w.len);
	free(w.p);
	return rc;
}

/* Parse without the "manifest" context prefix. */
static int parse(const void *buf, size_t len, struct cr_image *out)
{
	struct cr_image img;

	memset(out, 0, sizeof(*out));
	memset(&img, 0, sizeof(img));
	if (check_header(buf, len) || decode_records(buf, len, &img) ||
	    check_image(&img)) {
		cr_image_free(&img);
		return -1;
	}
	img.version = CR_IMAGE_VERSION;
	*out = img;
	return 0;
}

int cr_image_parse(const void *buf, size_t len, struct cr_image *img)
{
	if (parse(buf, len, img))
		return err_wrap("manifest");
	return 0;
}

int cr_image_read(const char *dir, struct cr_image *img)
{
	char path[PATH_MAX];
	uint8_t *buf;
	size_t len = 0;
	int rc;

	memset(img, 0, sizeof(*img));
	if (manifest_path(path, sizeof(path), dir, ""))
		return err_wrap("manifest");
	if (read_file(path, &buf, &len))
		return err_wrap("manifest %s", path);
	rc = parse(buf, len, img);
	free(buf);
	if (rc)
		return err_wrap("manifest %s", path);
	return 0;
}

static void free_thread(struct cr_thread *t)
{
	free(t->xsave);
	free(t->pending);
}

static void free_proc(struct cr_proc *p)
{
	free(p->cwd);
	free(p->root);
	free(p->mm.exe_path);
	free(p->timers);
	free(p->shared_pending);
	for (uint32_t i = 0; p->threads && i < p->nr_threads; i++)
		free_thread(&p->threads[i]);
	free(p->threads);
	for (uint32_t i = 0; p->vmas && i < p->nr_vmas; i++) {
		free(p->vmas[i].path);
		free(p->vmas[i].runs);
	}
	free(p->vmas);
	free(p->fds);
}

static void free_file(struct cr_file *f)
{
	free(f->path);
	for (uint32_t i = 0; f->data && i < f->nr_data; i++)
		free(f->data[i].data);
	free(f->data);
	for (uint32_t i = 0; f->ents && i < f->nr_ents; i++)
		free(f->ents[i].path);
	free(f->ents);
}

void cr_image_free(struct cr_image *img)
{
	if (!img)
		return;
	for (uint32_t i = 0; img->procs && i < img->nr_procs; i++)
		free_proc(&img->procs[i]);
	free(img->procs);
	for (uint32_t i = 0; img->shmem && i < img->nr_shmem; i++)
		free(img->shmem[i].runs);
	free(img->shmem);
	for (uint32_t i = 0; img->sems && i < img->nr_sems; i++)
		free(img->sems[i].vals);
	free(img->sems);
	for (uint32_t i = 0; img->msgqs && i < img->nr_msgqs; i++) {
		for (uint32_t k = 0; img->msgqs[i].msgs && k < img->msgqs[i].nr_msgs; k++)
			free(img->msgqs[i].msgs[k].data);
		free(img->msgqs[i].msgs);
	}
	free(img->msgqs);
	for (uint32_t i = 0; img->files && i < img->nr_files; i++)
		free_file(&img->files[i]);
	free(img->files);
	free(img->box);
	memset(img, 0, sizeof(*img));
}
