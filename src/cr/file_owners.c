/* file_owners.c - file owners between the host's ids and a box's (file_owners.h). */
#include "box/box.h"
#include "cr/file_owners.h"

static int has_owner(const struct cr_file *f)
{
	if (f->kind == CR_FILE_REG)
		return f->reg.has_owner;
	if (f->kind == CR_FILE_TTY)
		return !f->tty.master;
	if (f->kind == CR_FILE_MQUEUE)
		return 1;
	return f->kind == CR_FILE_UNIX && f->un.name_state != CR_UNIX_NAME_UNLINKED &&
	       f->laddr.len > 2 && f->laddr.addr[2] != '\0';
}

void file_owners_across(struct cr_image *img, const struct box *b, int inside)
{
	uint32_t (*map)(const struct box *, uint32_t) = inside ? box_id_inside : box_id_outside;

	for (uint32_t i = 0; i < img->nr_files; i++) {
		struct cr_file *f = &img->files[i];
		uint32_t *uid = &f->un.name_uid, *gid = &f->un.name_gid;

		if (!has_owner(f))
			continue;
		if (f->kind == CR_FILE_TTY) {
			uid = &f->tty.uid;
			gid = &f->tty.gid;
		} else if (f->kind == CR_FILE_MQUEUE) {
			uid = &f->mq.uid;
			gid = &f->mq.gid;
		} else if (f->kind == CR_FILE_REG) {
			uid = &f->reg.uid;
			gid = &f->reg.gid;
		}
		*uid = map(b, *uid);
		*gid = map(b, *gid);
	}
}
