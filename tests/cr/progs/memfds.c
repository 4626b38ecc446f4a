/*
 * memfds.c - memfd fds keep their content, offset and seals.
 *
 * - A: sealing allowed, sealed against shrinking and growing: seals
 *   SHRINK|GROW, ftruncate refused, writes in place allowed;
 * - B: sealing allowed, no seal yet: seals 0 (it could still be sealed);
 * - C: made without MFD_ALLOW_SEALING: seals SEAL only;
 * - D: sealed against writing and further sealing: SEAL|WRITE, write
 *   refused;
 * - E: sealed against shrinking, grown to 1 GiB (sparse: above the size
 *   an unlinked file's content may have in an image) and mapped shared
 *   twice, as a JVM's ZGC maps its heap: the fd and both mappings stay
 *   one file through every cycle (what one writes the others read, and a
 *   new mapping of the fd too).
 * - a POSIX semaphore (sem_open, then sem_unlink: a 32-byte file of
 *   /dev/shm, removed, mapped shared), posted once per check.
 * Check N: each one's seals, content (A's first byte is N, written in
 * place each check) and offset (advanced by one per check) are as they
 * were left.
 */
#include <semaphore.h>
#include <sys/mman.h>
#include <sys/stat.h>

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
	{ "e", MFD_ALLOW_SEALING, F_SEAL_SHRINK, -1 },
};

#define NM (int)(sizeof(m) / sizeof(m[0]))
static const char text[] = "0123456789abcdefghij";

#define E_SIZE (1ul << 30)
#define E_AT(n) ((E_SIZE / 2) + (unsigned long)(n) * 4096)   /* mapping writes */
#define E_FD_AT(n) ((E_SIZE / 2) - (unsigned long)((n) + 1) * 4096)   /* fd writes */
static char *e1, *e2;   /* E mapped twice */
static sem_t *sem;

static void sem_make(void)
{
	char name[64];

	snprintf(name, sizeof(name), "/pc-memfds-%d", (int)getpid());
	sem = sem_open(name, O_CREAT | O_EXCL, 0600, 3);
	if (sem == SEM_FAILED || sem_unlink(name) < 0)
		ck_die("sem_open %s", name);
}

/* Check n finds the value check n-1 left (3 + n) and posts once more. */
static void sem_check(int n)
{
	int v = -1;

	CK(sem_getvalue(sem, &v) == 0 && v == 3 + n, "semaphore: value %d, want %d", v, 3 + n);
	CK(sem_post(sem) == 0, "sem_post: %s", strerror(errno));
}

static void e_map(void)
{
	if (ftruncate(m[4].fd, (off_t)E_SIZE) < 0)
		ck_die("memfd e: grow");
	e1 = mmap(NULL, E_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, m[4].fd, 0);
	e2 = mmap(NULL, E_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, m[4].fd, 0);
	if (e1 == MAP_FAILED || e2 == MAP_FAILED)
		ck_die("memfd e: mmap");
}

/* What check n-1 wrote through e1 and the fd reads the same through e2,
 * the fd, e1 and a new mapping; then check n writes its own. */
static void e_check(int n)
{
	struct stat st = { 0 };

	if (n > 0) {
		char want = (char)('a' + n - 1), got = 0, *e3;

		CK(e2[E_AT(n - 1)] == want, "memfd e: second mapping reads '%c', want '%c'",
		   e2[E_AT(n - 1)], want);
		CK(pread(m[4].fd, &got, 1, (off_t)E_AT(n - 1)) == 1 && got == want,
		   "memfd e: fd reads '%c' where the mapping wrote '%c'", got, want);
		CK(e1[E_FD_AT(n - 1)] == (char)('P' + n - 1),
		   "memfd e: mapping reads '%c' where the fd wrote '%c'", e1[E_FD_AT(n - 1)],
		   'P' + n - 1);
		e3 = mmap(NULL, 4096, PROT_READ, MAP_SHARED, m[4].fd, (off_t)E_AT(n - 1));
		CK(e3 != MAP_FAILED && e3[0] == want, "memfd e: a new mapping reads '%c'",
		   e3 != MAP_FAILED ? e3[0] : '?');
		if (e3 != MAP_FAILED)
			munmap(e3, 4096);
	}
	CK(fstat(m[4].fd, &st) == 0 && st.st_size == (off_t)E_SIZE, "memfd e: size %lld",
	   (long long)st.st_size);
	e1[E_AT(n)] = (char)('a' + n);
	CK(pwrite(m[4].fd, &(char){ (char)('P' + n) }, 1, (off_t)E_FD_AT(n)) == 1,
	   "memfd e: write: %s", strerror(errno));
}

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
	e_map();
	sem_make();
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
		e_check(n);
		sem_check(n);
		ck_report(n);
	}
}
