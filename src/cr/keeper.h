/*
 * keeper.h - the process that stays the parent of a spawned or restored
 * tree and reaps its init when the tree dies, so that a killed tree leaves
 * no zombie behind (the machine's pid 1 may not reap orphans).  The keeper
 * detaches from the caller's session, and from its standard streams once
 * the tree is running.
 */
#ifndef PC_CR_KEEPER_H
#define PC_CR_KEEPER_H

#include <sys/types.h>

/* What start may leave to the keeper: once start has succeeded and
 * reported, the keeper runs fn(arg) (fn NULL: nothing) before it settles
 * down to reaping.  note: text start may write for the caller (a
 * restore's counters), reported with the pid. */
#define KEEPER_NOTE_MAX 512
struct keeper_after {
	void (*fn)(void *);
	void *arg;
	char note[KEEPER_NOTE_MAX];
};

/* Fork a keeper that runs start(arg, &pid, &after) and, if it succeeds,
 * reaps pid when it exits.  Returns start's result, its pid and error
 * message here. */
int keeper_run(int (*start)(void *arg, pid_t *pid, struct keeper_after *after), void *arg,
	       pid_t *pid);
/* The same, with start's note copied to note[0..KEEPER_NOTE_MAX). */
int keeper_run_note(int (*start)(void *arg, pid_t *pid, struct keeper_after *after),
		    void *arg, pid_t *pid, char note[KEEPER_NOTE_MAX]);

#endif
