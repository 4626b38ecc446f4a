/*
 * tcpsink.c - a TCP stream from a client outside the tree, arriving while
 * the tree is dumped, loses no byte.
 *
 * Listens on 127.0.0.1:PORT (argv[2]) and takes one connection; a reader
 * thread reads a running 64-bit counter from it and checks every value
 * is the next one.  The client (t-tcp-lock.sh) writes one value a
 * millisecond, so data arrives all through a dump: what arrives after the
 * dump has read the socket must not be acknowledged by the old tree.
 * Check N: the stream moved on (within 5 s) and no value was missing.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "check.h"

static int lfd;
static atomic_ullong got;      /* values read and checked */
static atomic_int bad;
static char why[128];

static void *reader(void *arg)
{
	uint64_t want = 0, v;
	uint8_t buf[4096];
	size_t have = 0;
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

	(void)arg;
	if (fd < 0)
		ck_die("accept");
	for (;;) {
		ssize_t r = read(fd, buf + have, sizeof(buf) - have);
		size_t i;

		if (r <= 0) {
			if (r < 0 && errno == EINTR)
				continue;
			snprintf(why, sizeof(why), "read: %s", r ? strerror(errno) : "end of stream");
			atomic_store(&bad, 1);
			return NULL;
		}
		have += (size_t)r;
		for (i = 0; i + 8 <= have; i += 8) {
			memcpy(&v, buf + i, 8);
			if (v != want && !atomic_load(&bad)) {
				snprintf(why, sizeof(why), "read %llu, want %llu",
					 (unsigned long long)v, (unsigned long long)want);
				atomic_store(&bad, 1);
			}
			want = v + 1;
		}
		memmove(buf, buf + i, have - i);
		have -= i;
		atomic_store(&got, want);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	pthread_t t;
	int one = 1;

	ck_init(argc, argv);
	if (argc < 3)
		ck_die("usage: tcpsink CHKDIR PORT");
	sin.sin_port = htons((uint16_t)atoi(argv[2]));
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(lfd, 1) < 0)
		ck_die("listen on port %s", argv[2]);
	if (pthread_create(&t, NULL, reader, NULL))
		ck_die("pthread_create");
	ck_ready();
	for (int n = 0;; n++) {
		unsigned long long before;
		double end;

		ck_wait_go(n);
		before = atomic_load(&got);
		end = ck_now() + 5;
		while (atomic_load(&got) <= before + 50 && !atomic_load(&bad) && ck_now() < end)
			ck_sleep_us(10000);
		CK(!atomic_load(&bad), "%s", why);
		CK(atomic_load(&got) > before + 50, "only %llu values in 5 s",
		   atomic_load(&got) - before);
		ck_report(n);
	}
}
