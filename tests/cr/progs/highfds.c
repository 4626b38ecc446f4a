/*
 * highfds.c - fds numbered right below the process's hard RLIMIT_NOFILE.
 *
 * The program raises its soft limit to the hard one and puts a pipe's two
 * ends and a file (at offset 5) on the three highest fd numbers it may
 * use: the restorer cannot put its service fds above them, and may not
 * raise the limit (it needs CAP_SYS_RESOURCE for that).
 * Check N: the pipe carries a message, the file offset is 5 + N and reads
 * the right byte, the limit is unchanged, and /proc/self/fd lists exactly
 * the fds the program had before the first dump (no service fd left).
 */
#include <dirent.h>
#include <sys/resource.h>

#include "check.h"

static int hi;
static char fd_list[4096];

static void list_fds(char *out, size_t len)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int fds[64], n = 0, self;
	size_t used = 0;

	out[0] = '\0';
	if (!d)
		return;
	self = dirfd(d);
	while ((e = readdir(d)) && n < 64)
		if (e->d_name[0] != '.' && atoi(e->d_name) != self)
			fds[n++] = atoi(e->d_name);
	closedir(d);
	for (int i = 0; i < n; i++)            /* small: insertion sort */
		for (int j = i; j > 0 && fds[j - 1] > fds[j]; j--) {
			int t = fds[j];

			fds[j] = fds[j - 1];
			fds[j - 1] = t;
		}
	for (int i = 0; i < n && used + 16 < len; i++)
		used += (size_t)snprintf(out + used, len - used, "%d ", fds[i]);
}

int main(int argc, char **argv)
{
	struct rlimit rl;
	char path[4200], now[4096];
	int p[2], f;

	ck_init(argc, argv);
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_max > (1u << 24))
		ck_die("getrlimit (or a hard limit too large to use: %llu)",
		       (unsigned long long)rl.rlim_max);
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		ck_die("setrlimit");
	hi = (int)rl.rlim_max - 1;
	snprintf(path, sizeof(path), "%s/highfds-file", ck_dir);
	f = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (f < 0 || write(f, "0123456789abcdef", 16) != 16 || lseek(f, 5, SEEK_SET) != 5)
		ck_die("file");
	if (pipe(p) < 0 || dup2(p[0], hi) < 0 || dup2(p[1], hi - 1) < 0 || dup2(f, hi - 2) < 0)
		ck_die("dup2 to %d", hi);
	close(p[0]);
	close(p[1]);
	close(f);
	list_fds(fd_list, sizeof(fd_list));
	ck_say("# fds: %s(limit %d)", fd_list, hi + 1);
	ck_ready();
	for (int n = 0;; n++) {
		char c = 0, msg[32];
		struct rlimit now_rl;

		ck_wait_go(n);
		snprintf(msg, sizeof(msg), "check %d", n);
		CK(write(hi - 1, msg, strlen(msg)) == (ssize_t)strlen(msg), "write fd %d: %s", hi - 1,
		   strerror(errno));
		memset(now, 0, sizeof(now));
		CK(read(hi, now, sizeof(now)) == (ssize_t)strlen(msg) && !strcmp(now, msg),
		   "pipe fd %d gave '%s', want '%s'", hi, now, msg);
		CK(lseek(hi - 2, 0, SEEK_CUR) == 5 + n, "file offset %lld, want %d",
		   (long long)lseek(hi - 2, 0, SEEK_CUR), 5 + n);
		CK(read(hi - 2, &c, 1) == 1 && c == "0123456789abcdef"[5 + n],
		   "file read '%c' at %d", c, 5 + n);
		CK(getrlimit(RLIMIT_NOFILE, &now_rl) == 0 && now_rl.rlim_cur == rl.rlim_cur &&
		   now_rl.rlim_max == rl.rlim_max, "RLIMIT_NOFILE changed to %llu/%llu",
		   (unsigned long long)now_rl.rlim_cur, (unsigned long long)now_rl.rlim_max);
		list_fds(now, sizeof(now));
		CK(!strcmp(now, fd_list), "fds now: %s; before: %s", now, fd_list);
		ck_report(n);
	}
}
