/*
 * timed.c - run a command and record when it started and ended, for the
 * bench scripts (a shell's own clock reads and forks cost milliseconds).
 *
 *   timed FILE CMD [ARGS...]
 *
 * Writes "START_US END_US" (CLOCK_REALTIME, microseconds, as dclient -T
 * prints) to FILE: START just before the fork that runs CMD, END when
 * waitpid returns.  CMD inherits stdin, stdout and stderr.  Exits with
 * CMD's status (128 + signal if it was killed).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int main(int argc, char **argv)
{
	long long t0, t1;
	FILE *f;
	pid_t pid;
	int st;

	if (argc < 3) {
		fprintf(stderr, "usage: timed FILE CMD [ARGS...]\n");
		return 2;
	}
	t0 = now_us();
	pid = fork();
	if (pid < 0) {
		perror("timed: fork");
		return 2;
	}
	if (pid == 0) {
		execvp(argv[2], argv + 2);
		fprintf(stderr, "timed: %s: %s\n", argv[2], strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR) {
			perror("timed: waitpid");
			return 2;
		}
	t1 = now_us();
	f = fopen(argv[1], "w");
	if (!f || fprintf(f, "%lld %lld\n", t0, t1) < 0 || fclose(f) != 0) {
		fprintf(stderr, "timed: %s: %s\n", argv[1], strerror(errno));
		return 2;
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
