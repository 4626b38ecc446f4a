/*
 * seccomp.h - the seccomp filters a tree installed itself (on top of its
 * box's, which the box restores): read from each stopped thread at dump
 * (PTRACE_SECCOMP_GET_FILTER, classic BPF), saved in the image dir as the
 * file "seccomp" (absent: no process has filters of its own), installed
 * again, oldest first, as the last step of each process's restore.
 *
 * File format, little-endian: "PCSECC01", u32 nr_procs, then per process
 * i32 pid (in the tree's namespace), u32 nr_filters, then per filter u32
 * len (1..BPF_MAXINSNS instructions) and len 8-byte sock_filter.
 */
#ifndef PC_CR_SECCOMP_H
#define PC_CR_SECCOMP_H

#include <linux/filter.h>
#include <stdint.h>
#include <sys/types.h>

#define CR_SECCOMP_FILE "seccomp"
#define CR_SECCOMP_MAX_FILTERS 64     /* per process */

struct cr_bpf {
	uint32_t len;
	struct sock_filter *insns;
};

struct cr_seccomp_proc {
	int32_t pid;
	uint32_t nr;
	struct cr_bpf *filters;           /* oldest first */
};

struct cr_seccomp {
	uint32_t nr_procs;
	struct cr_seccomp_proc *procs;
};

struct box;
/* The filters of the stopped process (its threads host_tids, which must
 * all have the same), without the box's (the oldest, if box is given and
 * the process has it), appended to s for the process pid; none: nothing
 * added. */
int cr_seccomp_read(struct cr_seccomp *s, int32_t pid, const pid_t *host_tids, size_t nr_tids,
		    const struct box *box);
/* The filters of pid in s, or NULL. */
const struct cr_seccomp_proc *cr_seccomp_of(const struct cr_seccomp *s, int32_t pid);
/* DIR/seccomp, written if s has a process, else removed (0 or -1). */
int cr_seccomp_save(const struct cr_seccomp *s, const char *dir);
/* DIR/seccomp into s (empty if there is no such file). */
int cr_seccomp_load(const char *dir, struct cr_seccomp *s);
/* The file's content, validated, into s (freeable even when it fails). */
int cr_seccomp_parse(const uint8_t *buf, size_t len, struct cr_seccomp *s);
void cr_seccomp_free(struct cr_seccomp *s);

#endif
