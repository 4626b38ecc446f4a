/*
 * file_ops.c - the table of file kinds (files.h).  A kind's match() is
 * asked in this order; put narrower kinds first.
 */
#include <stddef.h>

#include "cr/files.h"

extern const struct file_ops file_reg_ops, file_dir_ops, file_dev_ops;
extern const struct file_ops file_pipe_ops, file_fifo_ops;
extern const struct file_ops file_eventfd_ops, file_timerfd_ops, file_signalfd_ops;
extern const struct file_ops file_epoll_ops, file_inotify_ops;
extern const struct file_ops file_tcp_ops, file_udp_ops;
extern const struct file_ops file_unix_ops, file_netlink_ops, file_mqueue_ops;
extern const struct file_ops file_tty_ops;

const struct file_ops *const file_kinds[] = {
	&file_mqueue_ops,              /* before file_reg: its inodes are regular */
	&file_reg_ops,
	&file_dir_ops,
	&file_tty_ops,                 /* before file_dev: ptys are character devices */
	&file_dev_ops,
	&file_pipe_ops,
	&file_fifo_ops,
	&file_eventfd_ops,
	&file_timerfd_ops,
	&file_signalfd_ops,
	&file_epoll_ops,
	&file_inotify_ops,
	&file_tcp_ops,
	&file_udp_ops,
	&file_unix_ops,
	&file_netlink_ops,
	NULL,
};

const struct file_ops *file_ops_of(uint32_t kind)
{
	for (size_t i = 0; file_kinds[i]; i++)
		if (file_kinds[i]->kind == kind)
			return file_kinds[i];
	return NULL;
}
