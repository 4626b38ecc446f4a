/* file_lock.h - file locks a process holds: flock(2), POSIX (fcntl
 * F_SETLK) and open file description (F_OFD_SETLK) locks (file_lock.c). */
#ifndef CR_FILE_LOCK_H
#define CR_FILE_LOCK_H

#include <stdint.h>

struct cr_proc;
struct proc_fd;
struct rst_proc;

/* Dump: p->locks from the "lock:" lines of the fdinfo of its n fds (pf,
 * in the order of p->fds).  A lease is refused. */
int lock_dump(struct cr_proc *p, const struct proc_fd *pf, uint32_t n);

/* Restore: take every lock of rp again, in the process itself (a POSIX
 * lock is its own), after its service fds are closed (closing any fd of a
 * file drops the process's POSIX locks on it).  Fails when another
 * process holds a conflicting lock. */
int lock_restore(struct rst_proc *rp);

#endif
