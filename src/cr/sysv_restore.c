/*
 * sysv_restore.c - recreating the SysV IPC objects of an image in a new
 * IPC namespace (see sysv_ipc.h).
 *
 * A helper child of the restorer unshares its IPC namespace and creates
 * each object with its old id: writing /proc/sys/kernel/{shm,sem,msg}_next_id
 * inside the namespace chooses the id of the next object created there.
 * Then owner and mode are set (the creator's ids, cuid and cgid, are the
 * restorer's, or the box root's for a boxed tree: the helper then makes
 * the namespace from inside the box's user namespace, which owns it).  A
 * segment is filled through the helper's own attach, and the restorer
 * opens a file of it from the helper's /proc/PID/map_files while it is
 * attached (that needs CAP_SYS_ADMIN in the host's user namespace, which
 * the boxed helper has not); the namespace itself is passed back with
 * SCM_RIGHTS; the
 * namespace lives on while the restorer holds that fd, and so do the
 * objects (no process is needed in it).  Queues get their messages in
 * order, with the namespace's msgmnb/msgmax raised meanwhile if the
 * queue held more than the defaults allow.  Times (shm_atime, sem_otime,
 * msg_stime...) and the last pids start afresh.  A segment that was
 * removed while attached is made with IPC_PRIVATE and removed again by
 * the restorer (joining the namespace) once the processes attached it.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/err.h"
#include "common/io.h"
#include "cr/sysv_ipc.h"

enum { MSG_NS, MSG_SHM, MSG_DONE };

struct helper_msg {
	uint32_t kind;                 /* MSG_* */
	uint32_t index;                /* MSG_SHM: img->shmem index */
	int32_t status;                /* MSG_DONE: 0 or -1 */
	uint64_t start, end;           /* MSG_SHM: where the helper attached it */
	char text[1024];               /* MSG_DONE -1: the error */
};

/* ---- in the helper ---- */

static int write_sysctl(const char *name, long v)
{
	char path[64], buf[32];
	int fd, n, rc = 0;

	snprintf(path, sizeof(path), "/proc/sys/kernel/%s", name);
	n = snprintf(buf, sizeof(buf), "%ld", v);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return err_sys("open %s", path);
	if (write(fd, buf, (size_t)n) != n)
		rc = err_sys("write %ld to %s", v, path);
	close(fd);
	return rc;
}

static int read_sysctl(const char *name, long *v)
{
	char path[64], buf[32];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/sys/kernel/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_sys("open %s", path);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return err_set("read %s", path);
	buf[n] = '\0';
	*v = strtol(buf, NULL, 10);
	return 0;
}

static int send_msg(int sock, const struct helper_msg *m, int fd)
{
	if (send_with_fd(sock, m, sizeof(*m), fd, 0) < 0)
		return err_sys("send to the restorer");
	return 0;
}

/* The next object of the kind created gets id; check that it did. */
static int check_id(const char *kind, int got, int want)
{
	if (got < 0)
		return err_sys("%sget", kind);
	if (got != want)
		return err_set("created with id %d, not %d", got, want);
	return 0;
}

static void set_owner(struct ipc_perm *k, const struct cr_ipc_perm *p)
{
	k->uid = p->uid;
	k->gid = p->gid;
	k->mode = (unsigned short)p->mode;
}

/* Tell the restorer where the segment is attached and wait until it has
 * opened a file of it there. */
static int hand_segment(int sock, uint32_t index, const uint8_t *m, uint64_t size)
{
	struct helper_msg msg = { .kind = MSG_SHM, .index = index,
				  .start = (uint64_t)(uintptr_t)m,
				  .end = (uint64_t)(uintptr_t)m + size };
	char ok = 0;
	ssize_t n;

	if (send_msg(sock, &msg, -1) < 0)
		return -1;
	do
		n = recv(sock, &ok, 1, 0);
	while (n < 0 && errno == EINTR);
	if (n != 1)
		return err_sys("wait for the restorer");
	return ok ? 0 : err_set("the restorer could not open a file of it");
}

