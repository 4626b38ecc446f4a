/* box_int.h - the parts of a box, shared by the files of src/box/ only. */
#ifndef PC_BOX_INT_H
#define PC_BOX_INT_H

#include "box/box.h"

/* config.c: the box record, BOXES/NAME/config */
int box_record_write(const struct box *b);
int box_record_read(const char *path, struct box *b);
int box_record_save(const struct box *b, const char *file);
int box_record_load(const char *file, const char *boxpath, struct box *b);
/* the host uid pool and a box's range within it are sane */
int uidrange_pool_valid(uint32_t base, uint32_t count);
int uidrange_valid(uint32_t base, uint32_t uids);

/* addr6.c: the box's IPv6 subnet and address */
int subnet6_parse(const char *s, uint8_t net[16], int *prefix);
void subnet6_resolve(struct box_config *c);
void addr6_of(const struct box_config *c, uint32_t addr, uint8_t out[16]);
const char *addr6_text(const uint8_t a[16], char *buf);  /* INET6_ADDRSTRLEN */
int box_has_ipv6(const struct box *b);

/* uidrange.c: the box's host ids; the registry of the machine's boxes
 * dirs, whose records hold the ranges taken */
#define BOX_DIRS_REGISTRY_DIR "/var/lib/picocenter"
#define BOX_DIRS_REGISTRY BOX_DIRS_REGISTRY_DIR "/box-dirs"
int uidrange_alloc(const struct box_config *c, uint32_t want, uint32_t *base);
/* dir (whose box was just removed) leaves the registry if it has no box
 * left, with the dirs that are gone; a problem is ignored (the next
 * allocation prunes). */
void uidrange_forget_dir(const char *dir);
/* fn(record, arg) for each box record under dir (a dir gone since it
 * was listed holds none; a record that cannot be read is skipped). */
int box_dir_records(const char *dir, int (*fn)(const struct box *, void *), void *arg);
/* fn(record, arg) for every box record of the registry's dirs and of dir
 * (records that cannot be read are skipped); the registry is not written.
 * The caller holds the machine-wide lock. */
int box_dirs_records(const char *dir, int (*fn)(const struct box *, void *), void *arg);

/* lock.c: the lock of a box dir, and the machine-wide lock of box
 * creation (an fd to close), -1 */
int box_lock_dir(const char *dir);
int box_lock_machine(void);

/* userns.c: the user namespace and what it maps */
int userns_write_maps(const struct box *b, pid_t pid);
int userns_idmapped_tree(const struct box *b, const char *path, const char *at);
int userns_own(const struct box *b, const char *path);
/* an fd of the box's namespace KIND (BOX/ns/KIND: user, net, uts, ipc) */
int box_ns_open(const struct box *b, const char *kind);

/* tmpfiles.c: the box's fresh /run (the fd run) made as its root's
 * tmpfiles.d snippets say (their d and D lines under /run) */
struct tmpfiles_dir {
	char rel[BOX_PATH_MAX / 2];   /* the path under /run */
	unsigned mode;
	char user[64], group[64];     /* names or ids; group "": root */
};
/* 1 and *d if line (changed in place) is such a line, else 0
 * (fuzz/box_tmpfiles.c). */
int tmpfiles_line(char *line, struct tmpfiles_dir *d);
int tmpfiles_run(const struct box *b, int rootfd, int run);

/* cgtree.c: check the cgroups record file (fuzz/box_cgroups.c) */
int cgtree_check(const char *file);

/* layer.c: the upper dir (or another dir of the box: box_tree_save) as
 * one file */
int box_layer_save(const struct box *b, const char *file);
int box_tree_save(const struct box *b, const char *dir, const char *file);
int box_layer_load(const struct box *b, const char *file, const char *upper);

/* cgroup.c */
/* The cgroup dirs of box name of the boxes dir dir (see cgroup.c). */
int cg_plan(const char *dir, const char *name, struct box_cgroup *cg);
int cg_create(const struct box *b);
/* dir (a v2 cgroup of the box's) and the files that move processes and
 * enable controllers given to the box's root. */
int cg_own(const struct box *b, const char *dir);
/* Write val to, or read (NUL-terminated) dir/file. */
int cg_write(const char *dir, const char *file, const char *val);
int cg_read(const char *dir, const char *file, char *buf, size_t len);
int cg_destroy(const struct box_cgroup *cg);
int cg_nr_procs(const struct box_cgroup *cg);
/* The box cgroup pid is in (its component in comp) and the box's name in
 * name: 1 a box of dir, 2 another dir's (or one named before the dirs'
 * ids), 0 none, -1 error. */
