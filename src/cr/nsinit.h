/* nsinit.h - set-up shared by spawned and restored namespace inits. */
#ifndef PC_CR_NSINIT_H
#define PC_CR_NSINIT_H

/* Make all mounts private and mount a /proc for the current PID namespace. */
int ns_setup_mounts(void);

#endif
