/*
 * creds.c - credentials survive checkpoint/restore.
 *
 * Child "nobody": supplementary groups {100, 1000, 65533}, all gids and uids
 * 65534, keep-caps, then capabilities reduced to permitted/effective
 * {NET_BIND_SERVICE, KILL, CHOWN}, inheritable and ambient
 * {NET_BIND_SERVICE}, CAP_SYS_BOOT dropped from the bounding set,
 * no_new_privs set.  Child "mixed": groups {4, 24}, rgid 1002 / egid 65534 /
 * sgid 1003, ruid 1000 / euid 65534 / suid 1001 (no capabilities left).
 * Child "secure": securebits noroot, no-setuid-fixup, no-ambient-raise and
 * the noroot lock, then CAP_SETPCAP dropped (the restore needs it to set
 * them: it must not stay).
 * After each cycle each checks getresuid, getresgid, fsuid/fsgid,
 * getgroups, capget, the bounding and ambient sets, keep-caps and
 * no_new_privs.  The root checks that its own credentials are unchanged.
 */
#include <grp.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <sys/fsuid.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "check.h"

struct creds {
	uid_t r, e, s, fs;
	gid_t gr, ge, gs, gfs;
	int ngroups;
	gid_t groups[32];
	uint64_t eff, prm, inh, amb_net, bnd_boot;
	int keepcaps, nnp, securebits;
};

static struct creds now(void)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2] = { 0 };
	struct creds c = { 0 };

	getresuid(&c.r, &c.e, &c.s);
	getresgid(&c.gr, &c.ge, &c.gs);
	c.fs = (uid_t)setfsuid((uid_t)-1);
	c.gfs = (gid_t)setfsgid((gid_t)-1);
	c.ngroups = getgroups(32, c.groups);
	syscall(SYS_capget, &h, d);
	c.eff = d[0].effective | (uint64_t)d[1].effective << 32;
	c.prm = d[0].permitted | (uint64_t)d[1].permitted << 32;
	c.inh = d[0].inheritable | (uint64_t)d[1].inheritable << 32;
	c.amb_net = (uint64_t)prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_NET_BIND_SERVICE, 0, 0);
	c.bnd_boot = (uint64_t)prctl(PR_CAPBSET_READ, CAP_SYS_BOOT);
	c.keepcaps = prctl(PR_GET_KEEPCAPS);
	c.nnp = prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);
	c.securebits = prctl(PR_GET_SECUREBITS);
	return c;
}

static void compare(const char *who, const struct creds *w)
{
	struct creds c = now();

	CK(c.r == w->r && c.e == w->e && c.s == w->s && c.fs == w->fs,
	   "%s: uids %u/%u/%u fs %u, want %u/%u/%u fs %u", who, c.r, c.e, c.s, c.fs,
	   w->r, w->e, w->s, w->fs);
	CK(c.gr == w->gr && c.ge == w->ge && c.gs == w->gs && c.gfs == w->gfs,
	   "%s: gids %u/%u/%u fs %u, want %u/%u/%u fs %u", who, c.gr, c.ge, c.gs, c.gfs,
	   w->gr, w->ge, w->gs, w->gfs);
	CK(c.ngroups == w->ngroups &&
	   !memcmp(c.groups, w->groups, sizeof(gid_t) * (size_t)(c.ngroups > 0 ? c.ngroups : 0)),
	   "%s: %d supplementary groups (first %u), want %d (first %u)", who, c.ngroups,
	   c.ngroups > 0 ? c.groups[0] : 0, w->ngroups, w->ngroups > 0 ? w->groups[0] : 0);
	CK(c.eff == w->eff && c.prm == w->prm && c.inh == w->inh,
	   "%s: caps eff %llx prm %llx inh %llx, want %llx %llx %llx", who,
	   (unsigned long long)c.eff, (unsigned long long)c.prm, (unsigned long long)c.inh,
	   (unsigned long long)w->eff, (unsigned long long)w->prm, (unsigned long long)w->inh);
	CK(c.amb_net == w->amb_net, "%s: ambient NET_BIND_SERVICE %llu, want %llu", who,
	   (unsigned long long)c.amb_net, (unsigned long long)w->amb_net);
	CK(c.bnd_boot == w->bnd_boot, "%s: bounding SYS_BOOT %llu, want %llu", who,
	   (unsigned long long)c.bnd_boot, (unsigned long long)w->bnd_boot);
	CK(c.keepcaps == w->keepcaps, "%s: keepcaps %d, want %d", who, c.keepcaps, w->keepcaps);
	CK(c.nnp == w->nnp, "%s: no_new_privs %d, want %d", who, c.nnp, w->nnp);
	CK(c.securebits == w->securebits, "%s: securebits %#x, want %#x", who, c.securebits,
	   w->securebits);
}

