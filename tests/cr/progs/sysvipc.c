/*
 * sysvipc.c - SysV IPC objects of the tree's own IPC namespace keep their
 * ids, keys, modes, contents and attachments.
 *
 * - shm "pg": 56 bytes with a key (PostgreSQL's interlock segment),
 *   attached by the root and by a child (nattch 2): the child sees what
 *   the root writes after each check;
 * - shm "big": IPC_PRIVATE, 3 pages + 100 bytes, attached read-write;
 * - shm "idle": a key, never attached after it was filled (nattch 0);
 * - shm "dt": detached with shmdt and attached again at every check;
 * - shm "gone": attached, then removed (IPC_RMID): it lives on, marked
 *   SHM_DEST, while attached;
 * - shm "sparse": 64 MiB of which two pages were written (the image
 *   stores those only, and reading it leaves its holes alone: the
 *   namespace's shared memory stays under 1000 resident pages);
 * - a semaphore set of 3 (values 1+n, 7, 32767), mode 0640;
 * - a message queue (mode 0620, qbytes 10000) holding two messages, the
 *   oldest taken and sent back at every check.
 * The objects are made after others were made and removed, so their ids
 * are not the first ones.
 */
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/wait.h>

#include "check.h"

#define PG_KEY 0x00a7833e
#define IDLE_KEY 0x00001234
#define SEM_KEY 0x000005e5
#define MSG_KEY 0x000003e3
#define BIG_SIZE (3 * 4096 + 100)

#define SPARSE_SIZE (64u << 20)

static int pg_id, big_id, idle_id, dt_id, gone_id, sparse_id, sem_id, msg_id;
static unsigned char *pg, *big, *dt, *gone, *sparse;

static unsigned char pat(int seg, size_t i) { return (unsigned char)(i * 7 + seg * 31 + 1); }

static void fill(unsigned char *m, int seg, size_t len)
{
	for (size_t i = 0; i < len; i++)
		m[i] = pat(seg, i);
}

static int same(const unsigned char *m, int seg, size_t len, size_t skip)
{
	for (size_t i = 0; i < len; i++)
		if (i != skip && m[i] != pat(seg, i))
			return 0;
	return 1;
}

static void *attach(int id)
{
	void *m = shmat(id, NULL, 0);

	if (m == (void *)-1)
		ck_die("shmat %d", id);
	return m;
}

/* Burn a few ids of each kind so that the ones kept are not the first. */
static void burn_ids(void)
{
	for (int i = 0; i < 3; i++) {
		int s = shmget(IPC_PRIVATE, 4096, 0600), m = msgget(IPC_PRIVATE, 0600),
		    e = semget(IPC_PRIVATE, 1, 0600);

		if (s < 0 || m < 0 || e < 0 || shmctl(s, IPC_RMID, NULL) < 0 ||
		    msgctl(m, IPC_RMID, NULL) < 0 || semctl(e, 0, IPC_RMID) < 0)
			ck_die("burn ids");
	}
}

struct qmsg {
	long mtype;
	char text[3000];
};

/* cr spawn gives the tree an IPC namespace of its own: nothing in it yet
 * (and nothing of this test left behind in the host's). */
static void check_fresh_namespace(void)
{
	struct shm_info si;
	struct msginfo mi;
	struct seminfo se;

	if (shmctl(0, SHM_INFO, (struct shmid_ds *)&si) < 0 ||
	    msgctl(0, MSG_INFO, (struct msqid_ds *)&mi) < 0 ||
	    semctl(0, 0, SEM_INFO, &se) < 0)
		ck_die("*_INFO");
	if (si.used_ids || mi.msgpool || se.semusz)
		ck_die("not in a fresh IPC namespace: %d segments, %d queues, %d semaphore "
		       "sets exist", si.used_ids, mi.msgpool, se.semusz);
}

