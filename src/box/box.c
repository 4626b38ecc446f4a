/*
 * box.c - a box's life: create (all parts or none, or ahead of its
 * image: asleep, its address and ports only), open its record, enter
 * it, find the box of a process, list and destroy boxes.  The parts are
 * in cgroup.c, rootfs.c, netns.c, nft.c and clone.c; the record in
 * config.c; the locks in lock.c.
 */
#define _XOPEN_SOURCE 700
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <net/if.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <linux/magic.h>
#include <unistd.h>

#include "box/box_int.h"
#include "box/hold.h"
#include "common/err.h"
#include "common/timing.h"

static int is_awake(const struct box *b);
static int remove_tree(const char *path);

static int mkdirs(const char *path)
{
	char buf[BOX_PATH_MAX];

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return err_sys("mkdir %s", buf);
		*p = '/';
	}
	if (mkdir(buf, 0700) < 0 && errno != EEXIST)
		return err_sys("mkdir %s", buf);
	return 0;
}

static int check_dir(const char *dir)
{
	if (dir[0] != '/' || strstr(dir, "/..") || strpbrk(dir, ",:\\\n") ||
	    strlen(dir) > BOX_PATH_MAX - 64)
		return err_set("box dir '%s': an absolute path without , : \\ or ..", dir);
	return 0;
}

static int bind_probe(int family, const struct sockaddr *sa, socklen_t len, const struct box_port *p)
{
	int one = 1, fd = socket(family, (p->udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return err_sys("socket");
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, sa, len) < 0) {
		int e = errno;

		close(fd);
		errno = e;
		return err_sys("port %u/%s", p->host_port, p->udp ? "udp" : "tcp");
	}
	close(fd);
	return 0;
}

/* A published host port that a host process already uses is refused: on
 * its IPv4 address, its IPv6 one, or both for every address (IPv6 only if
 * the box has it). */
static int check_port_free(const struct box_port *p, int ipv6)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(p->host_port),
				  .sin_addr.s_addr = p->host_addr };
	struct sockaddr_in6 sa6 = { .sin6_family = AF_INET6, .sin6_port = htons(p->host_port) };

	if (p->v6 && !ipv6)
		return err_set("port %u/%s: an IPv6 host address for a box without IPv6",
			       p->host_port, p->udp ? "udp" : "tcp");
	memcpy(&sa6.sin6_addr, p->host_addr6, 16);
	if (!p->v6 && bind_probe(AF_INET, (struct sockaddr *)&sa, sizeof(sa), p) < 0)
		return -1;
	if ((p->v6 || (ipv6 && !p->host_addr)) &&
	    bind_probe(AF_INET6, (struct sockaddr *)&sa6, sizeof(sa6), p) < 0)
		return -1;
	return 0;
}

static int check_config(const struct box_config *c)
{
	uint32_t mask = c->prefix ? ~0u << (32 - c->prefix) : 0;

	if (!box_name_valid(c->name))
		return err_set("bad box name '%s'", c->name);
	if (check_dir(c->dir) < 0 || rootfs_check(c->rootfs) < 0)
		return -1;
	if (c->prefix < 8 || c->prefix > 30 || (ntohl(c->subnet) & ~mask))
		return err_set("bad subnet (a network address with a prefix of 8..30)");
	if (!c->bridge[0] || strlen(c->bridge) > 15 || strchr(c->bridge, '/'))
		return err_set("bad bridge name '%s'", c->bridge);
	for (int i = 0; i < c->nr_ports; i++)
		if (check_port_free(&c->ports[i], c->prefix6 >= 0) < 0)
			return -1;
	return 0;
}

/* An address a box of another boxes dir (another daemon's) uses: its veth
 * is there. */
static int addr_has_veth(uint32_t host_order)
{
	char name[IF_NAMESIZE];

	snprintf(name, sizeof(name), "pc%08x", host_order);
	return if_nametoindex(name) != 0;
}

/* want if it is a free host address of the subnet, else the first free
 * one (.1 is the bridge's); free: no box of this dir has it, no veth of a
 * box elsewhere has it, and it is not in the machine's `boxes` set (an
 * asleep box of another boxes dir, another daemon's, has no veth). */
