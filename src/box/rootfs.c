/*
 * rootfs.c - a box's root filesystem: the overlay (lower: the host's / or
 * a directory, idmapped to the box's ids; upper and work dirs in the box
 * dir, the upper owned by the box's root) mounted at BOX/root in the
 * host's mount namespace, and, in the box's first process, the pivot into
 * it with a fresh /proc (sensitive files masked, /proc/sys read-only), a
 * read-only /sys with the box's own cgroups at /sys/fs/cgroup (cgview.c),
 * and a minimal /dev of bind-mounted host devices; with an init, the
 * copies of picocenter-init bound read-only at BOX_INIT_DIR.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/openat2.h>
#include <unistd.h>

#include "box/box_int.h"
#include "common/err.h"
#include "common/init_path.h"

static const char *const devices[] = { "null", "zero", "full", "random", "urandom", "tty" };
/* Docker's masked paths: files get /dev/null, directories an empty tmpfs. */
static const char *const masked[] = {
	"proc/kcore", "proc/keys", "proc/timer_list", "proc/sched_debug",
	"proc/latency_stats", "proc/sysrq-trigger", "proc/acpi", "proc/scsi",
	"sys/firmware",
};
static const char *const readonly[] = { "proc/sys", "proc/irq", "proc/bus", "proc/fs" };

int rootfs_check(const char *rootfs)
{
	struct stat st;

	if (!strcmp(rootfs, "host"))
		return 0;
	if (rootfs[0] != '/')
		return err_set("rootfs '%s': host or an absolute directory", rootfs);
	if (strpbrk(rootfs, ",:\\"))
		return err_set("rootfs '%s': ',' ':' and '\\' are not allowed", rootfs);
	if (stat(rootfs, &st) < 0)
		return err_sys("rootfs %s", rootfs);
	if (!S_ISDIR(st.st_mode))
		return err_set("rootfs %s: not a directory", rootfs);
	return 0;
}

static int mkdir_in(const char *base, const char *sub)
{
	char path[BOX_PATH_MAX + 32];

	snprintf(path, sizeof(path), "%s/%s", base, sub);
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return err_sys("mkdir %s", path);
	return 0;
}

