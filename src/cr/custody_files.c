/*
 * custody_files.c - listener custody of an image's open files (custody.h is
 * the holder and its protocol): which files custody keeps (a tag in their
 * record, set at dump time: any socket kind, inet or unix), the dump
 * giving them to the holder, a restore taking them back and its open
 * files using them instead of new sockets (custody_files.h).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/err.h"
#include "cr/custody.h"
#include "cr/custody_files.h"
#include "cr/files.h"

/* The custody tag of a file (0: not in custody), any socket kind. */
uint64_t custody_file_tag(const struct cr_file *f)
{
	if (f->kind == CR_FILE_TCP || f->kind == CR_FILE_UDP)
		return f->inet.custody;
	if (f->kind == CR_FILE_UNIX)
		return f->un.custody;
	return 0;
}

static void tag_string(uint64_t tag, char *buf, size_t len)
{
	snprintf(buf, len, "image-%016llx", (unsigned long long)tag);
}

int custody_put_files(struct dump_files *df, const struct cr_image *img, const char *path)
{
	struct custody_item *items = calloc(img->nr_files + 1, sizeof(*items));
	uint64_t tag = 0;
	size_t n = 0;
	char name[64];
	int rc;

	if (!items)
		return err_set("out of memory");
	for (uint32_t i = 0; i < img->nr_files; i++) {
		const struct cr_file *f = &img->files[i];

		if (!custody_file_tag(f))
			continue;
		tag = custody_file_tag(f);
		items[n].key = i;
		items[n++].fd = files_dup(df, i);
	}
	tag_string(tag, name, sizeof(name));
	rc = n ? custody_put(path, name, items, n) : 0;
	free(items);
	return rc < 0 ? err_wrap("listener custody") : 0;
}

int custody_take_files(const char *path, const struct cr_image *img, struct custody_held *h)
{
	uint64_t tag = 0;
	char name[64];

	h->conn = -1;
	for (uint32_t i = 0; !tag && i < img->nr_files; i++)
		tag = custody_file_tag(&img->files[i]);
	if (!tag)
		return 0;   /* nothing of this image is in custody */
	tag_string(tag, name, sizeof(name));
	if (custody_get(path, name, &h->items, &h->n, &h->conn) < 0)
		return err_wrap("listener custody");
	return 0;
}

void custody_end_files(struct custody_held *h, int ok)
{
	custody_free(h->items, h->n);
	h->items = NULL;
	h->n = 0;
	custody_done(h->conn, ok);
	h->conn = -1;
}

int custody_held_fd(const struct custody_held *h, const struct cr_file *f, uint32_t id,
		    int *fd)
{
	*fd = -1;
	if (!custody_file_tag(f) || !h || !h->items)
		return 0;
	for (size_t i = 0; i < h->n; i++) {
		if (h->items[i].key != id)
			continue;
		*fd = fcntl(h->items[i].fd, F_DUPFD_CLOEXEC, 0);
		if (*fd < 0)
			return err_sys("duplicate the held socket");
		return 0;
	}
	return err_set("the custody holder has no socket for this file");
}

int custody_holds(const struct custody_held *h, const struct cr_file *f)
{
	return h && h->items && custody_file_tag(f);
}
