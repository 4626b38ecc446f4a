/*
 * memfds.c - memfd fds keep their content, offset and seals.
 *
 * - A: sealing allowed, sealed against shrinking and growing: seals
 *   SHRINK|GROW, ftruncate refused, writes in place allowed;
 * - B: sealing allowed, no seal yet: seals 0 (it could still be sealed);
 * - C: made without MFD_ALLOW_SEALING: seals SEAL only;
 * - D: sealed against writing and further sealing: SEAL|WRITE, write
 *   refused.
 * Check N: each one's seals, content (A's first byte is N, written in
 * place each check) and offset (advanced by one per check) are as they
 * were left.
 */
#include <sys/mman.h>

#include "check.h"

struct mfd {
	const char *name;
	unsigned create, seals;
	int fd;
};

static struct mfd m[] = {
	{ "a", MFD_ALLOW_SEALING, F_SEAL_SHRINK | F_SEAL_GROW, -1 },
	{ "b", MFD_ALLOW_SEALING, 0, -1 },
	{ "c", 0, F_SEAL_SEAL, -1 },
	{ "d", MFD_ALLOW_SEALING, F_SEAL_SEAL | F_SEAL_WRITE, -1 },
};

#define NM (int)(sizeof(m) / sizeof(m[0]))
static const char text[] = "0123456789abcdefghij";

int main(int argc, char **argv)
{
	ck_init(argc, argv);
	for (int i = 0; i < NM; i++) {
		m[i].fd = memfd_create(m[i].name, MFD_CLOEXEC | m[i].create);
		if (m[i].fd < 0 || write(m[i].fd, text, sizeof(text)) != (ssize_t)sizeof(text) ||
		    lseek(m[i].fd, 1, SEEK_SET) != 1)
			ck_die("memfd %s", m[i].name);
		if ((m[i].create & MFD_ALLOW_SEALING) && m[i].seals &&
		    fcntl(m[i].fd, F_ADD_SEALS, (int)m[i].seals) < 0)
			ck_die("F_ADD_SEALS %s", m[i].name);
	}
	ck_ready();
	for (int n = 0;; n++) {
		ck_wait_go(n);
		for (int i = 0; i < NM; i++) {
			int seals = fcntl(m[i].fd, F_GET_SEALS);
			char c = 0;

			CK(seals == (int)m[i].seals, "memfd %s: seals 0x%x, want 0x%x", m[i].name,
			   seals, m[i].seals);
			CK(lseek(m[i].fd, 0, SEEK_CUR) == 1 + n, "memfd %s: offset %lld, want %d",
			   m[i].name, (long long)lseek(m[i].fd, 0, SEEK_CUR), 1 + n);
			CK(read(m[i].fd, &c, 1) == 1 && c == text[1 + n], "memfd %s: read '%c' at %d",
			   m[i].name, c, 1 + n);
		}
		if (n > 0) {        /* written in place by the previous check */
			char c = 0;

			CK(pread(m[0].fd, &c, 1, 0) == 1 && c == 'A' + n - 1,
			   "memfd a: byte 0 '%c', want '%c'", c, 'A' + n - 1);
		}
		CK(ftruncate(m[0].fd, 4096) < 0 && errno == EPERM, "memfd a: grew past its seal");
		CK(pwrite(m[0].fd, &(char){ (char)('A' + n) }, 1, 0) == 1, "memfd a: write in place: %s",
		   strerror(errno));
		CK(pwrite(m[3].fd, "x", 1, 0) < 0 && errno == EPERM, "memfd d: written past its seal");
		ck_report(n);
	}
}