static void __attribute__((noreturn)) serve(const char *who, const struct creds *want)
{
	for (int n = 0;; n++) {
		ck_wait_go(n);
		compare(who, want);
		ck_child_report(who, n);
	}
}

#define BIT(c) (1ull << (c))

static void become_nobody(void)
{
	static const gid_t groups[] = { 100, 1000, 65533 };
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2] = { 0 };
	uint32_t keep = BIT(CAP_NET_BIND_SERVICE) | BIT(CAP_KILL) | BIT(CAP_CHOWN);
	struct creds want;

	if (prctl(PR_CAPBSET_DROP, CAP_SYS_BOOT) < 0 || setgroups(3, groups) < 0 ||
	    setresgid(65534, 65534, 65534) < 0 || prctl(PR_SET_KEEPCAPS, 1) < 0 ||
	    setresuid(65534, 65534, 65534) < 0)
		ck_die("nobody: drop ids");
	d[0].effective = d[0].permitted = keep;
	d[0].inheritable = BIT(CAP_NET_BIND_SERVICE);
	if (syscall(SYS_capset, &h, d) < 0 ||
	    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_NET_BIND_SERVICE, 0, 0) < 0 ||
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		ck_die("nobody: caps");
	want = now();
	if (want.e != 65534 || want.eff != keep || !want.amb_net || want.bnd_boot || !want.nnp)
		ck_die("nobody: credentials not as set");
	ck_child_report("nobody", -1);
	serve("nobody", &want);
}

static void become_mixed(void)
{
	static const gid_t groups[] = { 4, 24 };
	struct creds want;

	if (setgroups(2, groups) < 0 || setresgid(1002, 65534, 1003) < 0 ||
	    setresuid(1000, 65534, 1001) < 0)
		ck_die("mixed: drop ids");
	want = now();
	if (want.r != 1000 || want.s != 1001 || want.gs != 1003 || want.eff != 0)
		ck_die("mixed: credentials not as set");
	ck_child_report("mixed", -1);
	serve("mixed", &want);
}

static void become_secure(void)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2] = { 0 };
	int bits = SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP |
		   SECBIT_NO_CAP_AMBIENT_RAISE;
	struct creds want;

	if (prctl(PR_SET_SECUREBITS, bits) < 0 || syscall(SYS_capget, &h, d) < 0)
		ck_die("secure: securebits");
	d[0].effective &= ~BIT(CAP_SETPCAP);
	d[0].permitted &= ~BIT(CAP_SETPCAP);
	if (syscall(SYS_capset, &h, d) < 0)
		ck_die("secure: drop CAP_SETPCAP");
	want = now();
	if (want.securebits != bits || (want.prm & BIT(CAP_SETPCAP)))
		ck_die("secure: credentials not as set");
	ck_child_report("secure", -1);
	serve("secure", &want);
}

int main(int argc, char **argv)
{
	struct creds root;
	pid_t p;

	ck_init(argc, argv);
	root = now();
	if ((p = fork()) == 0)
		become_nobody();
	if (p < 0 || (p = fork()) == 0)
		become_mixed();
	if (p < 0 || (p = fork()) == 0)
		become_secure();
	if (p < 0)
		ck_die("fork");
	ck_collect("nobody", -1, 5);
	ck_collect("mixed", -1, 5);
	ck_collect("secure", -1, 5);
	if (ck_report(-1) < 0)
		exit(2);
	ck_ready();
	for (int n = 0;; n++) {
		ck_wait_go(n);
		compare("root", &root);
		ck_collect("nobody", n, 5);
		ck_collect("mixed", n, 5);
		ck_collect("secure", n, 5);
		ck_report(n);
	}
}