static void make_objects(void)
{
	unsigned short vals[3] = { 1, 7, 32767 };
	struct msqid_ds mq;
	struct qmsg m;
	unsigned char *idle;

	check_fresh_namespace();
	burn_ids();
	pg_id = shmget(PG_KEY, 56, IPC_CREAT | IPC_EXCL | 0600);
	big_id = shmget(IPC_PRIVATE, BIG_SIZE, 0640);
	idle_id = shmget(IDLE_KEY, 8192, IPC_CREAT | IPC_EXCL | 0604);
	dt_id = shmget(IPC_PRIVATE, 4096, 0600);
	gone_id = shmget(0x6011e, 5000, IPC_CREAT | IPC_EXCL | 0600);
	if (pg_id < 0 || big_id < 0 || idle_id < 0 || dt_id < 0 || gone_id < 0)
		ck_die("shmget");
	sparse_id = shmget(IPC_PRIVATE, SPARSE_SIZE, 0600);
	if (sparse_id < 0)
		ck_die("shmget sparse");
	sparse = attach(sparse_id);
	sparse[0] = 0x5a;
	sparse[SPARSE_SIZE / 2 + 7] = 0xa5;
	gone = attach(gone_id);
	fill(gone, 5, 5000);
	if (shmctl(gone_id, IPC_RMID, NULL) < 0)
		ck_die("IPC_RMID gone");
	pg = attach(pg_id);
	big = attach(big_id);
	dt = attach(dt_id);
	idle = attach(idle_id);
	fill(pg, 1, 56);
	pg[20] = 0;
	fill(big, 2, BIG_SIZE);
	fill(dt, 4, 4096);
	fill(idle, 3, 8192);
	if (shmdt(idle) < 0)
		ck_die("shmdt idle");
	sem_id = semget(SEM_KEY, 3, IPC_CREAT | IPC_EXCL | 0640);
	if (sem_id < 0 || semctl(sem_id, 0, SETALL, vals) < 0)
		ck_die("semaphores");
	msg_id = msgget(MSG_KEY, IPC_CREAT | IPC_EXCL | 0620);
	if (msg_id < 0 || msgctl(msg_id, IPC_STAT, &mq) < 0)
		ck_die("msgget");
	mq.msg_qbytes = 10000;
	if (msgctl(msg_id, IPC_SET, &mq) < 0)
		ck_die("msgctl IPC_SET");
	m.mtype = 1;
	memset(m.text, 'a', sizeof(m.text));
	if (msgsnd(msg_id, &m, 5, 0) < 0)
		ck_die("msgsnd 1");
	m.mtype = 5;
	memset(m.text, 'b', sizeof(m.text));
	if (msgsnd(msg_id, &m, sizeof(m.text), 0) < 0)
		ck_die("msgsnd 2");
}

static void check_shm(int id, key_t key, size_t size, unsigned mode, unsigned long nattch,
		      const char *name)
{
	struct shmid_ds ds;

	if (shmctl(id, IPC_STAT, &ds) < 0) {
		ck_fail("shm %s (id %d): IPC_STAT: %s", name, id, strerror(errno));
		return;
	}
	CK(ds.shm_perm.__key == key, "shm %s: key 0x%x, want 0x%x", name,
	   (unsigned)ds.shm_perm.__key, (unsigned)key);
	CK(ds.shm_segsz == size, "shm %s: size %zu, want %zu", name, ds.shm_segsz, size);
	CK((ds.shm_perm.mode & 0777) == mode, "shm %s: mode 0%o, want 0%o", name,
	   ds.shm_perm.mode & 0777, mode);
	CK(ds.shm_nattch == nattch, "shm %s: nattch %lu, want %lu", name,
	   (unsigned long)ds.shm_nattch, nattch);
	if (key != IPC_PRIVATE)
		CK(shmget(key, 0, 0) == id, "shm %s: shmget(0x%x) gives %d, want %d", name,
		   (unsigned)key, shmget(key, 0, 0), id);
}

static void check_sems(int n)
{
	unsigned short v[3] = { 0, 0, 0 };
	struct semid_ds ds;
	struct sembuf up = { 0, 1, 0 };

	CK(semget(SEM_KEY, 0, 0) == sem_id, "semget gives %d, want %d", semget(SEM_KEY, 0, 0),
	   sem_id);
	CK(semctl(sem_id, 0, IPC_STAT, &ds) == 0 && (ds.sem_perm.mode & 0777) == 0640 &&
	   ds.sem_nsems == 3, "semaphore set: mode 0%o, %lu semaphores",
	   ds.sem_perm.mode & 0777, (unsigned long)ds.sem_nsems);
	CK(semctl(sem_id, 0, GETALL, v) == 0 && v[0] == 1 + n && v[1] == 7 && v[2] == 32767,
	   "semaphores %u %u %u, want %d 7 32767", v[0], v[1], v[2], 1 + n);
	CK(semop(sem_id, &up, 1) == 0, "semop: %s", strerror(errno));
}