static int alloc_addr(const struct box_config *c, uint32_t want, uint32_t *addr)
{
	uint32_t base = ntohl(c->subnet), n = 1u << (32 - c->prefix);
	uint8_t *used = calloc(n, 1);
	struct dirent *e;
	DIR *d;

	if (!used)
		return err_set("out of memory");
	d = opendir(c->dir);
	if (!d) {
		free(used);
		return err_sys("open %s", c->dir);
	}
	while ((e = readdir(d))) {
		char path[BOX_PATH_MAX + 256];
		struct box o;

		if (e->d_name[0] == '.' || !box_name_valid(e->d_name))
			continue;
		snprintf(path, sizeof(path), "%s/%s", c->dir, e->d_name);
		if (box_record_read(path, &o) == 0 && ntohl(o.addr) - base < n)
			used[ntohl(o.addr) - base] = 1;
	}
	closedir(d);
	if (nft_mark_taken(base, n, used) < 0) {   /* boxes of other box dirs */
		free(used);
		return -1;
	}
	err_clear();
	if (want && ntohl(want) - base >= 2 && ntohl(want) - base < n - 1 &&
	    !used[ntohl(want) - base] && !addr_has_veth(ntohl(want))) {
		*addr = want;
		free(used);
		return 0;
	}
	for (uint32_t i = 2; i < n - 1; i++)
		if (!used[i] && !addr_has_veth(base + i)) {
			*addr = htonl(base + i);
			free(used);
			return 0;
		}
	free(used);
	return err_set("no free address in the subnet");
}

static int fill_box(const struct box_config *cfg, uint32_t addr, uint32_t uid_base,
		    struct box *b)
{
	memset(b, 0, sizeof(*b));
	b->cfg = *cfg;
	if ((size_t)snprintf(b->path, sizeof(b->path), "%s/%s", cfg->dir, cfg->name) >=
	    sizeof(b->path))
		return err_set("box path too long");
	if (alloc_addr(cfg, addr, &b->addr) < 0 || uidrange_alloc(cfg, uid_base, &b->uid_base) < 0)
		return -1;
	subnet6_resolve(&b->cfg);
	if (box_has_ipv6(b))
		addr6_of(&b->cfg, b->addr, b->addr6);
	snprintf(b->veth, sizeof(b->veth), "pc%08x", ntohl(b->addr));
	return cg_plan(cfg->dir, cfg->name, &b->cg);
}

/* The writable layer saved in an image, unpacked before the mount. */
static int unpack_layer(const struct box *b, const char *layer)
{
	char upper[BOX_PATH_MAX + 8];

	if (!layer)
		return 0;
	snprintf(upper, sizeof(upper), "%s/upper", b->path);
	if (mkdir(upper, 0755) < 0 && errno != EEXIST)
		return err_sys("mkdir %s", upper);
	return box_layer_load(b, layer, upper);
}

/* A step of a box's making run in a thread beside the others: fn(arg),
 * its result and error kept for side_join (run at once if no thread). */
struct side {
	int (*fn)(void *arg);
	void *arg;
	pthread_t thread;
	int started, rc;
	struct err_saved why;
};

static void *side_run(void *arg)
{
	struct side *s = arg;

	s->rc = s->fn(s->arg);
	if (s->rc < 0)
		err_save(&s->why);
	return NULL;
}

static void side_start(struct side *s)
{
	s->started = pthread_create(&s->thread, NULL, side_run, s) == 0;
	if (!s->started)
		side_run(s);
}

/* Wait for the step; rc (the other steps' result) if they failed, else
 * the step's (its error set again). */
static int side_join(struct side *s, int rc)
{
	if (s->started)
		pthread_join(s->thread, NULL);
	if (rc == 0 && s->rc < 0)
		return err_restore(&s->why);
	return rc;
}

/* The box's nftables elements, added beside its namespaces, root and
 * cgroups: they name its address and ports only.  The machine-wide lock
 * is never waited for meanwhile. */
static int publish(void *b)
{
	return nft_box_add(b);
}

/* The box's network, made beside its root and cgroups: those need its
 * user namespace only (made first). */
struct linking {
	const struct box *b;
	pid_t holder;
};

static int link_net(void *arg)
{
	struct linking *l = arg;

	return netns_link(l->b, l->holder);
}

static void mark(const char *what, const char *step)
{
	char m[64];

	snprintf(m, sizeof(m), "%s: %s", what, step);
	timing_mark(m);
}