static int make_segment(int sock, const struct cr_shmem *sh, uint32_t index,
			const uint8_t *pages)
{
	struct shmid_ds ds;
	int id, rc;
	uint8_t *m;

	if (write_sysctl("shm_next_id", sh->perm.id) < 0)
		return -1;
	id = shmget((key_t)sh->perm.key, sh->segsz, IPC_CREAT | IPC_EXCL | 0600);
	if (check_id("shm", id, sh->perm.id) < 0)
		return -1;
	m = shmat(id, NULL, 0);
	if (m == (void *)-1)
		return err_sys("shmat");
	for (uint32_t k = 0; k < sh->nr_runs; k++)
		memcpy(m + sh->runs[k].addr, pages + sh->runs[k].file_off,
		       sh->runs[k].nr_pages * CR_PAGE_SIZE);
	rc = hand_segment(sock, index, m, sh->size);
	if (shmdt(m) < 0 && rc == 0)
		rc = err_sys("shmdt");
	if (rc == 0 && shmctl(id, IPC_STAT, &ds) < 0)
		rc = err_sys("shmctl IPC_STAT");
	set_owner(&ds.shm_perm, &sh->perm);
	if (rc == 0 && shmctl(id, IPC_SET, &ds) < 0)
		rc = err_sys("shmctl IPC_SET");
	return rc;
}

static int make_sem(const struct cr_sem_set *s)
{
	struct semid_ds ds;
	int id;

	if (write_sysctl("sem_next_id", s->perm.id) < 0)
		return -1;
	id = semget((key_t)s->perm.key, (int)s->nsems, IPC_CREAT | IPC_EXCL | 0600);
	if (check_id("sem", id, s->perm.id) < 0)
		return -1;
	if (semctl(id, 0, SETALL, s->vals) < 0)
		return err_sys("semctl SETALL");
	if (semctl(id, 0, IPC_STAT, &ds) < 0)
		return err_sys("semctl IPC_STAT");
	set_owner(&ds.sem_perm, &s->perm);
	if (semctl(id, 0, IPC_SET, &ds) < 0)
		return err_sys("semctl IPC_SET");
	return 0;
}

static int send_messages(int id, const struct cr_msg_queue *q)
{
	size_t cap = 0;
	long *buf = NULL;
	int rc = 0;

	for (uint32_t i = 0; rc == 0 && i < q->nr_msgs; i++) {
		const struct cr_msg *m = &q->msgs[i];

		if (m->len > cap) {
			long *g = realloc(buf, sizeof(long) + m->len);

			if (!g) {
				rc = err_set("out of memory");
				break;
			}
			buf = g;
			cap = m->len;
		}
		if (!buf && !(buf = malloc(sizeof(long)))) {
			rc = err_set("out of memory");
			break;
		}
		buf[0] = (long)m->mtype;
		if (m->len)
			memcpy(buf + 1, m->data, m->len);
		if (msgsnd(id, buf, m->len, IPC_NOWAIT) < 0)
			rc = err_sys("msgsnd message %u (%llu bytes)", i,
				     (unsigned long long)m->len);
	}
	free(buf);
	return rc;
}

static int make_msgq(const struct cr_msg_queue *q)
{
	struct msqid_ds ds;
	int id;

	if (write_sysctl("msg_next_id", q->perm.id) < 0)
		return -1;
	id = msgget((key_t)q->perm.key, IPC_CREAT | IPC_EXCL | 0600);
	if (check_id("msg", id, q->perm.id) < 0 || send_messages(id, q) < 0)
		return -1;
	if (msgctl(id, IPC_STAT, &ds) < 0)
		return err_sys("msgctl IPC_STAT");
	set_owner(&ds.msg_perm, &q->perm);
	ds.msg_qbytes = q->qbytes;
	if (msgctl(id, IPC_SET, &ds) < 0)
		return err_sys("msgctl IPC_SET (qbytes %llu)", (unsigned long long)q->qbytes);
	return 0;
}

/* Raise msgmnb/msgmax while the queues are refilled (and their qbytes
 * set), then put them back. */
