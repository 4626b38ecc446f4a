/*
 * manyprocs.c - a tree of 241 processes: the root, 60 children and three
 * grandchildren under each, every one with 256 KiB of its own data and a
 * page of memory shared with the root.
 *
 * Check N: each process (seeing go.N) checks its pid, its parent's pid
 * and its data, then writes N into its slot of the shared page; the root
 * waits until every slot says N.  A process that was not restored, or
 * restored with the wrong pid, parent or memory, leaves its slot behind.
 */
#include <sys/mman.h>
#include <sys/wait.h>

#include "check.h"

#define KIDS 60
#define GRAND 3
#define NPROC (1 + KIDS * (1 + GRAND))
#define DATA (256u * 1024u)

struct slot {
	atomic_int done;         /* last check passed, -1 none */
	atomic_int failed;
	pid_t pid, ppid;
};

static struct slot *slots;   /* MAP_SHARED, NPROC entries */

static void proc_main(int idx, pid_t parent)
{
	uint8_t *data = malloc(DATA);
	uint64_t sum;

	if (!data)
		_exit(3);
	ck_fill(data, DATA, (uint64_t)idx * 7 + 1);
	sum = ck_hash(data, DATA);
	slots[idx].pid = getpid();
	slots[idx].ppid = parent;
	for (int n = 0;; n++) {
		ck_wait_go(n);
		if (getpid() != slots[idx].pid || getppid() != slots[idx].ppid ||
		    ck_hash(data, DATA) != sum)
			atomic_store(&slots[idx].failed, n + 1);
		else
			atomic_store(&slots[idx].done, n);
	}
}

static pid_t spawn(int idx, pid_t parent, void (*fn)(int, pid_t))
{
	pid_t pid = fork();

	if (pid == 0) {
		fn(idx, parent);
		_exit(0);
	}
	if (pid < 0)
		ck_die("fork %d", idx);
	return pid;
}

static void kid_main(int idx, pid_t parent)
{
	for (int g = 0; g < GRAND; g++)
		spawn(idx + 1 + g, getpid(), proc_main);
	proc_main(idx, parent);
}

int main(int argc, char **argv)
{
	double end;

	ck_init(argc, argv);
	slots = mmap(NULL, NPROC * sizeof(*slots), PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (slots == MAP_FAILED)
		ck_die("mmap");
	for (int i = 0; i < NPROC; i++)
		atomic_store(&slots[i].done, -1);
	slots[0].pid = getpid();
	for (int k = 0; k < KIDS; k++)
		spawn(1 + k * (1 + GRAND), getpid(), kid_main);
	end = ck_now() + 10;
	for (int i = 1; i < NPROC; i++)
		while (!slots[i].pid && ck_now() < end)
			ck_sleep_us(1000);
	ck_ready();
	for (int n = 0;; n++) {
		int behind = 0, first = -1;

		ck_wait_go(n);
		end = ck_now() + 10;
		for (int i = 1; i < NPROC; i++) {
			while (atomic_load(&slots[i].done) < n && !atomic_load(&slots[i].failed) &&
			       ck_now() < end)
				ck_sleep_us(1000);
			if (atomic_load(&slots[i].done) < n) {
				behind++;
				if (first < 0)
					first = i;
			}
		}
		CK(behind == 0, "%d of %d processes did not pass check %d (first: #%d, pid %d, failed at %d)",
		   behind, NPROC - 1, n, first, first >= 0 ? slots[first].pid : 0,
		   first >= 0 ? atomic_load(&slots[first].failed) - 1 : -1);
		ck_report(n);
	}
}
