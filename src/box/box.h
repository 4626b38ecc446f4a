/*
 * box.h - the app box: the container one app's process tree lives in.
 *
 * A box is a cgroup per app (under the caller's own cgroup), an overlay
 * root filesystem (a read-only lower layer: the host's / or a directory,
 * and the box's own writable upper layer), and net, uts and ipc namespaces
 * kept alive by bind mounts in the box directory, with a veth to a host
 * bridge, an IPv4 and an IPv6 address and nftables rules for published ports in
 * picocenter's own table.  The box outlives its processes: a tree is
 * dumped and restored into the same box (see docs/box.md).
 *
 * On disk, BOXES/NAME/ (BOXES defaults to /run/picocenter/boxes):
 *   config     the box record (key=value lines, see config.c)
 *   upper/ work/   the overlay's writable layer and work dir
 *   root/      the merged root, mounted in the host's mount namespace
 *   ns/user ns/net ns/uts ns/ipc   the namespaces, bind-mounted: the
 *              user namespace maps the box's ids 0..uids-1 to a range of
 *              host ids of its own (uidrange.c) and owns the others
 *
 * Every function returns 0 or -1 with err_* set; a failed box_create()
 * leaves nothing behind.
 */
#ifndef PC_BOX_BOX_H
#define PC_BOX_BOX_H

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#define BOX_DEFAULT_DIR "/run/picocenter/boxes"
#define BOX_NAME_MAX 32
#define BOX_PATH_MAX 1024
#define BOX_MAX_PORTS 32
/* Host uids and gids for boxes: a pool from 2^30 (clear of /etc/subuid's
 * ranges, which useradd takes from 100000 up to 600100000) of 2^30 ids,
 * 65536 for each box (16384 boxes). */
#define BOX_UID_POOL_BASE 1073741824u
#define BOX_UID_POOL_COUNT 1073741824u
#define BOX_UIDS 65536u
#define BOX_UIDS_MIN 1024u       /* --uids: daemons that drop to nobody */
#define BOX_UIDS_MAX (1u << 24)  /* (65534) need the default */

struct box_port {
	uint32_t host_addr;       /* network order; 0: every address (both
	                             families), unless v6 */
	uint8_t host_addr6[16];   /* v6: this IPv6 address of the host */
	int v6;                   /* "[ADDR]:HOSTPORT:APPPORT" */
	uint16_t host_port;
	uint16_t app_port;
	int udp;                  /* 0: tcp */
};

struct box_config {
	char name[BOX_NAME_MAX];  /* [a-z0-9-], also the hostname */
	char dir[BOX_PATH_MAX];   /* the boxes directory (BOXES above) */
	char rootfs[BOX_PATH_MAX];/* "host" or an absolute directory */
	uint64_t memory;          /* bytes, no swap; 0: no limit */
	uint32_t pids;            /* 0: no limit */
	uint32_t cpu_weight;      /* 1..10000 (v2 scale); 0: default */
	int no_egress;            /* drop traffic the app starts outward */
	char bridge[16];          /* host bridge, default pcbr0 */
	uint32_t subnet;          /* network order, default 10.88.0.0 */
	int prefix;               /* default 16 */
	uint8_t subnet6[16];      /* the IPv6 subnet (box_parse_subnet6) */
	int prefix6;              /* 48..96; 0: derived from the IPv4 subnet
	                             when the box is made; -1: no IPv6 */
	struct box_port ports[BOX_MAX_PORTS];
	int nr_ports;
	char log[BOX_PATH_MAX];   /* a host file bind-mounted into the box at
	                             the same path (the app's stdout+stderr,
	                             so a restored app writes on); "" none */
	char log_at[BOX_PATH_MAX]; /* where the box sees the log instead, "" at
	                             log's own path: a box made ahead for an
	                             image from a daemon with another state
	                             dir keeps the path the image's fds name */
	uint32_t uid_pool_base;   /* host ids boxes take their range from */
	uint32_t uid_pool_count;
	uint32_t uids;            /* ids of the box: 0..uids-1 inside */
	char hide[BOX_PATH_MAX];  /* a host directory the box must not see
	                             (the daemon's state dir), besides dir;
	                             the log is bound in again if under it;
	                             "" none */
	int init;                 /* dir/.init (picocenter-init's copies)
	                             bound read-only at BOX_INIT_DIR
	                             (common/init_path.h) */
};

/* Which hierarchy serves each controller of the box's cgroup. */
struct box_cgroup {
	char memory[BOX_PATH_MAX];  /* the box's cgroup dir, "" if none */
	int memory_v2;
	char pids[BOX_PATH_MAX];
	int pids_v2;
	char cpu[BOX_PATH_MAX];
	int cpu_v2;
	char freezer[BOX_PATH_MAX];
	int freezer_v2;
	char unified[BOX_PATH_MAX]; /* the v2 cgroup (cgroup.procs, freeze) */
};

