/*
 * file_anon.c - anonymous-inode files whose state /proc/PID/fdinfo tells:
 * eventfd (count, semaphore mode), timerfd (clock, remaining time and
 * interval, expirations not read yet), signalfd (mask) and epoll (every
 * registration: target fd, events incl. EPOLLET/ONESHOT/EXCLUSIVE, data).
 * A timerfd restarts its remaining time at restore (relative, like the
 * process's other timers).  Epoll registrations are installed inside the
 * first restored process holding the epoll file, once its fds are in
 * place: the targets are its fd numbers.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "common/err.h"
#include "cr/files.h"

#ifndef TFD_IOC_SET_TICKS
#define TFD_IOC_SET_TICKS _IOW('T', 0, uint64_t)
#endif

static int link_is(const struct fd_dump *d, const char *what)
{
	return !strncmp(d->link, "anon_inode:", 11) && !strcmp(d->link + 11, what);
}

/* "key: NUMBER" of an fdinfo text in base (0: "0x"/"0" prefixes too). */
static int fdinfo_u64(const struct fd_dump *d, const char *key, int base, uint64_t *v)
{
	const char *s = files_fdinfo_field(d->fdinfo, key);
	char *end;

	if (!s)
		return err_set("%s: no \"%s\" in fdinfo", d->link, key);
	errno = 0;
	*v = strtoull(s, &end, base);
	if (errno || end == s)
		return err_set("%s: bad \"%s\" in fdinfo", d->link, key);
	return 0;
}

/* ---- eventfd ---- */

static int efd_match(const struct fd_dump *d) { return link_is(d, "[eventfd]"); }

static int efd_dump(struct dump_files *df, const struct fd_dump *d, struct cr_file *f)
{
	uint64_t sem;

	(void)df;
	if (fdinfo_u64(d, "eventfd-count", 16, &f->efd.count) < 0 ||
	    fdinfo_u64(d, "eventfd-semaphore", 10, &sem) < 0)
		return -1;
	f->efd.semaphore = sem != 0;
	f->pos = 0;
	return 0;
}

static int efd_open(struct rst_files *rf, uint32_t id)
{
	const struct cr_file *f = &files_rimage(rf)->files[id];
	int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK | (f->efd.semaphore ? EFD_SEMAPHORE : 0));

	if (fd < 0)
		return err_sys("eventfd");
	if (f->efd.count && write(fd, &f->efd.count, 8) != 8) {
		err_sys("eventfd: set count %" PRIu64, f->efd.count);
		close(fd);
		return -1;
	}
	return fd;
}

const struct file_ops file_eventfd_ops = {
	.kind = CR_FILE_EVENTFD, .name = "eventfd", .match = efd_match,
	.dump = efd_dump, .open = efd_open,
};

/* ---- timerfd ---- */

static int tfd_match(const struct fd_dump *d) { return link_is(d, "[timerfd]"); }

/* "(sec, nsec)" into nanoseconds. */
static int parse_pair(const struct fd_dump *d, const char *key, int64_t *ns)
{
	const char *s = files_fdinfo_field(d->fdinfo, key);
	unsigned long long sec, nsec;

	if (!s || sscanf(s, "(%llu, %llu)", &sec, &nsec) != 2 || sec > INT64_MAX / 2000000000)
		return err_set("%s: bad \"%s\" in fdinfo", d->link, key);
	*ns = (int64_t)(sec * 1000000000ull + nsec);
	return 0;
}

static int tfd_dump(struct dump_files *df, const struct fd_dump *d, struct cr_file *f)
{
	uint64_t clock, flags;

	(void)df;
	if (fdinfo_u64(d, "clockid", 10, &clock) < 0 ||
	    fdinfo_u64(d, "ticks", 10, &f->tfd.ticks) < 0 ||
	    fdinfo_u64(d, "settime flags", 8, &flags) < 0 ||
	    parse_pair(d, "it_value", &f->tfd.value_ns) < 0 ||
	    parse_pair(d, "it_interval", &f->tfd.interval_ns) < 0)
		return -1;
	f->tfd.clock = (int32_t)clock;
	f->tfd.settime_flags = (uint32_t)flags;
	f->pos = 0;
	return 0;
}

static struct timespec ns_ts(int64_t ns)
{
	return (struct timespec){ ns / 1000000000, ns % 1000000000 };
}