static void check_msgs(int n)
{
	struct msqid_ds ds;
	struct qmsg m;
	long want_type = n % 2 ? 5 : 1;
	size_t want_len = n % 2 ? sizeof(m.text) : 5;
	ssize_t got;

	CK(msgget(MSG_KEY, 0) == msg_id, "msgget gives %d, want %d", msgget(MSG_KEY, 0), msg_id);
	CK(msgctl(msg_id, IPC_STAT, &ds) == 0 && ds.msg_qnum == 2 && ds.msg_qbytes == 10000 &&
	   (ds.msg_perm.mode & 0777) == 0620, "queue: %lu messages, qbytes %lu, mode 0%o",
	   (unsigned long)ds.msg_qnum, (unsigned long)ds.msg_qbytes, ds.msg_perm.mode & 0777);
	got = msgrcv(msg_id, &m, sizeof(m.text), 0, IPC_NOWAIT);
	CK(got == (ssize_t)want_len && m.mtype == want_type &&
	   m.text[0] == (want_type == 1 ? 'a' : 'b') && m.text[got - 1] == m.text[0],
	   "oldest message: %zd bytes of type %ld, want %zu of type %ld", got, m.mtype,
	   want_len, want_type);
	if (got >= 0)
		CK(msgsnd(msg_id, &m, (size_t)got, IPC_NOWAIT) == 0, "msgsnd back: %s",
		   strerror(errno));
}

static void check_dt(void)
{
	struct shmid_ds ds;

	CK(shmdt(dt) == 0, "shmdt of a restored attach: %s", strerror(errno));
	CK(shmctl(dt_id, IPC_STAT, &ds) == 0 && ds.shm_nattch == 0, "shm dt: nattch %lu after shmdt",
	   (unsigned long)ds.shm_nattch);
	dt = shmat(dt_id, NULL, 0);
	if (dt == (void *)-1)
		ck_die("shmat dt again");
	CK(same(dt, 4, 4096, (size_t)-1), "shm dt: content changed");
}

static void check_gone(void)
{
	struct shmid_ds ds;

	CK(shmctl(gone_id, IPC_STAT, &ds) == 0 && (ds.shm_perm.mode & SHM_DEST) &&
	   ds.shm_nattch == 1 && ds.shm_perm.__key == IPC_PRIVATE && ds.shm_segsz == 5000,
	   "shm gone (removed while attached): mode 0%o nattch %lu key 0x%x: %s",
	   ds.shm_perm.mode, (unsigned long)ds.shm_nattch, (unsigned)ds.shm_perm.__key,
	   strerror(errno));
	CK(same(gone, 5, 5000, (size_t)-1), "shm gone: content changed");
}

static void __attribute__((noreturn)) child(void)
{
	if (shmdt(big) < 0 || shmdt(dt) < 0 || shmdt(gone) < 0 ||   /* fork attached them too */
	    shmdt(sparse) < 0)
		ck_die("child: shmdt");
	ck_child_report("child", -1);
	for (int n = 0;; n++) {
		ck_wait_go(n);
		CK(same(pg, 1, 56, 20), "child: shm pg content changed");
		CK(pg[20] == n, "child: shm pg byte 20 is %d, want %d", pg[20], n);
		ck_child_report("child", n);
	}
}

int main(int argc, char **argv)
{
	unsigned char *idle;
	pid_t kid;

	ck_init(argc, argv);
	make_objects();
	kid = fork();
	if (kid < 0)
		ck_die("fork");
	if (kid == 0)
		child();
	ck_collect("child", -1, 5);   /* it has detached what it does not use */
	if (ck_failures)
		ck_die("child: %s", ck_msg);
	ck_ready();
	for (int n = 0;; n++) {
		ck_wait_go(n);
		check_shm(pg_id, PG_KEY, 56, 0600, 2, "pg");
		check_shm(big_id, IPC_PRIVATE, BIG_SIZE, 0640, 1, "big");
		check_shm(idle_id, IDLE_KEY, 8192, 0604, 0, "idle");
		check_shm(dt_id, IPC_PRIVATE, 4096, 0600, 1, "dt");
		CK(same(pg, 1, 56, 20), "shm pg: content changed");
		CK(same(big, 2, BIG_SIZE, (size_t)-1), "shm big: content changed");
		idle = shmat(idle_id, NULL, SHM_RDONLY);
		CK(idle != (void *)-1 && same(idle, 3, 8192, (size_t)-1), "shm idle: content");
		if (idle != (void *)-1)
			shmdt(idle);
		check_dt();
		check_gone();
		{
			struct shm_info si;

			CK(shmctl(0, SHM_INFO, (struct shmid_ds *)&si) >= 0 && si.shm_rss < 1000,
			   "%lu pages of shared memory resident: the sparse segment's holes "
			   "were filled", (unsigned long)si.shm_rss);
		}
		CK(sparse[0] == 0x5a && sparse[SPARSE_SIZE / 2 + 7] == 0xa5 &&
		   sparse[SPARSE_SIZE / 4] == 0 && sparse[SPARSE_SIZE - 1] == 0,
		   "shm sparse: content changed");
		check_sems(n);
		check_msgs(n);
		ck_collect("child", n, 5);
		pg[20] = (unsigned char)(n + 1);
		ck_report(n);
	}
}
