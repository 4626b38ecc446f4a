/*
 * secure.c - a box's security floor: Docker's default capability bounding
 * set (without CAP_MKNOD: the box has no use for device nodes),
 * no_new_privs, and a seccomp filter (libseccomp) denying what Docker's
 * default profile denies.  The filter is the same for every box, built
 * once per process; a dump leaves it out of the tree's own filters, a
 * restore installs it again first (the tree's credentials carry the rest).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <sched.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "box/box.h"
#include "common/err.h"

#define CAPBIT(c) (1ULL << (c))
static const unsigned long long kept_caps =
	CAPBIT(CAP_CHOWN) | CAPBIT(CAP_DAC_OVERRIDE) | CAPBIT(CAP_FSETID) |
	CAPBIT(CAP_FOWNER) | CAPBIT(CAP_NET_RAW) | CAPBIT(CAP_SETGID) | CAPBIT(CAP_SETUID) |
	CAPBIT(CAP_SETFCAP) | CAPBIT(CAP_SETPCAP) | CAPBIT(CAP_NET_BIND_SERVICE) |
	CAPBIT(CAP_SYS_CHROOT) | CAPBIT(CAP_KILL) | CAPBIT(CAP_AUDIT_WRITE);

/* Denied with EPERM: kernel keyrings, BPF, perf, modules, kexec, mounts,
 * namespaces, tracing other processes, clocks, NUMA policy, io_uring. */
static const char *const denied[] = {
	"acct", "add_key", "bpf", "clock_adjtime", "clock_settime", "create_module",
	"delete_module", "finit_module", "fsconfig", "fsmount", "fsopen", "fspick",
	"get_kernel_syms", "get_mempolicy", "init_module", "io_uring_enter",
	"io_uring_register", "io_uring_setup", "ioperm", "iopl", "kcmp", "kexec_file_load",
	"kexec_load", "keyctl", "lookup_dcookie", "mbind", "mount", "mount_setattr",
	"move_mount", "move_pages", "name_to_handle_at", "nfsservctl", "open_by_handle_at",
	"open_tree", "perf_event_open", "pivot_root", "process_vm_readv", "process_vm_writev",
	"ptrace", "query_module", "quotactl", "quotactl_fd", "reboot", "request_key",
	"set_mempolicy", "setns", "settimeofday", "stime", "swapoff", "swapon", "sysfs",
	"_sysctl", "umount", "umount2", "unshare", "uselib", "userfaultfd", "ustat", "vm86",
	"vm86old",
};

static struct sock_filter *filter;
static unsigned short filter_len;

static int add_rules(scmp_filter_ctx ctx)
{
	for (size_t i = 0; i < sizeof(denied) / sizeof(denied[0]); i++) {
		int nr = seccomp_syscall_resolve_name(denied[i]);

		if (nr == __NR_SCMP_ERROR)
			continue;   /* not on this architecture */
		if (seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0) < 0)
			return err_set("seccomp: rule for %s", denied[i]);
	}
	/* New user namespaces: clone with CLONE_NEWUSER; clone3's flags are
	 * out of reach of a filter, so it is "not implemented" (libc falls
	 * back to clone). */
	if (seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
			     SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_NEWUSER, CLONE_NEWUSER)) < 0 ||
	    seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0) < 0)
		return err_set("seccomp: rules for clone");
	/* Linux AIO contexts (an "[aio]" ring mapped in the process) cannot
	 * be carried: io_setup is "not implemented", as on a kernel without
	 * CONFIG_AIO, and its users fall back to threads (MariaDB's InnoDB:
	 * "Linux Native AIO disabled"). */
	if (seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(io_setup), 0) < 0)
		return err_set("seccomp: rule for io_setup");
	return 0;
}

/* The program libseccomp makes, read back from a memfd. */
static int export_program(scmp_filter_ctx ctx)
{
	int fd = memfd_create("pc-seccomp", MFD_CLOEXEC);
	off_t len;
	int rc = -1;

	if (fd < 0)
		return err_sys("memfd_create");
	if (seccomp_export_bpf(ctx, fd) < 0) {
		err_set("seccomp: export the filter");
		goto out;
	}
	len = lseek(fd, 0, SEEK_END);
	if (len <= 0 || len % sizeof(struct sock_filter) ||
	    len / sizeof(struct sock_filter) > BPF_MAXINSNS) {
		err_set("seccomp: exported filter of %lld bytes", (long long)len);
		goto out;
	}
	filter = malloc((size_t)len);
	if (!filter) {
		err_set("out of memory");
		goto out;
	}
	if (pread(fd, filter, (size_t)len, 0) != len) {
		err_sys("seccomp: read the filter back");
		free(filter);
		filter = NULL;
		goto out;
	}
	filter_len = (unsigned short)(len / sizeof(struct sock_filter));
	rc = 0;
out:
	close(fd);
	return rc;
}

static int build_filter(void)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	int rc;

	if (!ctx)
		return err_set("seccomp: init");
	rc = add_rules(ctx);
	if (rc == 0)
		rc = export_program(ctx);
	seccomp_release(ctx);
	return rc;
}

int box_seccomp_filter(const struct sock_filter **insns, unsigned short *len)
{
	static pthread_mutex_t once = PTHREAD_MUTEX_INITIALIZER;
	int rc = 0;

	pthread_mutex_lock(&once);   /* built by the first caller, of any thread */
	if (!filter)
		rc = build_filter();
	pthread_mutex_unlock(&once);
	if (rc < 0)
		return -1;
	*insns = filter;
	*len = filter_len;
	return 0;
}

int box_drop_capabilities(void)
{
	for (int cap = 0; cap < 64; cap++) {
		if (kept_caps & CAPBIT(cap))
			continue;
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
			if (errno == EINVAL)
				break;  /* past the kernel's last capability */
			return err_sys("drop capability %d from the bounding set", cap);
		}
	}
	return 0;
}

int box_lockdown(void)
{
	const struct sock_filter *insns;
	struct sock_fprog prog;
	unsigned short len;

	if (box_seccomp_filter(&insns, &len) < 0)
		return -1;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return err_sys("no_new_privs");
	prog.len = len;
	prog.filter = (struct sock_filter *)insns;
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
		return err_sys("install the seccomp filter");
	return 0;
}
