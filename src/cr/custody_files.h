/*
 * custody_files.h - listener custody of an image's open files (custody.h
 * is the holder and its protocol).  A dump with custody marks every
 * listening socket, established TCP connection and unconnected bound UDP
 * socket (and bound unix listener) with its custody tag (struct
 * dump_ctx's custody_tag, read by the kinds through files_custody_tag);
 * once the image is written, the marked sockets go to the holder.  A restore takes
 * them back into a struct custody_held of its own, and the kinds use them
 * instead of new sockets (files_custody_fd, files_in_custody).
 */
#ifndef PC_CR_CUSTODY_FILES_H
#define PC_CR_CUSTODY_FILES_H

#include <stddef.h>
#include <stdint.h>

#include "cr/image.h"

struct dump_files;
struct custody_item;

/* The sockets a restore took from the holder. */
struct custody_held {
	struct custody_item *items;    /* NULL: none taken */
	size_t n;
	int conn;                      /* the open request, -1: none */
};

/* The custody tag of a file (0: not in custody), any socket kind. */
uint64_t custody_file_tag(const struct cr_file *f);
/* After the image is written: give the marked sockets (key: file index) to
 * the holder at path. */
int custody_put_files(struct dump_files *df, const struct cr_image *img, const char *path);
/* Restore: take the sockets held for img from the holder at path into *h
 * (nothing when no file of img is marked); finish with custody_end_files. */
int custody_take_files(const char *path, const struct cr_image *img, struct custody_held *h);
/* ok: the restore used them (the holder forgets them); else the holder
 * keeps them for another try.  Closes what h holds. */
void custody_end_files(struct custody_held *h, int ok);
/* The held socket of file id (f) duplicated into *fd; *fd = -1 when none is
 * held (make a new one).  h may be NULL. */
int custody_held_fd(const struct custody_held *h, const struct cr_file *f, uint32_t id,
		    int *fd);
/* Is f one of the sockets h took from the holder? */
int custody_holds(const struct custody_held *h, const struct cr_file *f);

#endif