static int make_msgqs(const struct cr_image *img)
{
	long mnb, max, need_mnb = 0, need_max = 0;
	int rc = 0;

	if (!img->nr_msgqs)
		return 0;
	if (read_sysctl("msgmnb", &mnb) < 0 || read_sysctl("msgmax", &max) < 0)
		return -1;
	for (uint32_t i = 0; i < img->nr_msgqs; i++) {
		uint64_t total = 0;

		for (uint32_t k = 0; k < img->msgqs[i].nr_msgs; k++) {
			total += img->msgqs[i].msgs[k].len;
			if ((long)img->msgqs[i].msgs[k].len > need_max)
				need_max = (long)img->msgqs[i].msgs[k].len;
		}
		if ((long)total > need_mnb)
			need_mnb = (long)total;
		if ((long)img->msgqs[i].qbytes > need_mnb)
			need_mnb = (long)img->msgqs[i].qbytes;
	}
	if ((need_mnb > mnb && write_sysctl("msgmnb", need_mnb) < 0) ||
	    (need_max > max && write_sysctl("msgmax", need_max) < 0))
		return -1;
	for (uint32_t i = 0; rc == 0 && i < img->nr_msgqs; i++)
		if (make_msgq(&img->msgqs[i]) < 0)
			rc = err_wrap("SysV message queue key 0x%08x (%u messages)",
				      img->msgqs[i].perm.key, img->msgqs[i].nr_msgs);
	if (need_mnb > mnb && write_sysctl("msgmnb", mnb) < 0 && rc == 0)
		rc = -1;
	if (need_max > max && write_sysctl("msgmax", max) < 0 && rc == 0)
		rc = -1;
	return rc;
}

/* Become the root of a box's user namespace, so that the IPC namespace
 * made next is the box's and so are its objects' creators. */
static int enter_userns(int userns_fd)
{
	if (setns(userns_fd, CLONE_NEWUSER) < 0)
		return err_sys("enter the box's user namespace");
	if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
		return err_sys("become the box's root");
	return 0;
}

static int make_all(int sock, const struct cr_image *img, const uint8_t *pages, int userns_fd)
{
	int ns;

	if (userns_fd >= 0 && enter_userns(userns_fd) < 0)
		return -1;
	if (unshare(CLONE_NEWIPC) < 0)
		return err_sys("unshare(CLONE_NEWIPC)");
	ns = open("/proc/self/ns/ipc", O_RDONLY | O_CLOEXEC);
	if (ns < 0)
		return err_sys("open /proc/self/ns/ipc");
	if (send_msg(sock, &(struct helper_msg){ .kind = MSG_NS }, ns) < 0)
		return -1;
	for (uint32_t i = 0; i < img->nr_shmem; i++)
		if (img->shmem[i].sysv && make_segment(sock, &img->shmem[i], i, pages) < 0)
			return err_wrap("SysV shm key 0x%08x (%llu bytes)", img->shmem[i].perm.key,
					(unsigned long long)img->shmem[i].segsz);
	for (uint32_t i = 0; i < img->nr_sems; i++)
		if (make_sem(&img->sems[i]) < 0)
			return err_wrap("SysV semaphore set key 0x%08x (%u semaphores)",
					img->sems[i].perm.key, img->sems[i].nsems);
	return make_msgqs(img);
}

static void __attribute__((noreturn)) helper_main(int sock, const struct cr_image *img,
						  const uint8_t *pages, int userns_fd)
{
	struct helper_msg done = { .kind = MSG_DONE };

	if (make_all(sock, img, pages, userns_fd) < 0) {
		done.status = -1;
		snprintf(done.text, sizeof(done.text), "%s", err_msg());
	}
	_exit(send_msg(sock, &done, -1) < 0 ? 2 : 0);
}

/* ---- in the restorer ---- */

int sysv_restore_needed(const struct cr_image *img)
{
	for (uint32_t i = 0; i < img->nr_shmem; i++)
		if (img->shmem[i].sysv)
			return 1;
	for (uint32_t i = 0; i < img->nr_files; i++)
		if (img->files[i].kind == CR_FILE_MQUEUE)
			return 1;
	return img->nr_sems || img->nr_msgqs;
}

