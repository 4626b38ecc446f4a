/*
 * file_inet.h - what the dump and restore drivers call around the inet
 * kinds of file_inet.c (CR_FILE_TCP, CR_FILE_UDP): the end of a dump,
 * listener custody at dump and restore.  (The image's form of an inet
 * socket is image_inet.c's: image.h.)
 */
#ifndef PC_CR_FILE_INET_H
#define PC_CR_FILE_INET_H

#include <stdint.h>

#include "cr/image.h"
#include "cr/inet.h"

struct dump_files;

/* Before the dump reads any file: 0 = no custody; else every listening
 * socket, established TCP connection and unconnected bound UDP socket is
 * marked with this tag in the image. */
void file_inet_set_custody(uint64_t tag);
/* After the image is written: give the marked sockets (key: file index) to
 * the holder at path. */
int file_inet_custody_put(struct dump_files *df, const struct cr_image *img, const char *path);
/* At the very end of a dump: forget the custody tag.  (The connections'
 * repair mode is the network lock's: netlock.h.) */
void file_inet_dump_end(void);

/* Restore: take the sockets held for img from the holder at path; the inet
 * kinds then use them instead of new sockets.  *conn: finish with
 * file_inet_custody_end(conn, ok). */
int file_inet_custody_take(const char *path, const struct cr_image *img, int *conn);
void file_inet_custody_end(int conn, int ok);

/* The dump's custody tag (0: none); unix listeners are kept too. */
uint64_t file_custody_tag(void);
/* Restore: the held socket of file id (any socket kind), duplicated into
 * *fd; *fd = -1 when none is held (make a new one). */
int file_custody_held(const struct cr_file *f, uint32_t id, int *fd);

#endif
