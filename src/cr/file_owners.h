/*
 * file_owners.h - the owners of files an image carries the ownership of
 * (unix socket files, pty slaves, POSIX message queues, removed regular
 * files), between the host's ids and a box's.
 */
#ifndef PC_CR_FILE_OWNERS_H
#define PC_CR_FILE_OWNERS_H

#include "cr/image.h"

struct box;

/* inside (the dump): as box b sees them, like the credentials; outside
 * (the restore): the host ids of the restoring box's range. */
void file_owners_across(struct cr_image *img, const struct box *b, int inside);

#endif
