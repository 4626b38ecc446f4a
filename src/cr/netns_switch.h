/*
 * netns_switch.h - the calling thread steps into another network
 * namespace (to read or set a socket's state there) and back.
 */
#ifndef PC_CR_NETNS_SWITCH_H
#define PC_CR_NETNS_SWITCH_H

/* Enters the network namespace nsfd names; *own gets an fd of the
 * thread's own to return with.  -1 (reported) leaves the thread where it
 * was, with *own -1.  nsfd stays the caller's. */
int netns_enter(int nsfd, int *own);

/* Returns to own (from netns_enter) and closes it; own < 0 does nothing. */
int netns_leave(int own);

#endif