static int recv_msg(int sock, struct helper_msg *m, int *fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { m, sizeof(*m) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm;
	ssize_t n;

	*fd = -1;
	do
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return err_sys("SysV IPC helper: receive");
	if (n != (ssize_t)sizeof(*m))
		return err_set("SysV IPC helper ended without a verdict");
	cm = CMSG_FIRSTHDR(&mh);
	if (cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
		memcpy(fd, CMSG_DATA(cm), sizeof(int));
	m->text[sizeof(m->text) - 1] = '\0';
	return 0;
}

/* A file of the segment the helper has attached at [start, end). */
static int open_segment(int sock, pid_t helper, const struct helper_msg *m, int *fd)
{
	char path[96], ok;

	snprintf(path, sizeof(path), "/proc/%d/map_files/%llx-%llx", (int)helper,
		 (unsigned long long)m->start, (unsigned long long)m->end);
	*fd = open(path, O_RDWR | O_CLOEXEC);
	ok = *fd >= 0;
	if (!ok)
		err_sys("SysV IPC helper: open %s", path);
	if (send(sock, &ok, 1, MSG_NOSIGNAL) != 1) {
		if (ok)
			err_sys("SysV IPC helper: send");
		ok = 0;
	}
	if (!ok && *fd >= 0) {
		close(*fd);
		*fd = -1;
	}
	return ok ? 0 : -1;
}

/* Take the helper's fds until its verdict. */
static int collect(int sock, pid_t helper, const struct cr_image *img, int *ns_fd,
		   int *shm_fds)
{
	for (;;) {
		struct helper_msg m;
		int fd;

		if (recv_msg(sock, &m, &fd) < 0)
			return -1;
		if (m.kind == MSG_DONE)
			return m.status == 0 ? 0 : err_set("%s", m.text);
		if (m.kind == MSG_SHM && fd < 0 && open_segment(sock, helper, &m, &fd) < 0)
			return -1;
		if (fd < 0)
			return err_set("SysV IPC helper: message %u without a file", m.kind);
		if (m.kind == MSG_NS && *ns_fd < 0)
			*ns_fd = fd;
		else if (m.kind == MSG_SHM && m.index < img->nr_shmem && shm_fds[m.index] < 0)
			shm_fds[m.index] = fd;
		else {
			close(fd);
			return err_set("SysV IPC helper: unexpected message %u", m.kind);
		}
	}
}

int sysv_restore(const struct cr_image *img, const uint8_t *pages, int userns_fd, int *ns_fd,
		 int *shm_fds)
{
	int sv[2], rc;
	pid_t child;

	*ns_fd = -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return err_sys("SysV IPC helper: socketpair");
	child = fork();
	if (child < 0) {
		close(sv[0]);
		close(sv[1]);
		return err_sys("SysV IPC helper: fork");
	}
	if (child == 0) {
		close(sv[0]);
		helper_main(sv[1], img, pages, userns_fd);
	}
	close(sv[1]);
	rc = collect(sv[0], child, img, ns_fd, shm_fds);
	close(sv[0]);
	while (waitpid(child, NULL, 0) < 0 && errno == EINTR)
		;
	if (rc < 0) {
		for (uint32_t i = 0; i < img->nr_shmem; i++)
			if (img->shmem[i].sysv && shm_fds[i] >= 0) {
				close(shm_fds[i]);
				shm_fds[i] = -1;
			}
		if (*ns_fd >= 0)
			close(*ns_fd);
		*ns_fd = -1;
		return err_wrap("SysV IPC");
	}
	return 0;
}

int sysv_restore_finish(const struct cr_image *img, int ns_fd)
{
	int self = -1, rc = 0;

	for (uint32_t i = 0; rc == 0 && i < img->nr_shmem; i++) {
		const struct cr_shmem *sh = &img->shmem[i];

		if (sh->sysv != CR_SYSV_SHM_REMOVED)
			continue;
		if (self < 0) {
			self = open("/proc/thread-self/ns/ipc", O_RDONLY | O_CLOEXEC);
			if (self < 0)
				return err_sys("open /proc/thread-self/ns/ipc");
			if (setns(ns_fd, CLONE_NEWIPC) < 0) {
				close(self);
				return err_sys("join the restored IPC namespace");
			}
		}
		if (shmctl(sh->perm.id, IPC_RMID, NULL) < 0)
			rc = err_sys("SysV shm %d (%llu bytes, removed at dump): IPC_RMID",
				     sh->perm.id, (unsigned long long)sh->segsz);
	}
	if (self >= 0 && setns(self, CLONE_NEWIPC) < 0 && rc == 0)
		rc = err_sys("return to the restorer's IPC namespace");
	if (self >= 0)
		close(self);
	return rc;
}
