/*
 * sysv_dump.c - reading the SysV IPC objects of a tree's own IPC namespace
 * (see sysv_ipc.h).
 *
 * The dumping thread joins the namespace with setns (it is per thread)
 * and walks each kind's index with *_STAT_ANY, leaving again before it
 * returns.  A segment is attached read-only by the dumper to read its
 * content (pages whole: the tail of the last page after shm_segsz too;
 * holes, found with SEEK_DATA on a file of it, are not read)
 * and its inode, through which the app's mappings refer to it (a segment
 * removed while still attached is read the same way); this moves
 * its shm_atime/shm_dtime/shm_lpid.  Messages are copied with MSG_COPY,
 * leaving the queue as it was.  Semaphore undo lists (SEM_UNDO) are not
 * carried.
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
#include <sys/stat.h>
#include <unistd.h>

#include "box/box.h"
#include "common/err.h"
#include "cr/sysv_ipc.h"

static int ns_ino(pid_t pid, struct stat *st)
{
	char path[64];

	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/ns/ipc", pid);
	else
		snprintf(path, sizeof(path), "/proc/thread-self/ns/ipc");
	if (stat(path, st) < 0)
		return err_sys("stat %s", path);
	return 0;
}

/* 1 if the tree has an IPC namespace of its own (all its processes). */
static int own_namespace(const struct dump_ctx *ctx)
{
	struct stat self, init, p;

	if (ns_ino(0, &self) < 0 || ns_ino(ctx->tasks[0].host_pid, &init) < 0)
		return -1;
	if (init.st_ino == self.st_ino && init.st_dev == self.st_dev)
		return 0;
	for (size_t i = 1; i < ctx->nr_tasks; i++) {
		if (ctx->tasks[i].zombie)
			continue;
		if (ns_ino(ctx->tasks[i].host_pid, &p) < 0)
			return -1;
		if (p.st_ino != init.st_ino)
			return err_set("pid %d: an IPC namespace other than its init's "
				       "(unsupported)", ctx->img.procs[i].pid);
	}
	return 1;
}

static void perm_of(const struct ipc_perm *k, int id, struct cr_ipc_perm *p)
{
	p->id = id;
	p->key = (uint32_t)k->__key;
	p->uid = k->uid;
	p->gid = k->gid;
	p->cuid = k->cuid;
	p->cgid = k->cgid;
	p->mode = k->mode & 0777;
}

static int add_shmem(struct cr_image *img, struct cr_shmem **out)
{
	struct cr_shmem *g = realloc(img->shmem, (img->nr_shmem + 1) * sizeof(*g));

	if (!g)
		return err_set("out of memory");
	img->shmem = g;
	*out = &g[img->nr_shmem++];
	memset(*out, 0, sizeof(**out));
	return 0;
}

/* Attach segment id read-only; its inode and content go into sh. */
static int read_segment(struct dump_ctx *ctx, int id, struct cr_shmem *sh)
{
	char path[96];
	struct stat st;
	void *m = shmat(id, NULL, SHM_RDONLY);
	int fd, rc;

	if (m == (void *)-1)
		return err_sys("shmat");
	snprintf(path, sizeof(path), "/proc/self/map_files/%lx-%lx", (unsigned long)m,
		 (unsigned long)m + (unsigned long)sh->size);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		rc = err_sys("open %s", path);
	} else {
		sh->dev = st.st_dev;
		sh->ino = st.st_ino;
		rc = dump_mem_object(ctx, sh, m, fd);
	}
	if (fd >= 0)
		close(fd);
	if (shmdt(m) < 0 && rc == 0)
		rc = err_sys("shmdt");
	return rc;
}

static int dump_shm(struct dump_ctx *ctx)
{
	struct shmid_ds ds;
	int max = shmctl(0, SHM_INFO, &ds);

	if (max < 0)
		return err_sys("shmctl SHM_INFO");
	for (int idx = 0; idx <= max; idx++) {
		struct cr_shmem *sh = NULL;
		int id = shmctl(idx, SHM_STAT_ANY, &ds);

		if (id < 0 && (errno == EINVAL || errno == EIDRM))
			continue;
		if (id < 0)
			return err_sys("shmctl %d SHM_STAT_ANY", idx);
		if (add_shmem(&ctx->img, &sh) < 0)
			return -1;
		sh->sysv = ds.shm_perm.mode & SHM_DEST ? CR_SYSV_SHM_REMOVED : CR_SYSV_SHM;
		perm_of(&ds.shm_perm, id, &sh->perm);
		sh->segsz = ds.shm_segsz;
		sh->size = (sh->segsz + CR_PAGE_SIZE - 1) & ~(uint64_t)(CR_PAGE_SIZE - 1);
		if (read_segment(ctx, id, sh) < 0)
			return err_wrap("SysV shm key 0x%08x (%zu bytes)",
					(unsigned)ds.shm_perm.__key, ds.shm_segsz);
	}
	return 0;
}

static int read_sem(int id, const struct semid_ds *ds, struct cr_sem_set *s)
{
	perm_of(&ds->sem_perm, id, &s->perm);
	s->nsems = (uint32_t)ds->sem_nsems;
	if (s->nsems == 0 || s->nsems > CR_SEM_MAX)
		return err_set("%u semaphores", s->nsems);
	s->vals = calloc(s->nsems, sizeof(*s->vals));
	if (!s->vals)
		return err_set("out of memory");
	if (semctl(id, 0, GETALL, s->vals) < 0)
		return err_sys("semctl GETALL");
	return 0;
}

