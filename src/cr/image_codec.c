/*
 * image_codec.c - the byte layout of a manifest: encodes a struct cr_image
 * into the header and records of docs/image-format.md and decodes them back
 * (image_int.h).  Keep the two in step (and bump CR_IMAGE_VERSION when the
 * layout changes); what a field may hold is image_check.c's.
 *
 * Sections: format constants, little-endian writer, little-endian reader,
 * encoding, decoding.
 */
#include <stddef.h>   /* before image.h, which uses size_t without it */
#include "cr/image.h"
#include "cr/image_int.h"
#include "common/err.h"

#include <errno.h>
#include <inttypes.h>
/* The low-level SHA-256 calls (deprecated in OpenSSL 3 in favour of EVP)
 * skip the provider initialisation EVP does on first use: about 0.5 ms of
 * every restore, which reads one small manifest. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
#define REC_LOCKS       (REC_OPTIONAL | 1)  /* a process's file locks (after its FDs):
                                               builds before it skip them */
#define REC_FOWNER      (REC_OPTIONAL | 2)  /* a removed file's owner (after the
                                               file's FDATA): skipped alike */

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
	return type == REC_LOCKS ? "LOCKS" : type == REC_FOWNER ? "FOWNER" : "unknown";
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

static void encode_locks(struct wbuf *w, const struct cr_lock *l, uint32_t n)
{
	size_t at = rec_begin(w, REC_LOCKS);

	put_u32(w, n);
	for (uint32_t i = 0; i < n; i++) {
		put_i32(w, l[i].fd);
		put_u32(w, l[i].kind);
		put_u32(w, l[i].write);
		put_u64(w, l[i].start);
		put_u64(w, l[i].len);
	}
	rec_end(w, at);
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
static const struct tail_field tail_tty[] = {
	TF(tty.master), TF(tty.index), TF(tty.locked), TF(tty.packet), TF(tty.exclusive),
	TF(tty.iflag), TF(tty.oflag), TF(tty.cflag), TF(tty.lflag), TF(tty.line),
	TF(tty.cc[0]), TF(tty.cc[1]), TF(tty.cc[2]), TF(tty.rows), TF(tty.cols),
	TF(tty.xpixel), TF(tty.ypixel), TF(tty.mode), TF(tty.uid), TF(tty.gid), TF(tty.sid),
	TF(tty.fg_pgrp),
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
	TF(inet.opts.pktinfo), TF(inet.opts.recvttl), TF(inet.opts.recvtos),
	TF(inet.opts.recverr), TF(inet.opts.origdstaddr), TF(inet.opts.tos), TF(inet.opts.ttl),
	TF(inet.opts.mtu_discover), TF(inet.opts.freebind), TF(inet.opts.transparent),
	TF(inet.opts.v6_recvpktinfo), TF(inet.opts.v6_recvhoplimit),
	TF(inet.opts.v6_recvtclass), TF(inet.opts.v6_recverr), TF(inet.opts.v6_tclass),
	TF(inet.opts.v6_hops), TF(inet.opts.v6_mtu_discover), TF(inet.opts.timestamp),
	TF(inet.opts.timestampns), TF(inet.opts.priority), TF(inet.opts.mark),
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
	case CR_FILE_TTY: return T(tail_tty);
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
	if (f->kind == CR_FILE_REG && f->reg.has_owner) {
		at = rec_begin(w, REC_FOWNER);
		put_u32(w, f->reg.uid);
		put_u32(w, f->reg.gid);
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
	if (p->nr_locks)
		encode_locks(w, p->locks, p->nr_locks);
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
		if ((t >= REC_IMAGE && t <= REC_LAST) || t == REC_LOCKS || t == REC_FOWNER) {
			*type = t;
			return 0;
		}
		if (!(t & REC_OPTIONAL))
			return err_set("offset %zu: unknown record type 0x%" PRIx32,
				       at, t);
	}
}

/* The type of the next record, not consumed (0 at the end or truncated). */
static uint32_t rec_peek(const struct rbuf *s)
{
	struct rbuf at = *s;

	return rb_left(&at) >= REC_HDR_LEN ? get_u32(&at) : 0;
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

static int decode_locks(struct rbuf *s, struct cr_proc *p)
{
	struct rbuf pl;

	if (rec_expect(s, REC_LOCKS, &pl))
		return -1;
	p->nr_locks = get_u32(&pl);
	if (p->nr_locks > CR_MAX_LOCKS)
		return err_set("%" PRIu32 " locks, above %d", p->nr_locks, CR_MAX_LOCKS);
	if (alloc_array(&p->locks, p->nr_locks, sizeof(*p->locks), &pl, 28, "locks"))
		return -1;
	for (uint32_t i = 0; i < p->nr_locks; i++) {
		p->locks[i].fd = get_i32(&pl);
		p->locks[i].kind = get_u32(&pl);
		p->locks[i].write = get_u32(&pl);
		p->locks[i].start = get_u64(&pl);
		p->locks[i].len = get_u64(&pl);
	}
	return rec_done(&pl, REC_LOCKS);
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

static int decode_fowner(struct rbuf *s, struct cr_file *f)
{
	struct rbuf pl;

	if (rec_expect(s, REC_FOWNER, &pl))
		return -1;
	f->reg.has_owner = 1;
	f->reg.uid = get_u32(&pl);
	f->reg.gid = get_u32(&pl);
	return rec_done(&pl, REC_FOWNER);
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
	return f->kind == CR_FILE_REG && rec_peek(s) == REC_FOWNER ? decode_fowner(s, f) : 0;
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
	return rec_peek(s) == REC_LOCKS ? decode_locks(s, p) : 0;
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
int image_encode(const struct cr_image *img, uint8_t **buf, size_t *len)
{
	struct wbuf w = { 0 };

	*buf = NULL;
	if (encode_manifest(&w, img)) {
		free(w.p);
		return -1;
	}
	*buf = w.p;
	*len = w.len;
	return 0;
}

int image_decode(const uint8_t *buf, size_t len, struct cr_image *img)
{
	if (check_header(buf, len) || decode_records(buf, len, img))
		return -1;
	return 0;
}
