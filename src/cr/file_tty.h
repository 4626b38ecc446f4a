/*
 * file_tty.h - what the restore of pty pairs (file_tty.c) does beyond the
 * file framework: the controlling terminal of a session and its
 * foreground process group.
 */
#ifndef PC_CR_FILE_TTY_H
#define PC_CR_FILE_TTY_H

#include <stdint.h>

struct rst_ctx;

/* In restored process idx, after setsid and with its files in place: if
 * it leads a session whose controlling terminal is a pty slave of the
 * image, take it (TIOCSCTTY on the slave's service fd). */
int tty_take_ctty(struct rst_ctx *c, uint32_t idx);
/* From the restorer, once every process group exists: give each such
 * terminal its foreground group (TIOCSPGRP injected into the leader). */
int tty_set_foreground(struct rst_ctx *c);

#endif
