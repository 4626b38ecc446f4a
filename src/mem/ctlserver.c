/*
 * ctlserver.c - the page server's control socket: an abstract unix socket
 * named after the tree (mem_control_name), served by the server thread
 * between faults.  One request byte, one answer, then the connection is
 * closed: 'S' counters, 'R' the ActiveSet, 'I' the unchanged pages,
 * 'F' bring every page in, 'G GEN SIZE' a new base generation.  Only root
 * or the server's own uid may ask.  control.c is the asking side.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"
#include "common/io.h"
#include "mem/server.h"

static size_t stats_text(struct mem_server *s, char *out, size_t len)
{
	uint64_t due = 0, prefetched;
	size_t n;
	int r;

	for (size_t i = 0; i < s->nr_sp; i++)
		due += s->sp[i]->due;
	pthread_mutex_lock(&s->lock);
	prefetched = s->pages_prefetched;
	pthread_mutex_unlock(&s->lock);
	r = snprintf(out, len,
		     "faults %llu\nfaults_after_resume %llu\nzero_faults %llu\n"
		     "pages_faulted_in %llu\npages_filled %llu\npages_prefetched %llu\n"
		     "probes %llu\nprefetched_touched %llu\npages_due %llu\n",
		     (unsigned long long)s->faults, (unsigned long long)s->faults_run,
		     (unsigned long long)s->zero_faults, (unsigned long long)s->pages_faulted,
		     (unsigned long long)s->pages_filled, (unsigned long long)prefetched,
		     (unsigned long long)s->probes, (unsigned long long)s->prefetched_touched,
		     (unsigned long long)due);
	n = r < 0 ? 0 : (size_t)r < len ? (size_t)r : len - 1;
	if (s->has_src && n < len) {
		r = snprintf(out + n, len - n, "generation %llu\n",
			     (unsigned long long)s->src.generation);
		n += r < 0 ? 0 : (size_t)r < len - n ? (size_t)r : len - n - 1;
	}
	if (s->has_src && s->src.stats)
		n += s->src.stats(s->src.arg, out + n, len - n);
	return n;
}

static void start_filling(struct mem_server *s)
{
	pthread_mutex_lock(&s->lock);
	s->fill = 1;
	s->filling = 1;
	pthread_mutex_unlock(&s->lock);
}

/* 'G GEN SIZE': the tree was dumped incrementally and goes on running; its
 * pages are now those of generation GEN, SIZE bytes, of which the ones it
 * was restored from are the beginning. */
static int read_base(int fd, struct mem_server *s)
{
	char buf[64];
	unsigned long long gen, size;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);

	if (n <= 0)
		return -1;
	buf[n] = '\0';
	if (sscanf(buf, " %llu %llu", &gen, &size) != 2 || size < s->base_size)
		return -1;
	s->src.generation = gen;
	s->base_size = size;
	return 0;
}

static int peer_allowed(int fd)
{
	struct ucred cr;
	socklen_t l = sizeof(cr);

	return getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &l) == 0 &&
	       (cr.uid == 0 || cr.uid == geteuid());
}

static void answer(struct mem_server *s, int fd, char cmd)
{
	struct mem_as_writer w;
	char text[2048];
	int rc;

	switch (cmd) {
	case 'S':
		write_full(fd, text, stats_text(s, text, sizeof(text)), -1);
		break;
	case 'R':
		if (!s->record) {
			write_full(fd, "none\n", 5, -1);
			break;
		}
		if (ps_record_all(s, &w) == 0)
			write_full(fd, w.buf, w.len, -1);
		mem_as_writer_free(&w);
		err_clear();
		break;
	case 'I':
		rc = ps_keep_all(s, &w);
		if (rc == 0)
			write_full(fd, w.buf, w.len, -1);
		mem_as_writer_free(&w);
		err_clear();
		if (rc != 0) {   /* the dump reads every page instead */
			s->recorded = 1;
			start_filling(s);
			write_full(fd, "none\n", 5, -1);
		}
		break;
	case 'G':
		if (read_base(fd, s) == 0)
			write_full(fd, "ok\n", 3, -1);
		break;
	case 'F':
		s->recorded = 1;
		start_filling(s);
		write_full(fd, "ok\n", 3, -1);
		break;
	default:
		break;
	}
}

void ps_serve_control(struct mem_server *s)
{
	int fd;

	while ((fd = accept4(s->ctl_fd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
		struct timeval tv = { 1, 0 };
		char cmd = 0;

		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		if (peer_allowed(fd) && read(fd, &cmd, 1) == 1)
			answer(s, fd, cmd);
		close(fd);
	}
}

int mem_server_listen(struct mem_server *s)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int bound = -1;
	size_t nl;

	mem_control_name(s->tree_pid, a.sun_path, sizeof(a.sun_path), &nl);
	s->ctl_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s->ctl_fd < 0)
		return err_sys("page server: socket");
	/* The name is the tree's pid: the server of an earlier tree with that
	 * pid may still hold it for a second (it notices its tree's end at
	 * its next idle round). */
	for (int i = 0; i < LISTEN_TRIES; i++) {
		struct timespec ts = { 0, 100 * 1000000L };

		bound = bind(s->ctl_fd, (struct sockaddr *)&a,
			     (socklen_t)(offsetof(struct sockaddr_un, sun_path) + nl));
		if (bound == 0 || errno != EADDRINUSE)
			break;
		nanosleep(&ts, NULL);
	}
	if (bound < 0 || listen(s->ctl_fd, 16) < 0) {
		int rc = err_sys("page server: bind/listen on @%s", a.sun_path + 1);

		close(s->ctl_fd);
		s->ctl_fd = -1;
		return rc;
	}
	return 0;
}
