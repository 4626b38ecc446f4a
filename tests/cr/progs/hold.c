/*
 * hold.c - a tree holding something the engine must refuse (or nothing),
 * for t-bad-input.sh: `hold CHECK_DIR MODE [ARG]`.
 *
 *   plain         nothing special (a good image to corrupt)
 *   iouring       an io_uring fd (io_uring_setup)
 *   dev PATH      an open device file
 *   ptrace        a child traced by its parent (PTRACE_TRACEME)
 *
 * The check verifies the held object is still there: a failed dump must
 * leave the tree running exactly as it was.  A mode that cannot be set up
 * here prints "SKIP reason" instead of READY.
 */
#include <linux/io_uring.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "check.h"

static int held = -1;
static pid_t tracee;

static int tracer_of(pid_t pid)
{
	char path[64], line[256];
	int tracer = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "TracerPid: %d", &tracer) == 1)
			break;
	if (f)
		fclose(f);
	return tracer;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 2 ? argv[2] : "plain";
	struct stat st0, st;

	ck_init(argc, argv);
	if (!strcmp(mode, "iouring")) {
		struct io_uring_params p = { 0 };

		held = (int)syscall(SYS_io_uring_setup, 4, &p);
		if (held < 0) {
			ck_say("SKIP io_uring_setup: %s", strerror(errno));
			return 0;
		}
	} else if (!strcmp(mode, "dev") && argc > 3) {
		held = open(argv[3], O_RDWR);
		if (held < 0) {
			ck_say("SKIP open %s: %s", argv[3], strerror(errno));
			return 0;
		}
	} else if (!strcmp(mode, "ptrace")) {
		int status;

		tracee = fork();
		if (tracee == 0) {
			if (ptrace(PTRACE_TRACEME, 0, 0, 0) < 0)
				_exit(3);
			raise(SIGSTOP);
			for (;;)
				pause();
		}
		if (waitpid(tracee, &status, 0) != tracee || !WIFSTOPPED(status) ||
		    ptrace(PTRACE_CONT, tracee, 0, 0) < 0)
			ck_die("tracee did not stop");
	} else if (strcmp(mode, "plain")) {
		ck_die("unknown mode %s", mode);
	}
	if (held >= 0)
		fstat(held, &st0);
	ck_ready();
	for (int n = 0;; n++) {
		ck_wait_go(n);
		if (held >= 0)
			CK(fstat(held, &st) == 0 && st.st_ino == st0.st_ino && st.st_rdev == st0.st_rdev,
			   "held fd %d gone or changed", held);
		if (tracee)
			CK(tracer_of(tracee) == getpid(), "tracee %d: tracer %d, want %d", tracee,
			   tracer_of(tracee), getpid());
		ck_report(n);
	}
}