/* Namespaces, then the network beside the root and the cgroups
 * (PICOCENTER_TIMING: "<what>: namespaces", "root", "cgroups", "network
 * joined"); on failure what was made stays for the caller to remove.
 * fresh: a box being made, not woken (rootfs_mount). */
static int make_awake(const struct box *b, const char *what, int fresh)
{
	struct linking l = { .b = b };
	struct side net = { .fn = link_net, .arg = &l };
	int rc;

	if (netns_make(b, &l.holder) < 0)
		return -1;
	mark(what, "namespaces");
	side_start(&net);
	rc = rootfs_mount(b, fresh);
	mark(what, "root");
	if (rc == 0) {
		rc = cg_create(b);
		mark(what, "cgroups");
	}
	rc = side_join(&net, rc);
	mark(what, "network joined");
	return rc;
}

/* The rest of the box, but its elements; *machine (the machine-wide
 * lock) is closed once the veth exists. */
static int make_rest(struct box *b, int *machine)
{
	int rc = make_awake(b, "box create", 1);

	close(*machine);
	*machine = -1;
	return rc;
}

static int build(struct box *b, const char *layer, int *machine)
{
	struct side p = { .fn = publish, .arg = b };
	int rc;

	timing_mark("box create: address and ids");
	if (box_record_write(b) < 0 || unpack_layer(b, layer) < 0)
		return -1;
	side_start(&p);
	rc = make_rest(b, machine);
	rc = side_join(&p, rc);
	timing_mark("box create: nftables joined");
	return rc;
}

/* In BOXES/NAME of a box made ahead of its image (box_create_ahead). */
#define AHEAD_MARK "ahead"

static int is_ahead(const struct box *b)
{
	char path[BOX_PATH_MAX + 16];

	snprintf(path, sizeof(path), "%s/" AHEAD_MARK, b->path);
	return access(path, F_OK) == 0;
}

/* A box ahead of its image: its record, the mark, the bridge (the route
 * its held packets take), the hold armed for its address in queue, then
 * its nftables elements (its address and published ports: a packet they
 * send to the box before the hold is armed would wait for a neighbour
 * that never answers, and the client would retransmit a second later),
 * nothing awake.  The machine-wide lock is held until the elements
 * exist: without a veth, they alone tell other box dirs that its address
 * is taken. */
