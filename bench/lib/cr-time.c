/*
 * cr-time.c - time one `picocenter cr dump` or `cr restore` for bench/cr.sh.
 *
 *   cr-time dump PICOCENTER PID DIR [--verify]   prints: CMD_MS
 *   cr-time restore PICOCENTER DIR FIFO [--eager]
 *                                       prints: PID CMD_MS RUN_MS FILLED_MS
 *
 * CMD_MS is the wall time of the command; RUN_MS (restore) is the time from
 * the start of the command until the restored cr-workload writes to FIFO,
 * i.e. until it runs again; FILLED_MS until the page server has put in all
 * of its memory (no VMA in /proc/PID/smaps still registered with a
 * userfaultfd, VmFlags "um"; polled every 0.5 ms after RUN_MS; the same
 * test as src/mem/resident.c, which this standalone tool does not link).
 * Exits non-zero if the command failed (its stderr passes through) or the
 * process did not answer within 60 s.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Start argv with stdout into *out (if out), return the pid. */
static pid_t run(char **argv, int *out)
{
	int p[2];
	pid_t pid;

	if (out && pipe(p) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		if (out) {
			dup2(p[1], 1);
			close(p[0]);
			close(p[1]);
		}
		execv(argv[0], argv);
		perror(argv[0]);
		_exit(127);
	}
	if (out) {
		close(p[1]);
		*out = p[0];
	}
	return pid;
}

/* 1 while some VMA of pid is registered for missing pages, 0 when none
 * is (or the process is gone). */
static int still_lazy(const char *pid)
{
	char path[64], line[512];
	FILE *f;
	int lazy = 0;

	snprintf(path, sizeof(path), "/proc/%s/smaps", pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (!lazy && fgets(line, sizeof(line), f))
		lazy = !strncmp(line, "VmFlags:", 8) && strstr(line, " um");
	fclose(f);
	return lazy;
}

static int finish(pid_t pid)
{
	int st;

	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int main(int argc, char **argv)
{
	if ((argc == 5 || argc == 6) && !strcmp(argv[1], "dump")) {
		char *cmd[] = { argv[2], "cr", "dump", "--pid", argv[3], "--dir", argv[4],
				argc == 6 ? argv[5] : NULL, NULL };
		double t0 = now_ms();
		int rc = finish(run(cmd, NULL));

		printf("%.3f\n", now_ms() - t0);
		return rc;
	}
	if ((argc == 5 || argc == 6) && !strcmp(argv[1], "restore")) {
		char *cmd[] = { argv[2], "cr", "restore", "--dir", argv[3],
				argc == 6 ? argv[5] : NULL, NULL };
		struct pollfd pf = { .events = POLLIN };
		char out[64] = "";
		double t0, t_cmd = -1, t_run = -1;
		int outfd = -1, rc;
		ssize_t n;
		pid_t pid;

		pf.fd = open(argv[4], O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		if (pf.fd < 0) {
			perror(argv[4]);
			return 1;
		}
		t0 = now_ms();
		pid = run(cmd, &outfd);
		if (pid < 0) {
			perror("fork");
			return 1;
		}
		/* The restored process may answer before the command returns. */
		while (t_run < 0 && now_ms() - t0 < 60000) {
			if (poll(&pf, 1, 100) > 0 && (pf.revents & POLLIN))
				t_run = now_ms();
			if (t_cmd < 0 && waitpid(pid, &rc, WNOHANG) == pid) {
				t_cmd = now_ms();
				rc = WIFEXITED(rc) ? WEXITSTATUS(rc) : 128 + WTERMSIG(rc);
				if (rc != 0)
					return rc;
			}
		}
		if (t_cmd < 0) {
			rc = finish(pid);
			t_cmd = now_ms();
			if (rc != 0)
				return rc;
		}
		n = read(outfd, out, sizeof(out) - 1);
		out[n > 0 ? n : 0] = '\0';
		out[strcspn(out, "\n")] = '\0';
		if (t_run < 0) {
			fprintf(stderr, "cr-time: restored pid %s did not answer within 60 s\n", out);
			printf("%s %.3f -1\n", out, t_cmd - t0);
			return 3;
		}
		while (still_lazy(out) && now_ms() - t0 < 60000)
			usleep(500);
		printf("%s %.3f %.3f %.3f\n", out, t_cmd - t0, t_run - t0, now_ms() - t0);
		return 0;
	}
	fprintf(stderr, "usage: cr-time dump PICOCENTER PID DIR [--verify] | restore PICOCENTER DIR FIFO [--eager]\n");
	return 2;
}
