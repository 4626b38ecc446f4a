/*
 * sysv_ipc.h - SysV IPC objects of a tree with its own IPC namespace:
 * shared memory segments, semaphore sets and message queues (the model is
 * cr_shmem.sysv, cr_sem_set and cr_msg_queue in image.h).
 */
#ifndef PC_CR_SYSV_IPC_H
#define PC_CR_SYSV_IPC_H

#include <stdint.h>
#include <sys/types.h>

#include "cr/dump_ctx.h"

/* sysv_dump.c: if the tree's init has an IPC namespace other than the
 * dumper's, every process of the tree must share it; record its segments
 * (content through the page sink, see dump_mem.c), semaphore sets and
 * message queues.  Runs before any VMA is read: a VMA mapping a segment
 * refers to it by inode.  A tree in the dumper's namespace gets ipc_ns 0
 * and no objects. */
int sysv_dump(struct dump_ctx *ctx);
/* dump_mem.c: store the pages of the dumper's mapping at mem as the
 * content of sh (sh->size bytes); fd is a file of the same object, whose
 * holes are skipped without being read. */
int dump_mem_object(struct dump_ctx *ctx, struct cr_shmem *sh, const uint8_t *mem, int fd);

/* sysv_restore.c: 1 if img has objects for a new IPC namespace (SysV
 * objects, POSIX message queues); without any, the tree's init is simply
 * cloned into an empty one. */
int sysv_restore_needed(const struct cr_image *img);
/* The owners and creators of a boxed tree's objects across its box's user
 * namespace: as the box sees them (inside 1, at dump: /proc and IPC_STAT
 * give the host's ids) or as the host does (inside 0). */
struct box;
void sysv_ids_across(struct cr_image *img, const struct box *b, int inside);
/* Create a new IPC namespace holding every SysV object of
 * img with its id, key, mode, owner and content (pages: the image's
 * DIR/pages mapped).  userns_fd >= 0: a box's user namespace, which then
 * owns the new IPC namespace (so that the box's root has CAP_IPC_OWNER
 * over the objects, as it had in the box's own), its objects made by the
 * box's root, their owners as the box sees them.  *ns_fd: the namespace (for setns); shm_fds[i], for
 * each img->shmem[i] that is SysV, a file of the segment to map (mapping
 * it attaches it, as shmat does); others are left untouched. */
int sysv_restore(const struct cr_image *img, const uint8_t *pages, int userns_fd, int *ns_fd,
		 int *shm_fds);
/* Once every process has its mappings: remove (IPC_RMID) the segments
 * that were removed while attached; they live on while attached. */
int sysv_restore_finish(const struct cr_image *img, int ns_fd);

#endif
