/*
 * proc-target.h - what proc-target (the tree under test) reports to u-proc
 * over fd 3: the state it set up, as it sees it from inside its namespace.
 */
#ifndef PROC_TARGET_H
#define PROC_TARGET_H

#include <stdint.h>
#include <sys/resource.h>

#define PT_PAGE 4096ul
#define PT_REGION_PAGES 24           /* layout of the test region, in pages: */
#define PT_ANON_OFF 1                /*   1..4   private anonymous, RW */
#define PT_ANON_PAGES 4
#define PT_SHANON_OFF 6              /*   6..7   MAP_SHARED anonymous */
#define PT_SHANON_PAGES 2
#define PT_MEMFD_OFF 9               /*   9..11  memfd, MAP_SHARED */
#define PT_MEMFD_PAGES 3
#define PT_FILE_OFF 13               /*  13..14  "map file.dat" from offset 4096, private R */
#define PT_FILE_PAGES 2
#define PT_SHFILE_OFF 16             /*  16      "shared.dat", MAP_SHARED RW */
#define PT_DD_OFF 18                 /*  18      anon RW, MADV_DONTDUMP + DONTFORK */
#define PT_GUARD_OFF 20              /*  20      PROT_NONE guard (in the reserve) */
#define PT_MANY 600                  /* alternating-prot one-page vmas */

#define PT_MAP_FILE "map file.dat"   /* 3 pages */
#define PT_SHARED_FILE "shared.dat"  /* 1 page */
#define PT_DATA_FILE "data.txt"
#define PT_DATA_POS 123
#define PT_FD_APPEND 10              /* data.txt O_RDWR|O_APPEND at PT_DATA_POS */
#define PT_FD_CLOEXEC 11             /* data.txt O_RDONLY|O_CLOEXEC */
#define PT_FD_NULL 12                /* /dev/null O_WRONLY */
#define PT_FD_PIPE 20                /* in the process-group child */
#define PT_FD_SOCK 22                /* in its child */

#define PT_SIGVAL1 0x1234abcdull
#define PT_SIGVAL2 0xfeedull

struct pt_info {
	char err[256];               /* non-empty: set-up failed */
	/* mode "main" */
	int32_t grp_pid, sock_pid, zombie_pid;
	int32_t worker_tid[2];
	int32_t timer_id[3];
	uint64_t region, many;
	uint64_t memfd_dev, memfd_ino;
	uint64_t arg0, env0, entry, code_addr, data_addr;
	struct rlimit rl[RLIM_NLIMITS];
	/* mode "gone" */
	int32_t orphan_pid, dead_leader;
	int32_t exited_leader;       /* main thread exited, a thread lives on */
};

#endif
