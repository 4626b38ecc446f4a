/*
 * ovl_handle.h - the file behind an overlayfs file handle of a box's root.
 * inotify's fdinfo names a watched inode by its file handle; a box's
 * overlay (mounted without nfs_export) cannot decode the handles of
 * non-directories, but each wraps the handle of the real file in the
 * box's upper layer or its lower one, which can be.
 */
#ifndef PC_CR_OVL_HANDLE_H
#define PC_CR_OVL_HANDLE_H

#include <stddef.h>

struct box;

/* Is handle (type, bytes) an overlay handle? */
int ovl_handle_is(int type, const unsigned char *h, unsigned bytes);
/* The path, as box b sees it, of the real file the overlay handle h names
 * (into out, len bytes); fails when the layer it names is not b's. */
int ovl_handle_path(const struct box *b, const unsigned char *h, unsigned bytes, char *out,
		    size_t len);

#endif