struct box {
	struct box_config cfg;
	char path[BOX_PATH_MAX];    /* BOXES/NAME */
	uint32_t addr;              /* the app's IPv4 address, network order */
	uint8_t addr6[16];          /* its IPv6 address (prefix6 > 0): the
	                               subnet6 with addr as its last 32 bits */
	char veth[16];              /* host end of the veth */
	struct box_cgroup cg;
	uint32_t uid_base;          /* host uid (and gid) of the box's root */
	int made;                   /* box_for_image made it from the image (not
	                               recorded): a failed restore removes it */
};

/* 1 if name is a valid box name: 1-23 of a-z 0-9 '-', not starting '-'. */
int box_name_valid(const char *name);
/* cfg = the defaults for an app called name (validated). */
int box_config_init(struct box_config *cfg, const char *name);
/* Parse "[HOSTADDR:]HOSTPORT:APPPORT[/tcp|/udp]" into cfg's ports. */
int box_config_add_port(struct box_config *cfg, const char *spec);
/* Parse "512M", "1G", "65536" (bytes, suffixes K M G, at least 4 MiB). */
int box_parse_size(const char *s, uint64_t *bytes);
/* Parse "A.B.C.D/N" (N in 8..30) into cfg's subnet and prefix. */
int box_parse_subnet(const char *s, struct box_config *cfg);
/* Parse "PREFIX/N" (an IPv6 network, N in 48..96) or "none" (no IPv6)
 * into cfg's subnet6 and prefix6.  Without it a box's IPv6 subnet is
 * BOX_SUBNET6_BASE with the IPv4 subnet's second and third bytes as its
 * fourth group (10.88.0.0/16: fd70:6963:6f00:5800::/64). */
#define BOX_SUBNET6_BASE "fd70:6963:6f00::"
int box_parse_subnet6(const char *s, struct box_config *cfg);
/* Parse a count in 1..max. */
int box_parse_count(const char *s, uint32_t max, uint32_t *n);
/* Parse "BASE:COUNT", the host ids boxes take their ranges from (BASE at
 * least 65536, BASE + COUNT at most 2^32 - 1), into cfg. */
int box_parse_uid_pool(const char *s, struct box_config *cfg);
/* The box's id (uid or gid) for a host id: host - uid_base inside its
 * range, 65534 (the overflow id) outside; and back. */
uint32_t box_id_inside(const struct box *b, uint32_t host_id);
uint32_t box_id_outside(const struct box *b, uint32_t box_id);

/* An OCI image as rootfs ("oci:PATH[:TAG]", see oci.c): unpacked once
 * per manifest digest under BOXES/.oci; lower gets the rootfs dir to put
 * in box_config.rootfs, d the image config's defaults for the app. */
struct box_oci_defaults {
	char **env;               /* K=V, NULL-ended */
	int nr_env;
	char **argv;              /* Entrypoint + Cmd, NULL-ended */
	int argc;
	char workdir[BOX_PATH_MAX];
	char user[64];            /* "UID[:GID]" or a name; "" none */
};
int box_oci_prepare(const char *spec, const char *boxes_dir, char *lower, size_t len,
		    struct box_oci_defaults *d);

/* Create the box cfg describes: all of it, or nothing. */
int box_create(const struct box_config *cfg, struct box *b);
/* Create it ahead of its image (a box revived here from an image made
 * elsewhere): asleep, its record, address and published ports only, the
 * packets for its address held in hold_queue (hold.h: armed before its
 * ports are published; the caller disarms it) while the image is
 * fetched.  Its address is addr (network order) when that is free, as
 * the image's own sockets may need it (an established connection), else
 * any.  box_for_image then takes the image's root, log, limits and
 * writable layer into it (its ports must be the image's) and wakes it. */
int box_create_ahead(const struct box_config *cfg, int hold_queue, uint32_t addr, struct box *b);
/* Files a dump of a boxed tree adds to the image: the box's record and its
 * writable layer (so that it can be made again elsewhere). */
#define BOX_IMAGE_CONFIG "box-config"
#define BOX_IMAGE_LAYER "box-layer"
#define BOX_IMAGE_SHM "box-shm"
#define BOX_IMAGE_RUN "box-run"
/* The tree's init (common/init_path.h), when it runs one. */
#define BOX_IMAGE_INIT "box-init"
int box_save(const struct box *b, const char *imgdir);
/* The cgroups the app made under the box's v2 cgroup (cgtree.c): saved
 * beside the image at dump (no file if it made none), made again at
 * restore with the tree's processes put back in theirs (before the tree
 * resumes; pids: each process's pid in its namespace and on the host,
 * -1 for a zombie). */