static int build_ahead(struct box *b, int queue)
{
	char path[BOX_PATH_MAX + 16];
	int fd;

	if (box_record_write(b) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/" AHEAD_MARK, b->path);
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return err_sys("create %s", path);
	close(fd);
	if (netns_bridge_ensure(b) < 0 || hold_arm(queue, b->addr) < 0)
		return -1;
	if (nft_box_add(b) < 0) {
		struct err_saved e;

		err_save(&e);
		hold_disarm(queue, b->addr);
		return err_restore(&e);
	}
	return 0;
}

/* Create the box cfg describes, with the address addr if it is free (0:
 * any) and the writable layer in the file layer (NULL: empty); with
 * ahead (a hold queue, else -1), asleep and marked as made ahead of its
 * image (box_create_ahead). */
static int create_box(const struct box_config *cfg, uint32_t addr, uint32_t uid_base,
		      const char *layer, int ahead, struct box *b)
{
	char path[BOX_PATH_MAX + 64];
	int lock, machine, rc;

	if (check_config(cfg) < 0 || mkdirs(cfg->dir) < 0)
		return err_wrap("box %s", cfg->name);
	lock = box_lock_dir(cfg->dir);
	if (lock < 0)
		return -1;
	machine = box_lock_machine();
	if (machine < 0) {
		close(lock);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/%s", cfg->dir, cfg->name);
	if (mkdir(path, 0700) < 0) {
		close(machine);
		close(lock);
		return errno == EEXIST ? err_set("box %s exists", cfg->name)
				       : err_sys("mkdir %s", path);
	}
	rc = fill_box(cfg, addr, uid_base, b);
	if (rc == 0)
		rc = ahead >= 0 ? build_ahead(b, ahead) : build(b, layer, &machine);
	if (rc < 0) {
		struct err_saved e;

		err_save(&e);
		if (machine >= 0)       /* not held while waiting for nft.lock */
			close(machine);
		machine = -1;
		if (!b->path[0])
			memcpy(b->path, path, sizeof(b->path) - 1);
		b->cfg = *cfg;
		subnet6_resolve(&b->cfg);  /* as fill_box did: its IPv6 elements too */
		box_destroy(b);
		err_restore(&e);
	}
	if (machine >= 0)
		close(machine);
	close(lock);
	return rc < 0 ? err_wrap("box %s", cfg->name) : 0;
}

int box_create(const struct box_config *cfg, struct box *b)
{
	return create_box(cfg, 0, 0, NULL, -1, b);
}

int box_create_ahead(const struct box_config *cfg, int hold_queue, uint32_t addr, struct box *b)
{
	if (hold_queue < 0)
		return err_set("box %s ahead of its image: no hold queue", cfg->name);
	return create_box(cfg, addr, 0, NULL, hold_queue, b);
}

/* The box's tmpfs mounts, /dev/shm (POSIX shared memory, named
 * semaphores) and /run (pid files, sockets' names, /run/sshd...), go with
 * the image, so that a box made again (asleep, another machine) has them
 * back; the engine then maps /dev/shm's files from there (restore.c). */
static const struct {
	const char *dir, *file;
} tmpfs_kept[] = { { "dev/shm", BOX_IMAGE_SHM }, { "run", BOX_IMAGE_RUN } };
#define NR_TMPFS_KEPT (sizeof(tmpfs_kept) / sizeof(tmpfs_kept[0]))

static int save_tmpfs(const struct box *b, const char *img)
{
	char dir[BOX_PATH_MAX + 16], path[4200];
	struct statfs fs;

	for (size_t i = 0; i < NR_TMPFS_KEPT; i++) {
		snprintf(dir, sizeof(dir), "%s/root/%s", b->path, tmpfs_kept[i].dir);
		if (statfs(dir, &fs) < 0 || fs.f_type != TMPFS_MAGIC)
			continue;       /* not awake (or made before /run was) */
		snprintf(path, sizeof(path), "%s/%s", img, tmpfs_kept[i].file);
		if (box_tree_save(b, dir, path) < 0)
			return err_wrap("save /%s of box %s", tmpfs_kept[i].dir, b->cfg.name);
	}
	return 0;
}

/* Put an image's /dev/shm and /run into a box just made or woken. */
static int load_tmpfs(const struct box *b, const char *img)
{
	char dir[BOX_PATH_MAX + 16], path[4200];

	for (size_t i = 0; i < NR_TMPFS_KEPT; i++) {
		snprintf(path, sizeof(path), "%s/%s", img, tmpfs_kept[i].file);
		if (access(path, F_OK) < 0)
			continue;       /* an image made before it was saved */
		snprintf(dir, sizeof(dir), "%s/root/%s", b->path, tmpfs_kept[i].dir);
		if (box_layer_load(b, path, dir) < 0)
			return err_wrap("box %s: put back its /%s", b->cfg.name,
					tmpfs_kept[i].dir);
	}
	return 0;
}

int box_save(const struct box *b, const char *dir)
{
	char path[4200];

	snprintf(path, sizeof(path), "%s/" BOX_IMAGE_CONFIG, dir);
	if (box_record_save(b, path) < 0)
		return err_wrap("save box %s", b->cfg.name);
	snprintf(path, sizeof(path), "%s/" BOX_IMAGE_LAYER, dir);
	if (box_layer_save(b, path) < 0)
		return -1;
	return save_tmpfs(b, dir);
}

/* A box made again from an image another daemon stored hides this
 * daemon's state dir (its boxes dir's parent), not the other one's, and
 * its log is made if missing: where the record says when the box is made
 * from the image alone (the restored tree has it open there), this
 * daemon's own when the box was made ahead (log_at: seen in the box at
 * the record's path). */
static int settle_here(struct box_config *cfg)
{
	const char *slash = strrchr(cfg->dir, '/');
	char parent[BOX_PATH_MAX];
	char *end;
	int fd;

	if (cfg->hide[0] && slash && slash != cfg->dir)
		snprintf(cfg->hide, sizeof(cfg->hide), "%.*s", (int)(slash - cfg->dir), cfg->dir);
	if (!cfg->log[0] || access(cfg->log, F_OK) == 0)
		return 0;
	snprintf(parent, sizeof(parent), "%s", cfg->log);
	end = strrchr(parent, '/');
	if (end && end != parent) {
		*end = '\0';
		if (mkdirs(parent) < 0)
			return err_wrap("box %s: its log's dir", cfg->name);
	}
	fd = open(cfg->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0)
		return err_sys("box %s: create its log %s", cfg->name, cfg->log);
	close(fd);
	return 0;
}

static int same_ports(const struct box_config *x, const struct box_config *y)
{
	if (x->nr_ports != y->nr_ports)
		return 0;
	for (int i = 0; i < x->nr_ports; i++) {
		const struct box_port *p = &x->ports[i], *q = &y->ports[i];

		if (p->host_addr != q->host_addr || memcmp(p->host_addr6, q->host_addr6, 16) ||
		    p->v6 != q->v6 || p->host_port != q->host_port ||
		    p->app_port != q->app_port || p->udp != q->udp)
			return 0;
	}
	return 1;
}

/* A box made ahead of its image (asleep) takes what the image's record
 * says of its root, log and limits, and the image's writable layer; its
 * address, ids and ports stay (they must be what the record has, but
 * the address and ids).  A failure leaves it ahead, its upper empty. */
static int settle_ahead(struct box *b, const char *img, const char *conf)
{
	char layer[4200], upper[BOX_PATH_MAX + 8], mark[BOX_PATH_MAX + 16];
	struct box saved;
	int rc;

	if (access(conf, F_OK) < 0)
		return err_set("box %s was made for an image, and image %s has no box record",
			       b->cfg.name, img);
	if (box_record_load(conf, img, &saved) < 0)
		return err_wrap("box of image %s", img);
	if (strcmp(saved.cfg.name, b->cfg.name) || !same_ports(&saved.cfg, &b->cfg) ||
	    saved.cfg.uids != b->cfg.uids || saved.cfg.no_egress != b->cfg.no_egress)
		return err_set("image %s: its box record (%s) does not match the box made ahead "
			       "for it (name, ports, ids or egress)", img, saved.cfg.name);
	memcpy(b->cfg.rootfs, saved.cfg.rootfs, sizeof(b->cfg.rootfs));
	/* the log is this daemon's own file, seen in the box where the
	 * image's fds name it */
	if (!b->cfg.log[0])
		memcpy(b->cfg.log, saved.cfg.log, sizeof(b->cfg.log));
	else if (saved.cfg.log[0])
		snprintf(b->cfg.log_at, sizeof(b->cfg.log_at), "%s",
			 saved.cfg.log_at[0] ? saved.cfg.log_at : saved.cfg.log);
	if (!strcmp(b->cfg.log_at, b->cfg.log))
		b->cfg.log_at[0] = '\0';
	b->cfg.memory = saved.cfg.memory;
	b->cfg.pids = saved.cfg.pids;
	b->cfg.cpu_weight = saved.cfg.cpu_weight;
	if (rootfs_check(b->cfg.rootfs) < 0 || settle_here(&b->cfg) < 0)
		return err_wrap("box %s", b->cfg.name);
	snprintf(upper, sizeof(upper), "%s/upper", b->path);
	snprintf(layer, sizeof(layer), "%s/" BOX_IMAGE_LAYER, img);
	rc = unpack_layer(b, access(layer, F_OK) == 0 ? layer : NULL);
	if (rc == 0)
		rc = box_record_write(b);
	if (rc < 0) {
		struct err_saved e;

		err_save(&e);
		remove_tree(upper);
		return err_restore(&e);
	}
	snprintf(mark, sizeof(mark), "%s/" AHEAD_MARK, b->path);
	if (unlink(mark) < 0)
		return err_sys("remove %s", mark);
	return 0;
}

int box_wants_layer(const char *dir, const char *name)
{
	char path[BOX_PATH_MAX + 64];

	if (!dir)
		dir = BOX_DEFAULT_DIR;
	if (check_dir(dir) < 0 || !box_name_valid(name))
		return 1;    /* box_for_image says what is wrong */
	snprintf(path, sizeof(path), "%s/%s/config", dir, name);
	if (access(path, F_OK) < 0)
		return 1;
	snprintf(path, sizeof(path), "%s/%s/" AHEAD_MARK, dir, name);
	return access(path, F_OK) == 0;
}

int box_for_image(const char *img, const char *dir, const char *name, struct box *b)
{
	char conf[4200], layer[4200], path[BOX_PATH_MAX + 64];
	struct box saved;

	if (!dir)
		dir = BOX_DEFAULT_DIR;
	if (check_dir(dir) < 0 || !box_name_valid(name))
		return err_set("bad box name '%s'", name);
	snprintf(path, sizeof(path), "%s/%s/config", dir, name);
	snprintf(conf, sizeof(conf), "%s/" BOX_IMAGE_CONFIG, img);
	if (access(path, F_OK) == 0 || access(conf, F_OK) < 0) {
		int awake;

		if (box_open(dir, name, b) < 0)
			return -1;
		awake = is_awake(b);
		if (is_ahead(b) && settle_ahead(b, img, conf) < 0)
			return -1;
		if (box_wake(b) < 0)
			return -1;
		return awake ? 0 : load_tmpfs(b, img);
	}
	/* Not here: made again from the image, its layer included. */
	if (box_record_load(conf, img, &saved) < 0)
		return err_wrap("box of image %s", img);
	if (strcmp(saved.cfg.name, name))
		return err_set("image %s: its box record names %s, not %s", img, saved.cfg.name, name);
	snprintf(saved.cfg.dir, sizeof(saved.cfg.dir), "%s", dir);
	if (settle_here(&saved.cfg) < 0)
		return -1;
	snprintf(layer, sizeof(layer), "%s/" BOX_IMAGE_LAYER, img);
	if (create_box(&saved.cfg, saved.addr, saved.uid_base, layer, -1, b) < 0)
		return -1;
	b->made = 1;
	return load_tmpfs(b, img);
}

int box_open(const char *dir, const char *name, struct box *b)
{
	char path[BOX_PATH_MAX + 64];

	if (!dir)
		dir = BOX_DEFAULT_DIR;
	if (check_dir(dir) < 0)
		return -1;
	if (!box_name_valid(name))
		return err_set("bad box name '%s'", name);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (box_record_read(path, b) < 0)
		return err_wrap("box %s", name);
	if (strcmp(b->cfg.name, name))
		return err_set("box %s: its record names %s", name, b->cfg.name);
	snprintf(b->cfg.dir, sizeof(b->cfg.dir), "%s", dir);
	return 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if ((flag == FTW_DP ? rmdir(path) : unlink(path)) < 0 && errno != ENOENT)
		return err_sys("remove %s", path);
	return 0;
}

/* Remove the box dir; FTW_MOUNT: never into a mount left behind. */
static int remove_tree(const char *path)
{
	if (access(path, F_OK) < 0)
		return 0;
	if (nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) != 0)
		return err_msg()[0] ? -1 : err_sys("remove %s", path);
	return 0;
}

int box_destroy(const struct box *b)
{
	int rc = 0;

	err_clear();
	if (nft_box_del(b) < 0)
		rc = -1;
	if (cg_destroy(&b->cg) < 0)
		rc = -1;
	if (netns_destroy(b) < 0)
		rc = -1;
	if (rootfs_unmount(b) < 0)
		rc = -1;
	if (rc == 0 && remove_tree(b->path) < 0)
		rc = -1;
	if (rc == 0)
		uidrange_forget_dir(b->cfg.dir);
	return rc < 0 ? err_wrap("remove box %s", b->cfg.name) : 0;
}

int box_remove(const char *dir, const char *name)
{
	struct box b;

	if (!dir)
		dir = BOX_DEFAULT_DIR;
	if (box_open(dir, name, &b) < 0) {
		char path[BOX_PATH_MAX + 64];

		snprintf(path, sizeof(path), "%s/%s", dir, name);
		if (!box_name_valid(name) || check_dir(dir) < 0 || access(path, F_OK) < 0)
			return -1;
		/* No usable record: remove what its name alone finds. */
		memset(&b, 0, sizeof(b));
		snprintf(b.cfg.name, sizeof(b.cfg.name), "%s", name);
		snprintf(b.cfg.dir, sizeof(b.cfg.dir), "%s", dir);
		memcpy(b.path, path, sizeof(b.path) - 1);
		if (cg_plan(dir, name, &b.cg) < 0 || box_destroy(&b) < 0)
			return -1;
		/* Its elements, unknown without its address: what no box owns. */
		return box_prune(dir, NULL, 0, NULL) < 0 ? err_wrap("box %s", name) : 0;
	}
	return box_destroy(&b);
}

int box_list(const char *dir, FILE *out)
{
	struct dirent *e;
	DIR *d;

	if (!dir)
		dir = BOX_DEFAULT_DIR;
	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : err_sys("open %s", dir);
	while ((e = readdir(d))) {
		char a[INET_ADDRSTRLEN], a6[INET6_ADDRSTRLEN] = "-";
		struct box b;

		if (e->d_name[0] == '.' || !box_name_valid(e->d_name))
			continue;
		if (box_open(dir, e->d_name, &b) < 0) {
			fprintf(out, "%-24s (broken: %s)\n", e->d_name, err_msg());
			continue;
		}
		if (box_has_ipv6(&b))
			addr6_text(b.addr6, a6);
		fprintf(out, "%-24s %-15s %-5d %-6s %s %s\n", b.cfg.name,
			inet_ntop(AF_INET, &b.addr, a, sizeof(a)), is_awake(&b) ? cg_nr_procs(&b.cg) : 0,
			is_awake(&b) ? "awake" : "asleep", b.cfg.rootfs, a6);
	}
	closedir(d);
	err_clear();
	return 0;
}

/* A box is awake while its network namespace and its root are mounted. */
static int is_awake(const struct box *b)
{
	char path[BOX_PATH_MAX + 16];
	struct statfs fs;

	snprintf(path, sizeof(path), "%s/ns/net", b->path);
	if (statfs(path, &fs) < 0 || fs.f_type != NSFS_MAGIC)
		return 0;
	snprintf(path, sizeof(path), "%s/root", b->path);
	return statfs(path, &fs) == 0 && fs.f_type == OVERLAYFS_SUPER_MAGIC;
}

/* Everything of an awake box but its record, layer and rules. */
static int take_down(const struct box *b)
{
	if (cg_destroy(&b->cg) < 0 || netns_destroy(b) < 0 || rootfs_unmount(b) < 0)
		return -1;
	return 0;
}

int box_sleep(const struct box *b)
{
	int n = cg_nr_procs(&b->cg);

	if (n > 0)
		return err_set("box %s: %d processes still run in it", b->cfg.name, n);
	err_clear();
	return take_down(b) < 0 ? err_wrap("box %s to sleep", b->cfg.name) : 0;
}

/* What a sleeping box gave up, made again (PICOCENTER_TIMING: each step). */
static int make_again(const struct box *b)
{
	timing_mark("box wake: locked");
	if (take_down(b) < 0)
		return -1;
	return make_awake(b, "box wake", 0);
}

int box_wake(const struct box *b)
{
	struct err_saved e;
	int lock;

	/* The box's own lock, not the boxes dir's: waking allocates nothing
	 * shared (same address, same ports), so many boxes wake at once (50
	 * asleep apps revived together waited for each other's wake).  Taken
	 * even for an awake box: one being woken looks awake (namespaces and
	 * root) before its cgroups exist. */
	lock = box_lock_dir(b->path);
	if (lock < 0)
		return -1;
	if (!is_awake(b) && make_again(b) < 0) {
		err_save(&e);
		take_down(b);
		close(lock);
		err_restore(&e);
		return err_wrap("wake box %s", b->cfg.name);
	}
	close(lock);
	return 0;
}

int box_enter(const struct box *b)
{
	if (rootfs_enter(b) < 0)
		return err_wrap("enter box %s", b->cfg.name);
	/* Raw calls: glibc's would wait for the threads of the process this
	 * one was cloned from (their copies do not exist here). */
	if (syscall(SYS_setresgid, 0, 0, 0) < 0 || syscall(SYS_setgroups, 0, NULL) < 0 ||
	    syscall(SYS_setresuid, 0, 0, 0) < 0)
		return err_sys("enter box %s: become its root", b->cfg.name);
	return 0;
}

int box_of_pid(const char *dir, pid_t pid, struct box *b)
{
	char comp[BOX_NAME_MAX + 32], name[BOX_NAME_MAX + 32];
	int where, opened;

	if (!dir)
		dir = BOX_DEFAULT_DIR;
	where = cg_of_pid(dir, pid, comp, sizeof(comp), name, sizeof(name));
	if (where <= 0 || !box_name_valid(name))
		return where < 0 ? -1 : 0;
	opened = box_open(dir, name, b) == 0;
	if (!opened && where == 1)
		return err_wrap("process %d is in box %s", (int)pid, name);
	if (!opened || !cg_has(b, comp))
		return err_set("process %d is in cgroup %s, not in a box of %s", (int)pid, comp, dir);
	return 1;
}