int cg_of_pid(const char *dir, pid_t pid, char *comp, size_t clen, char *name, size_t nlen);
/* 1 if one of the box's recorded cgroup dirs ends in /comp */
int cg_has(const struct box *b, const char *comp);

/* cgview.c: the box's cgroups at /sys/fs/cgroup, from its first process */
int cgview_mount(const struct box *b);

/* rootfs.c */
int rootfs_check(const char *rootfs);
/* fresh: a box being made (its /run from its tmpfiles.d snippets) */
int rootfs_mount(const struct box *b, int fresh);
int rootfs_unmount(const struct box *b);
int rootfs_enter(const struct box *b);

/* etc.c: the box's /etc/hosts, /etc/hostname and /etc/resolv.conf, written
 * in the box dir as BOX/etc-hosts, etc-hostname and etc-resolv.conf. */
int etc_write(const struct box *b);

/* netns.c */
/* The box's user, net, uts and ipc namespaces, kept at BOX/ns, its
 * hostname set (nothing made if it fails); holder: the child that made
 * them, for netns_link to reap. */
int netns_make(const struct box *b, pid_t *holder);
/* Then its network: the veth on the bridge, eth0's addresses and routes
 * (netns_destroy undoes both).  Needs nothing of the root or cgroups: a
 * thread of its own makes it meanwhile (box.c). */
int netns_link(const struct box *b, pid_t holder);
/* The host bridge of the box's subnet, with its addresses and so the
 * route to the subnet (a box made ahead has no veth yet, but the packets
 * held for it must be routed to the bridge). */
int netns_bridge_ensure(const struct box *b);
int netns_destroy(const struct box *b);

/* nft.c */
int nft_box_add(const struct box *b);
int nft_box_del(const struct box *b);
/* Mark in used[] (indexed from base, n long) the addresses of every box
 * on this machine (the `boxes` set: box dirs of other callers too). */
int nft_mark_taken(uint32_t base, uint32_t n, uint8_t *used);
/* Delete, in one transaction, every element of picocenter's tables (both
 * families: sets boxes and egress, the DNAT maps) whose box address (an
 * IPv6 one's last 32 bits) A has orphan(A, arg); each such A is written
 * to report (unless NULL) once ("A.B.C.D").  How many addresses, or -1. */
int nft_sweep(int (*orphan)(uint32_t addr, void *arg), void *arg, FILE *report);
/* Run nftables commands (one transaction); quiet: no error recorded. */
int nft_run(const char *cmds, int quiet);

/* forward.c: the host's forwarding for boxes (family 4 or 6) */
int fwd_ours(int family);
int fwd_enable(int family);

/* rtnl.c: rtnetlink, in the calling thread's network namespace */
/* The interface group of the boxes' bridges ("pico"): the IPv6 rules
 * know a box's packets by it. */
#define BOX_IFGROUP 0x7069636f
/* The bridge (made if missing) with its addresses (IPv6 unless addr6 is
 * NULL; no DAD), up, in the boxes' interface group, forwarding. */
int rtnl_bridge_ensure(const char *name, uint32_t addr, int prefix, const uint8_t *addr6,
		       int prefix6);
/* peer_mac: the box end's address, made from the box's IPv4 address, so
 * that a box woken with the same address has the same MAC (the host's
 * neighbour entry for it, kept while other boxes hold the bridge up,
 * stays right).  The host end up, an isolated port of master. */
int rtnl_veth_create(const char *host, const char *peer, int peer_netns_fd,
		     const uint8_t peer_mac[6], const char *master);
/* In the box's network namespace: lo and dev up, dev's address and default route
 * via gateway, and the IPv6 ones unless addr6 is NULL (no DAD). */
int rtnl_box_network(const char *dev, uint32_t addr, int prefix, uint32_t gateway,
		     const uint8_t *addr6, int prefix6, const uint8_t *gateway6);
int rtnl_link_delete(const char *name);
/* 1 if name is a bridge, 0 if it is another kind of link or none. */
int rtnl_is_bridge(const char *name);
int rtnl_link_exists(const char *name);

#endif