static int unmount_in(const struct box *b, const char *sub)
{
	char path[BOX_PATH_MAX + 8];

	snprintf(path, sizeof(path), "%s/%s", b->path, sub);
	if (umount2(path, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
		return err_sys("unmount %s", path);
	return 0;
}

int rootfs_unmount(const struct box *b)
{
	if (unmount_in(b, "lower") < 0 || unmount_in(b, "root") < 0)
		return -1;
	return 0;
}

static int mount_at(const char *src, const char *dst, const char *type,
		    unsigned long flags, const char *data)
{
	if (mount(src, dst, type, flags, data) < 0)
		return err_sys("mount %s on %s", type ? type : src, dst);
	return 0;
}

static int ensure_dir(const char *path)
{
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return err_sys("mkdir %s", path);
	return 0;
}

static int bind_ro(const char *path)
{
	if (mount(path, path, NULL, MS_BIND | MS_REC, NULL) < 0 ||
	    mount(NULL, path, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID |
		  MS_NODEV | MS_NOEXEC, NULL) < 0)
		return err_sys("make /%s read-only", path);
	return 0;
}

/* A device node at path like the host's dev (its numbers and mode). */
static int copy_device(const char *dev, const char *path)
{
	struct stat st;

	if (stat(dev, &st) < 0)
		return err_sys("stat %s", dev);
	if (!S_ISCHR(st.st_mode))
		return err_set("%s is not a character device", dev);
	if (mknod(path, S_IFCHR | 0600, st.st_rdev) < 0 || chmod(path, st.st_mode & 07777) < 0)
		return err_sys("make device %s", path);
	return 0;
}

/* root/dev: a tmpfs (the host root's, without nodev) holding copies of
 * the host's device nodes (made, not bound: six mounts fewer per box on
 * the host's table and in every mount namespace copied from it; the box's
 * root can neither write in it nor make devices), a devpts instance of
 * the box's own and a /dev/shm, made once with the box (host mount ns). */
static int setup_dev(const char *root)
{
	const unsigned long nse = MS_NOSUID | MS_NOEXEC;
	static const char *const links[][2] = {
		{ "pts/ptmx", "ptmx" }, { "/proc/self/fd", "fd" }, { "/proc/self/fd/0", "stdin" },
		{ "/proc/self/fd/1", "stdout" }, { "/proc/self/fd/2", "stderr" },
	};
	char dev[BOX_PATH_MAX + 16], host[64], in[BOX_PATH_MAX + 32];

	snprintf(dev, sizeof(dev), "%s/dev", root);
	if (mkdir(dev, 0755) < 0 && errno != EEXIST)
		return err_sys("mkdir %s", dev);
	if (mount("tmpfs", dev, "tmpfs", nse, "mode=755,size=64k") < 0)
		return err_sys("mount tmpfs on %s", dev);
	for (size_t i = 0; i < sizeof(devices) / sizeof(devices[0]); i++) {
		snprintf(host, sizeof(host), "/dev/%s", devices[i]);
		snprintf(in, sizeof(in), "%s/%s", dev, devices[i]);
		if (copy_device(host, in) < 0)
			return -1;
	}
	snprintf(in, sizeof(in), "%s/pts", dev);
	if (ensure_dir(in) < 0 ||
	    mount_at("devpts", in, "devpts", nse, "newinstance,ptmxmode=0666,mode=0620") < 0)
		return -1;
	snprintf(in, sizeof(in), "%s/shm", dev);
	if (ensure_dir(in) < 0 ||
	    mount_at("shm", in, "tmpfs", nse | MS_NODEV, "mode=1777,size=65536k") < 0)
		return -1;
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
		snprintf(in, sizeof(in), "%s/%s", dev, links[i][1]);
		if (symlink(links[i][0], in) < 0)
			return err_sys("symlink %s", in);
	}
	return 0;
}

/* The directory dir inside the root (absolute, as the box sees it), made
 * when missing (in the upper layer); no symlink is followed. */
static int mkdirs_in_root(int rootfd, const char *dir)
{
	char buf[BOX_PATH_MAX], *comp, *save = NULL;
	int fd = dup(rootfd);

	if (fd < 0)
		return err_sys("dup");
	snprintf(buf, sizeof(buf), "%s", dir);
	for (comp = strtok_r(buf, "/", &save); comp; comp = strtok_r(NULL, "/", &save)) {
		int next;

		if (!strcmp(comp, ".") || !strcmp(comp, "..")) {
			close(fd);
			errno = EINVAL;
			return -1;
		}
		next = openat(fd, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0 && errno == ENOENT && mkdirat(fd, comp, 0755) == 0)
			next = openat(fd, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		close(fd);
		if (next < 0)
			return -1;
		fd = next;
	}
	return fd;
}

/* The host's file src bound onto path (absolute, as the box sees it) in
 * the root, the file made there (in the upper layer) when missing and
 * never reached through a symlink; a symlink at path itself is an error,
 * or with replace_link, replaced (in the upper layer) by the file. */
static int bind_file(const char *root, const char *src, const char *path, int replace_link)
{
	char dir[BOX_PATH_MAX], target[64];
	const char *base = strrchr(path, '/');
	int rootfd, dirfd, fd, rc = -1;

	if (!base || !base[1])
		return err_set("%s: not a file path", path);
	base++;
	snprintf(dir, sizeof(dir), "%.*s", (int)(base - path), path);
	rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return err_sys("open %s", root);
	dirfd = mkdirs_in_root(rootfd, dir);
	close(rootfd);
	if (dirfd < 0)
		return err_sys("%s: its directory in the box", path);
	fd = openat(dirfd, base, O_RDONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0 && errno == ELOOP && replace_link && unlinkat(dirfd, base, 0) == 0)
		fd = openat(dirfd, base, O_RDONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
	close(dirfd);
	if (fd < 0)
		return err_sys("%s: create it in the box", path);
	snprintf(target, sizeof(target), "/proc/self/fd/%d", fd);
	if (mount(src, target, NULL, MS_BIND, NULL) < 0)
		err_sys("bind %s onto %s in the box", src, path);
	else
		rc = 0;
	close(fd);
	return rc;
}

/* Where the box sees its log: log_at, else the host's path. */
static const char *log_in_box(const struct box *b)
{
	return b->cfg.log_at[0] ? b->cfg.log_at : b->cfg.log;
}

/* The host's log file, bound onto its path inside the root, owned by the
 * box's root: the app's stdout and stderr are that file, and a server
 * that opens them again (php-fpm's error_log = /proc/self/fd/2, a log
 * linked to /dev/stdout, as Docker images configure them) must be let to,
 * which it is not for a file of an id outside the box. */
static int bind_log(const char *root, const struct box *b)
{
	const char *log = b->cfg.log;
	int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	struct stat st;

	if (fd < 0)
		return err_sys("log %s", log);
	if (fstat(fd, &st) < 0) {
		err_sys("log %s: stat", log);
		close(fd);
		return -1;
	}
	/* only a file of the log's own: never one linked elsewhere too */
	if (!S_ISREG(st.st_mode) || st.st_nlink != 1) {
		close(fd);
		return err_set("log %s: not a regular file of one link, which the box's root "
			       "could own", log);
	}
	if ((st.st_uid != b->uid_base || st.st_gid != b->uid_base) &&
	    fchown(fd, b->uid_base, b->uid_base) < 0) {
		err_sys("log %s: chown to the box's root (%u)", log, b->uid_base);
		close(fd);
		return -1;
	}
	close(fd);
	return bind_file(root, log, log_in_box(b), 0) < 0 ? err_wrap("log %s", log) : 0;
}

/* path as the box's root shows it (a directory if dir), never through a
 * symlink (one the app left in its upper layer would lead out of the
 * root): -1 with errno. */
static int open_in_root(int rootfd, const char *path, int dir)
{
	struct open_how how = { .flags = O_PATH | O_CLOEXEC | (dir ? O_DIRECTORY : 0),
				.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS };

	return (int)syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
}

/* The mount at path in the box made read-only, nosuid and nodev, with
 * flags (MS_NOEXEC, MS_BIND for a bind mount). */
static int remount_ro(int rootfd, const char *path, int dir, unsigned long flags)
{
	char at[64];
	int fd = open_in_root(rootfd, path, dir), rc = 0;

	if (fd < 0)
		return err_sys("reopen %s in the box", path);
	snprintf(at, sizeof(at), "/proc/self/fd/%d", fd);
	if (mount(NULL, at, NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | flags,
		  NULL) < 0)
		rc = err_sys("make %s in the box read-only", path);
	close(fd);
	return rc;
}

/* BOXES/.init, the content-named copies of picocenter-init (the current
 * one made if missing; common/init_path.h), bound read-only and without
 * suid at BOX_INIT_DIR (its mount point made in the upper layer). */
static int bind_init(const struct box *b, const char *root)
{
	char dir[BOX_PATH_MAX + 8], name[64], at[64];
	int rootfd, fd, rc;

	if (init_install(b->cfg.dir, dir, sizeof(dir), name, sizeof(name)) < 0)
		return err_wrap("the init");
	rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return err_sys("open %s", root);
	fd = mkdirs_in_root(rootfd, BOX_INIT_DIR);
	if (fd < 0) {
		close(rootfd);
		return err_sys("%s in the box", BOX_INIT_DIR);
	}
	snprintf(at, sizeof(at), "/proc/self/fd/%d", fd);
	rc = mount(dir, at, NULL, MS_BIND, NULL);
	close(fd);
	if (rc < 0)
		rc = err_sys("bind %s onto %s in the box", dir, BOX_INIT_DIR);
	else
		rc = remount_ro(rootfd, BOX_INIT_DIR, 1, MS_BIND);
	close(rootfd);
	return rc;
}

/* cfg.hide (the daemon's state dir), if the lower layer shows it: an
 * empty read-only tmpfs over it, made from the host before the box's
 * namespaces exist.  The app's log, if it lies under it, is bound in. */
static int hide_in_root(const struct box *b, const char *root)
{
	const char *dir = b->cfg.hide, *log = log_in_box(b);
	size_t n = strlen(dir);
	char at[64];
	int rootfd, fd, rc;

	if (!dir[0])
		return 0;
	rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return err_sys("open %s", root);
	fd = open_in_root(rootfd, dir, 1);
	if (fd < 0) {   /* not there, or not the host's dir: nothing to hide */
		close(rootfd);
		return errno == ENOENT || errno == ELOOP || errno == ENOTDIR ? 0
			: err_sys("box %s: find %s in its root", b->cfg.name, dir);
	}
	snprintf(at, sizeof(at), "/proc/self/fd/%d", fd);
	rc = mount("tmpfs", at, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=64k,mode=0755");
	close(fd);
	if (rc < 0)
		rc = err_sys("box %s: hide %s", b->cfg.name, dir);
	if (rc == 0 && log[0] && !strncmp(log, dir, n) && log[n] == '/')
		rc = bind_log(root, b);
	if (rc == 0)
		rc = remount_ro(rootfd, dir, 1, MS_NOEXEC);
	close(rootfd);
	return rc;
}

/* The overlay on the lower layer as the box sees it (idmapped at
 * BOX/lower, a mount the overlay keeps a clone of: it stays mounted while
 * the box is awake, one mount more on the host's table, and goes with the
 * root when the box sleeps, as unmounting it at once cost a wake an
 * expedited RCU grace period, 0.3-1 ms under strace -T). */
static int mount_overlay(const struct box *b, const char *root)
{
	char opts[3 * BOX_PATH_MAX + 64], lower[BOX_PATH_MAX + 8], upper[BOX_PATH_MAX + 8];
	const char *src = strcmp(b->cfg.rootfs, "host") ? b->cfg.rootfs : "/";
	int rc = 0;

	snprintf(lower, sizeof(lower), "%s/lower", b->path);
	snprintf(upper, sizeof(upper), "%s/upper", b->path);
	if (userns_own(b, upper) < 0 || userns_idmapped_tree(b, src, lower) < 0)
		return -1;
	snprintf(opts, sizeof(opts), "lowerdir=%s,upperdir=%s,workdir=%s/work", lower, upper,
		 b->path);
	if (mount("overlay", root, "overlay", MS_NODEV, opts) < 0) {
		rc = err_sys("mount overlay %s (%s)", root, opts);
		umount2(lower, MNT_DETACH);
	}
	return rc;
}

/* The box's own /etc/hosts, hostname and resolv.conf (etc.c), bound over
 * the root's. */
static int bind_etc(const struct box *b, const char *root)
{
	static const char *const names[] = { "hosts", "hostname", "resolv.conf" };
	char src[BOX_PATH_MAX + 16], dst[32];

	if (etc_write(b) < 0)
		return -1;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(src, sizeof(src), "%s/etc-%s", b->path, names[i]);
		snprintf(dst, sizeof(dst), "/etc/%s", names[i]);
		if (bind_file(root, src, dst, 1) < 0)
			return err_wrap("box %s: %s", b->cfg.name, dst);
	}
	return 0;
}

/* /run/lock in the box's fresh /run (mode 1777, the box root's), as a
 * booting system makes it: /var/lock leads there (apache2ctl makes its
 * lock dir in it); for a box being made (fresh), the directories its
 * tmpfiles.d snippets name (tmpfiles.c: /run/mysqld...; 30 dirs from 28
 * snippets here).  A woken box gets its /run back from the image's
 * box-run instead (which holds them since), as reading the snippets
 * cost a wake several ms. */
static int run_skeleton(const struct box *b, int rootfd, int fresh)
{
	int run = openat(rootfd, "run", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), rc = 0;

	if (run < 0)
		return err_sys("box %s: open its /run", b->cfg.name);
	if ((mkdirat(run, "lock", 0755) < 0 && errno != EEXIST) ||
	    fchownat(run, "lock", b->uid_base, b->uid_base, AT_SYMLINK_NOFOLLOW) < 0 ||
	    fchmodat(run, "lock", 01777, 0) < 0)
		rc = err_sys("box %s: make /run/lock", b->cfg.name);
	else if (fresh)
		rc = tmpfiles_run(b, rootfd, run);
	close(run);
	return rc;
}

/* root/run: a tmpfs of the box's own, owned by its root (services keep
 * pid files and sockets there, sshd wants /run/sshd), over whatever the
 * lower layer has there (the host's /run when it is no mount); made in
 * the upper layer when missing, never through a symlink; with /run/lock. */
static int setup_run(const struct box *b, const char *root, int fresh)
{
	char opts[96], at[64];
	int rootfd, fd, rc;

	snprintf(opts, sizeof(opts), "mode=755,size=65536k,uid=%u,gid=%u", b->uid_base,
		 b->uid_base);
	rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return err_sys("open %s", root);
	fd = mkdirs_in_root(rootfd, "/run");
	if (fd < 0) {
		close(rootfd);
		return err_sys("box %s: /run (a directory, not a symlink)", b->cfg.name);
	}
	snprintf(at, sizeof(at), "/proc/self/fd/%d", fd);
	rc = mount("tmpfs", at, "tmpfs", MS_NOSUID | MS_NODEV, opts);
	close(fd);
	if (rc < 0)
		rc = err_sys("box %s: mount a tmpfs on /run", b->cfg.name);
	else
		rc = run_skeleton(b, rootfd, fresh);
	close(rootfd);
	return rc;
}

int rootfs_mount(const struct box *b, int fresh)
{
	char root[BOX_PATH_MAX + 8];

	if (strpbrk(b->path, ",:\\"))
		return err_set("box dir %s: ',' ':' and '\\' are not allowed", b->path);
	if (mkdir_in(b->path, "upper") < 0 || mkdir_in(b->path, "work") < 0 ||
	    mkdir_in(b->path, "root") < 0 || mkdir_in(b->path, "lower") < 0)
		return -1;
	snprintf(root, sizeof(root), "%s/root", b->path);
	if (mount_overlay(b, root) < 0)
		return -1;
	if (mount(NULL, root, NULL, MS_PRIVATE, NULL) < 0)
		err_sys("make %s private", root);
	else if (setup_dev(root) == 0 && setup_run(b, root, fresh) == 0 && hide_in_root(b, root) == 0 &&
		 bind_etc(b, root) == 0 && (!b->cfg.log[0] || bind_log(root, b) == 0) &&
		 (!b->cfg.init || bind_init(b, root) == 0))
		return 0;
	{
		struct err_saved e;

		err_save(&e);
		rootfs_unmount(b);   /* the root and the lower layer */
		return err_restore(&e);
	}
}

/* --- in the box's first process, before the pivot (cwd: the new root) --- */

static int mask_paths(void)
{
	struct stat st;

	for (size_t i = 0; i < sizeof(masked) / sizeof(masked[0]); i++) {
		if (lstat(masked[i], &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			if (mount_at("tmpfs", masked[i], "tmpfs", MS_RDONLY, "size=0") < 0)
				return -1;
		} else if (mount_at("dev/null", masked[i], NULL, MS_BIND, NULL) < 0) {
			return -1;
		}
	}
	for (size_t i = 0; i < sizeof(readonly) / sizeof(readonly[0]); i++)
		if (access(readonly[i], F_OK) == 0 && bind_ro(readonly[i]) < 0)
			return -1;
	return 0;
}

/* The boxes' state dir, if the lower layer shows it, is hidden. */
static int hide_state_dir(const struct box *b)
{
	const char *rel = b->cfg.dir + 1;
	struct stat st;

	if (b->cfg.dir[0] != '/' || stat(rel, &st) < 0 || !S_ISDIR(st.st_mode))
		return 0;
	return mount_at("tmpfs", rel, "tmpfs", MS_RDONLY, "size=0");
}

int rootfs_enter(const struct box *b)
{
	char root[BOX_PATH_MAX + 8];
	const unsigned long nse = MS_NOSUID | MS_NODEV | MS_NOEXEC;

	snprintf(root, sizeof(root), "%s/root", b->path);
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return err_sys("make / private");
	/* The mounts came from the host's namespace: locked together, and
	 * not a root to pivot into; a bind of them is. */
	if (mount(root, root, NULL, MS_BIND | MS_REC, NULL) < 0)
		return err_sys("bind %s", root);
	if (chdir(root) < 0)
		return err_sys("chdir %s", root);
	if (hide_state_dir(b) < 0 || ensure_dir("proc") < 0 ||
	    mount_at("proc", "proc", "proc", nse, NULL) < 0 || ensure_dir("sys") < 0 ||
	    mount_at("sysfs", "sys", "sysfs", nse | MS_RDONLY, NULL) < 0 || mask_paths() < 0 ||
	    cgview_mount(b) < 0)
		return err_wrap("box %s root", b->cfg.name);
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return err_sys("pivot_root %s", root);
	if (umount2(".", MNT_DETACH) < 0)
		return err_sys("detach the host's root");
	if (chdir("/") < 0)
		return err_sys("chdir /");
	return 0;
}