static int tfd_open(struct rst_files *rf, uint32_t id)
{
	const struct cr_file *f = &files_rimage(rf)->files[id];
	struct itimerspec its = { ns_ts(f->tfd.interval_ns), ns_ts(f->tfd.value_ns) };
	int fd = timerfd_create(f->tfd.clock, TFD_CLOEXEC);

	if (fd < 0)
		return err_sys("timerfd_create clock %d", f->tfd.clock);
	if (f->tfd.ticks && ioctl(fd, TFD_IOC_SET_TICKS, &f->tfd.ticks) < 0) {
		err_sys("timerfd: set %" PRIu64 " pending expirations", f->tfd.ticks);
		goto fail;
	}
	if (f->tfd.value_ns && timerfd_settime(fd, 0, &its, NULL) < 0) {
		err_sys("timerfd_settime");
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

const struct file_ops file_timerfd_ops = {
	.kind = CR_FILE_TIMERFD, .name = "timerfd", .match = tfd_match,
	.dump = tfd_dump, .open = tfd_open,
};

/* ---- signalfd ---- */

static int sfd_match(const struct fd_dump *d) { return link_is(d, "[signalfd]"); }

static int sfd_dump(struct dump_files *df, const struct fd_dump *d, struct cr_file *f)
{
	(void)df;
	f->pos = 0;
	return fdinfo_u64(d, "sigmask", 16, &f->sfd.mask);
}

static int sfd_open(struct rst_files *rf, uint32_t id)
{
	const struct cr_file *f = &files_rimage(rf)->files[id];
	sigset_t set;
	int fd;

	sigemptyset(&set);
	for (int sig = 1; sig <= 64; sig++)
		if (f->sfd.mask & (1ull << (sig - 1)))
			sigaddset(&set, sig);
	fd = signalfd(-1, &set, SFD_CLOEXEC);
	return fd < 0 ? err_sys("signalfd mask 0x%" PRIx64, f->sfd.mask) : fd;
}

const struct file_ops file_signalfd_ops = {
	.kind = CR_FILE_SIGNALFD, .name = "signalfd", .match = sfd_match,
	.dump = sfd_dump, .open = sfd_open,
};

/* ---- epoll ---- */

static int ep_match(const struct fd_dump *d) { return link_is(d, "[eventpoll]"); }

static int cmp_ent(const void *a, const void *b)
{
	const struct cr_file_ent *x = a, *y = b;

	return (x->fd > y->fd) - (x->fd < y->fd);
}

/* One "tfd: N events: HEX data: HEX ..." line into a new entry. */
static int ep_add(struct cr_file *f, const char *line)
{
	struct cr_file_ent *ne;
	int tfd;
	unsigned events;
	unsigned long long data;

	if (sscanf(line, "tfd: %d events: %x data: %llx", &tfd, &events, &data) != 3)
		return err_set("epoll: bad fdinfo line \"%.60s\"", line);
	ne = realloc(f->ents, (f->nr_ents + 1) * sizeof(*ne));
	if (!ne)
		return err_set("out of memory");
	f->ents = ne;
	ne[f->nr_ents++] = (struct cr_file_ent){ tfd, events, data, NULL };
	return 0;
}

static int ep_dump(struct dump_files *df, const struct fd_dump *d, struct cr_file *f)
{
	(void)df;
	f->pos = 0;
	for (const char *p = d->fdinfo; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (!strncmp(p, "tfd:", 4) && ep_add(f, p) < 0)
			return -1;
	qsort(f->ents, f->nr_ents, sizeof(*f->ents), cmp_ent);
	for (uint32_t i = 1; i < f->nr_ents; i++)
		if (f->ents[i].fd == f->ents[i - 1].fd)
			return err_set("epoll: fd %d registered twice (as dup'ed files): "
				       "unsupported", f->ents[i].fd);
	return 0;
}

static int ep_open(struct rst_files *rf, uint32_t id)
{
	int fd = epoll_create1(EPOLL_CLOEXEC);

	(void)rf;
	(void)id;
	return fd < 0 ? err_sys("epoll_create1") : fd;
}

static int ep_install(const struct cr_image *img, uint32_t id, const struct cr_proc *p)
{
	const struct cr_file *f = &img->files[id];
	int epfd = files_fd_in(p, id);

	for (uint32_t i = 0; i < f->nr_ents; i++) {
		struct epoll_event ev = { f->ents[i].events, { .u64 = f->ents[i].data } };

		if (epoll_ctl(epfd, EPOLL_CTL_ADD, f->ents[i].fd, &ev) < 0)
			return err_sys("epoll fd %d: register fd %d (events 0x%x)", epfd,
				       f->ents[i].fd, f->ents[i].events);
	}
	return 0;
}

const struct file_ops file_epoll_ops = {
	.kind = CR_FILE_EPOLL, .name = "epoll", .match = ep_match,
	.dump = ep_dump, .open = ep_open, .install = ep_install,
};