#define BOX_IMAGE_CGROUPS "box-cgroups"
struct box_pid {
	pid_t ns, host;
};
int box_cgroups_save(const struct box *b, const char *imgdir, const struct box_pid *pids,
		     size_t n);
int box_cgroups_restore(const struct box *b, const char *imgdir, const struct box_pid *pids,
			size_t n);
/* Check the image's cgroups record (if any) before anything is made. */
int box_cgroups_check(const char *imgdir);
/* The box name of the image in imgdir, ready to restore into: the box
 * under dir (woken if asleep; one made ahead completed from the image),
 * or, if dir has none, one made from the image's saved record (same
 * address when free, same ports) and layer. */
int box_for_image(const char *imgdir, const char *dir, const char *name, struct box *b);
/* 1 if box_for_image would take the image's writable layer (the box is
 * not under dir, or was made ahead of its image), 0 if the box keeps its
 * own: a restore from a store fetches that file only then. */
int box_wants_layer(const char *dir, const char *name);
/* Load the record of the box name under dir (NULL: the default). */
int box_open(const char *dir, const char *name, struct box *b);
/* Remove every part of the box that exists (a half-made box too), and
 * kill the processes still in its cgroup. */
int box_destroy(const struct box *b);
/* The same by name, for a box whose record may be missing or partial. */
int box_remove(const char *dir, const char *name);
/* Put a box without processes to sleep: its network namespace, veth,
 * cgroup and mounts go; its record, writable layer and nftables elements
 * (its address and ports stay reserved) stay.  box_wake() makes them
 * again, with the same address (a no-op for a box that is awake). */
int box_sleep(const struct box *b);
int box_wake(const struct box *b);
/* Remove the nftables elements of boxes that are gone (their records
 * lost: prune.c) whose addresses are in a subnet of dir's boxes, or of
 * one of the n configs subnets (their subnet and prefix; the default
 * subnet when neither gives one); each address removed is written to
 * report (unless NULL).  How many, or -1.  box_remove() of a box without
 * a usable record prunes its dir. */
int box_prune(const char *dir, const struct box_config *subnets, int n, FILE *report);
/* One line per box under dir: name, address, rootfs, processes. */
int box_list(const char *dir, FILE *out);

/* The first process of a tree in the box, like fork(): 0 in the child,
 * its pid in the caller (its parent, exit signal SIGCHLD), -1 (err set).
 * The child starts in the box's cgroups, in its user, net, uts and ipc
 * namespaces (ipc_fd >= 0: that IPC namespace instead) and in new pid,
 * mount and cgroup namespaces owned by the box's user namespace, with
 * every capability there and none on the host; it calls box_enter(). */
pid_t box_clone(const struct box *b, int ipc_fd);
/* In the child of box_clone(): pivot into the box's root with fresh
 * /proc, /sys, /dev, and become the box's root (uid and gid 0 inside,
 * no supplementary groups). */
int box_enter(const struct box *b);

/* A directory fd of the box's cgroup v2, for clone3's CLONE_INTO_CGROUP
 * (the child starts in it, without a migration); -1 if there is none.
 * The caller closes it. */
int box_cgroup_fd(const struct box *b);
/* An fd of the box's user namespace (for setns), or -1 with the error
 * set.  The caller closes it. */
int box_userns_fd(const struct box *b);

/* In the box's first process, after box_enter(): Docker's default
 * capability bounding set without CAP_MKNOD (before any change of user:
 * it takes CAP_SETPCAP); then, last before exec, box_lockdown():
 * no_new_privs and the box's seccomp filter. */
int box_drop_capabilities(void);
int box_lockdown(void);
/* The box's seccomp filter (one for every box, built once per process). */
struct sock_filter;
int box_seccomp_filter(const struct sock_filter **insns, unsigned short *len);

/* Start, in a thread to join later, what makes the next move of a task
 * into a cgroup fast (see cgroup.c): a restore calls it first.  0: started;
 * 1: not needed (a hierarchy is mounted with favordynmods), no thread. */
int box_warm_cgroups(const struct box *b, pthread_t *thread);
/* The same before the box is known (this process's own cgroup v1 pids
 * hierarchy): a restore that will enter a box calls it as it starts. */
int box_warm_early(pthread_t *thread);
/* 1 if moving a tree's init into a box's cgroups waits for an RCU grace
 * period (~10 ms): a cgroup v1 controller is used and no hierarchy is
 * mounted with favordynmods (docs/operations.md). */
int box_migrations_wait(void);

/* Freeze or thaw every process in the box (before and after a dump). */
int box_freeze(const struct box *b);
int box_thaw(const struct box *b);
/* The box pid lives in, found from its cgroup: 1 and *b loaded, 0 if the
 * process is in no box under dir. */
int box_of_pid(const char *dir, pid_t pid, struct box *b);

#endif
