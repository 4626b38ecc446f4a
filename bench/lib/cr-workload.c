/*
 * cr-workload.c - the process bench/cr.sh checkpoints and restores.
 *
 *   cr-workload FIFO MB NTHREADS
 *
 * Touches MB megabytes of anonymous memory with non-zero pseudo-random data
 * (so zero-page elision cannot skip it), starts NTHREADS-1 extra threads
 * that block in a condition variable, prints READY, then polls every 100 us
 * for a reader on FIFO (open O_WRONLY|O_NONBLOCK succeeds only when one is
 * there) and writes one byte to it: the "I run again" signal cr-time waits
 * for after a restore.  No fd is held across a checkpoint.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;

static void *idle_thread(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&mu);
	for (;;)
		pthread_cond_wait(&cv, &mu);
	return NULL;
}

static void nap(long ns)
{
	struct timespec ts = { 0, ns };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int main(int argc, char **argv)
{
	size_t len;
	uint64_t *mem, x = 88172645463325252ull;
	int threads;

	if (argc != 4) {
		fprintf(stderr, "usage: cr-workload FIFO MB NTHREADS\n");
		return 2;
	}
	len = (size_t)atol(argv[2]) << 20;
	threads = atoi(argv[3]);
	mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	for (size_t i = 0; i < len / 8; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		mem[i] = x | 1;
	}
	for (int i = 1; i < threads; i++) {
		pthread_t t;

		if (pthread_create(&t, NULL, idle_thread, NULL)) {
			perror("pthread_create");
			return 1;
		}
	}
	printf("READY\n");
	fflush(stdout);
	for (;;) {
		int fd = open(argv[1], O_WRONLY | O_NONBLOCK);

		if (fd < 0) {
			nap(100000);
			continue;
		}
		if (write(fd, "R", 1) < 0)
			perror("write fifo");
		close(fd);
		nap(5000000);
	}
}