static int dump_sem(struct cr_image *img)
{
	struct seminfo info;
	int max = semctl(0, 0, SEM_INFO, &info);

	if (max < 0)
		return err_sys("semctl SEM_INFO");
	for (int idx = 0; idx <= max; idx++) {
		struct semid_ds ds;
		struct cr_sem_set *g;
		int id = semctl(idx, 0, SEM_STAT_ANY, &ds);

		if (id < 0 && (errno == EINVAL || errno == EIDRM))
			continue;
		if (id < 0)
			return err_sys("semctl %d SEM_STAT_ANY", idx);
		g = realloc(img->sems, (img->nr_sems + 1) * sizeof(*g));
		if (!g)
			return err_set("out of memory");
		img->sems = g;
		memset(&g[img->nr_sems], 0, sizeof(*g));
		if (read_sem(id, &ds, &g[img->nr_sems++]) < 0)
			return err_wrap("SysV semaphore set key 0x%08x (%lu semaphores)",
					(unsigned)ds.sem_perm.__key, (unsigned long)ds.sem_nsems);
	}
	return 0;
}

struct msgbuf_any {
	long mtype;
	char mtext[];
};

/* Copy (MSG_COPY) every message of queue id, oldest first. */
static int read_msgs(int id, const struct msqid_ds *ds, struct cr_msg_queue *q)
{
	size_t cap = ds->__msg_cbytes + 1;
	struct msgbuf_any *buf = malloc(sizeof(*buf) + cap);
	int rc = 0;

	if (!buf)
		return err_set("out of memory");
	q->msgs = calloc(ds->msg_qnum ? ds->msg_qnum : 1, sizeof(*q->msgs));
	if (!q->msgs) {
		free(buf);
		return err_set("out of memory");
	}
	for (msgqnum_t i = 0; rc == 0 && i < ds->msg_qnum; i++) {
		ssize_t n = msgrcv(id, buf, cap, (long)i, IPC_NOWAIT | MSG_COPY);
		struct cr_msg *m = &q->msgs[q->nr_msgs];

		if (n < 0) {
			rc = err_sys("msgrcv MSG_COPY message %lu", (unsigned long)i);
			break;
		}
		m->mtype = buf->mtype;
		m->len = (uint64_t)n;
		m->data = malloc(n ? (size_t)n : 1);
		if (!m->data) {
			rc = err_set("out of memory");
			break;
		}
		memcpy(m->data, buf->mtext, (size_t)n);
		q->nr_msgs++;
	}
	free(buf);
	return rc;
}

static int dump_msg(struct cr_image *img)
{
	struct msginfo info;
	int max = msgctl(0, MSG_INFO, (struct msqid_ds *)&info);

	if (max < 0)
		return err_sys("msgctl MSG_INFO");
	for (int idx = 0; idx <= max; idx++) {
		struct msqid_ds ds;
		struct cr_msg_queue *g;
		int id = msgctl(idx, MSG_STAT_ANY, &ds);

		if (id < 0 && (errno == EINVAL || errno == EIDRM))
			continue;
		if (id < 0)
			return err_sys("msgctl %d MSG_STAT_ANY", idx);
		g = realloc(img->msgqs, (img->nr_msgqs + 1) * sizeof(*g));
		if (!g)
			return err_set("out of memory");
		img->msgqs = g;
		memset(&g[img->nr_msgqs], 0, sizeof(*g));
		perm_of(&ds.msg_perm, id, &g[img->nr_msgqs].perm);
		g[img->nr_msgqs].qbytes = ds.msg_qbytes;
		if (read_msgs(id, &ds, &g[img->nr_msgqs++]) < 0)
			return err_wrap("SysV message queue key 0x%08x (%lu messages)",
					(unsigned)ds.msg_perm.__key, (unsigned long)ds.msg_qnum);
	}
	return 0;
}

int sysv_dump(struct dump_ctx *ctx)
{
	char path[64];
	int own = own_namespace(ctx), self, target, rc;

	if (own <= 0)
		return own;
	ctx->img.ipc_ns = 1;
	self = open("/proc/thread-self/ns/ipc", O_RDONLY | O_CLOEXEC);
	if (self < 0)
		return err_sys("open /proc/thread-self/ns/ipc");
	snprintf(path, sizeof(path), "/proc/%d/ns/ipc", ctx->tasks[0].host_pid);
	target = open(path, O_RDONLY | O_CLOEXEC);
	if (target < 0 || setns(target, CLONE_NEWIPC) < 0) {
		rc = err_sys("join the tree's IPC namespace %s", path);
		if (target >= 0)
			close(target);
		close(self);
		return rc;
	}
	close(target);
	rc = dump_shm(ctx);
	if (rc == 0)
		rc = dump_sem(&ctx->img);
	if (rc == 0)
		rc = dump_msg(&ctx->img);
	if (setns(self, CLONE_NEWIPC) < 0 && rc == 0)
		rc = err_sys("return to the dumper's IPC namespace");
	close(self);
	return rc;
}

static void perm_across(struct cr_ipc_perm *p, const struct box *b, int inside)
{
	uint32_t (*map)(const struct box *, uint32_t) = inside ? box_id_inside : box_id_outside;

	p->uid = map(b, p->uid);
	p->gid = map(b, p->gid);
	p->cuid = map(b, p->cuid);
	p->cgid = map(b, p->cgid);
}

void sysv_ids_across(struct cr_image *img, const struct box *b, int inside)
{
	for (uint32_t i = 0; i < img->nr_shmem; i++)
		if (img->shmem[i].sysv)
			perm_across(&img->shmem[i].perm, b, inside);
	for (uint32_t i = 0; i < img->nr_sems; i++)
		perm_across(&img->sems[i].perm, b, inside);
	for (uint32_t i = 0; i < img->nr_msgqs; i++)
		perm_across(&img->msgqs[i].perm, b, inside);
}
