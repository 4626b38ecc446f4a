/*
 * churn.c - threads and processes come and go without pause while the
 * tree is dumped.
 *
 * - two spawner threads each create a thread that exits at once and join
 *   it, in a loop (counters);
 * - a forker thread forks a child that exits at once and reaps it, in a
 *   loop; another forks a child that itself forks a grandchild, which
 *   execs /bin/true;
 * The dump meets threads and processes being born and dying.  Check N:
 * every loop kept going across the cycle (its counter grows within 300 ms),
 * no join or wait failed, and the process has exactly its 5 long-lived
 * threads between two creations (the count of /proc/self/task never shows
 * a leftover thread: sampled 20 times, the minimum must be 5).
 */
#include <dirent.h>
#include <sys/wait.h>

#include "check.h"

static atomic_long spawned[2], forked, forked2;
static atomic_int errors;

static void *nothing(void *arg) { return arg; }

static void *spawner(void *arg)
{
	atomic_long *count = arg;

	for (;;) {
		pthread_t t;

		if (pthread_create(&t, NULL, nothing, NULL) || pthread_join(t, NULL))
			atomic_fetch_add(&errors, 1);
		atomic_fetch_add(count, 1);
	}
	return NULL;
}

static void *forker(void *arg)
{
	int deep = arg != NULL;

	for (;;) {
		pid_t pid = fork();
		int st;

		if (pid == 0) {
			if (deep) {
				pid_t g = fork();

				if (g == 0) {
					execl("/bin/true", "true", (char *)NULL);
					_exit(1);
				}
				if (g > 0)
					waitpid(g, NULL, 0);
			}
			_exit(7);
		}
		if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) ||
		    WEXITSTATUS(st) != 7)
			atomic_fetch_add(&errors, 1);
		atomic_fetch_add(deep ? &forked2 : &forked, 1);
	}
	return NULL;
}

static int count_tasks(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static void check_going(const char *what, atomic_long *c)
{
	long before = atomic_load(c);

	ck_sleep_us(300000);
	CK(atomic_load(c) > before, "%s stopped at %ld", what, before);
}

int main(int argc, char **argv)
{
	pthread_t t;

	ck_init(argc, argv);
	if (pthread_create(&t, NULL, spawner, &spawned[0]) ||
	    pthread_create(&t, NULL, spawner, &spawned[1]) ||
	    pthread_create(&t, NULL, forker, NULL) ||
	    pthread_create(&t, NULL, forker, (void *)1))
		ck_die("pthread_create");
	ck_ready();
	for (int n = 0;; n++) {
		int min = 1 << 30;

		ck_wait_go(n);
		check_going("spawner 1", &spawned[0]);
		check_going("spawner 2", &spawned[1]);
		check_going("forker", &forked);
		check_going("forker of grandchildren", &forked2);
		for (int i = 0; i < 20; i++) {
			int c = count_tasks();

			if (c >= 0 && c < min)
				min = c;
			ck_sleep_us(2000);
		}
		CK(min == 5, "at least %d threads all the time, want 5 between creations", min);
		CK(atomic_load(&errors) == 0, "%d thread or child failures", atomic_load(&errors));
		ck_report(n);
	}
}
