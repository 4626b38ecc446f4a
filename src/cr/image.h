/*
 * image.h - the in-memory model of a checkpoint image.
 *
 * The dumper fills a struct cr_image from a frozen process tree, image_io.c
 * (with image_codec.c and image_check.c) serializes it to DIR/manifest and
 * parses it back (validating every field), and the restorer rebuilds the
 * tree from it.  Page contents live beside the
 * manifest in DIR/pages, referenced by struct cr_page_run.  The on-disk
 * layout is documented in docs/image-format.md.
 *
 * All pids here are pids inside the tree's own PID namespace.
 */
#ifndef PC_CR_IMAGE_H
#define PC_CR_IMAGE_H

#include <fcntl.h>
#include <stdint.h>
#include <sys/user.h>

#include "cr/inet.h"

#define CR_IMAGE_VERSION 7
/* F_SEAL_SEAL, _SHRINK, _GROW, _WRITE, _FUTURE_WRITE, _EXEC */
#define CR_MEMFD_SEALS 0x3fu
#define CR_PAGE_SIZE 4096u
#define CR_NSIG 64            /* signals 1..64 */
#define CR_NR_RLIMITS 16
#define CR_PATH_MAX 4096
#define CR_COMM_LEN 16
#define CR_SIGINFO_SIZE 128
#define CR_XSAVE_MAX 16384
#define CR_AUXV_MAX 64        /* pairs */
#define CR_MAX_PROCS 4096
#define CR_MAX_THREADS 4096   /* per process */
#define CR_MAX_VMAS 65536     /* per process */
#define CR_MAX_FILES (1u << 20) /* open file descriptions in an image */
#define CR_MAX_FDS (1u << 20)   /* per process */
#define CR_BLOB_MAX (256u << 20) /* bytes in one cr_file_data */
#define CR_SOCKADDR_MAX 128   /* sizeof(struct sockaddr_storage) */
#define CR_FILE_NONE 0xffffffffu /* "no file" in cr_file.peer */

/* A run of consecutive present, non-zero pages stored in DIR/pages. */
struct cr_page_run {
	uint64_t addr;        /* first page's address (in a VMA) or offset (shmem) */
	uint64_t nr_pages;
	uint64_t file_off;    /* byte offset in DIR/pages, page aligned */
	uint32_t flags;       /* CR_RUN_*; 0 in shared memory */
};

/* The run's pages were, at the dump, the very pages (copy-on-write
 * shared) its process's parent had at the same addresses: a restore that
 * forks the process from its restored parent keeps them instead of
 * writing them (docs/memory.md).  The parent's runs cover the same
 * addresses, in VMAs of the same kind. */
#define CR_RUN_INHERITED 1u

struct cr_siginfo {
	uint8_t raw[CR_SIGINFO_SIZE]; /* siginfo_t as PTRACE_PEEKSIGINFO gives it */
};

struct cr_thread {
	int32_t tid;
	char comm[CR_COMM_LEN];
	struct user_regs_struct regs;  /* restart-adjusted: see dump */
	uint32_t xsave_len;
	uint8_t *xsave;                /* NT_X86_XSTATE buffer, xsave_len bytes */
	uint64_t rseq_addr;            /* 0: none */
	uint32_t rseq_len;
	uint32_t rseq_sig;
	uint64_t robust_head;          /* 0: none */
	uint64_t robust_len;
	uint64_t clear_tid;            /* set_tid_address value, 0: none */
	uint64_t sigmask;              /* blocked signals, bit (sig-1) */
	uint64_t altstack_sp;
	uint64_t altstack_size;
	int32_t altstack_flags;        /* SS_DISABLE, SS_AUTODISARM... */
	uint32_t nr_pending;
	struct cr_siginfo *pending;    /* thread-directed pending signals */
};

enum cr_vma_kind {
	CR_VMA_ANON = 1,      /* private anonymous (incl. heap, stacks) */
	CR_VMA_FILE,          /* private mapping of a regular file */
	CR_VMA_SHMEM,         /* MAP_SHARED of shmem/memfd/anon-shared: see cr_shmem */
	CR_VMA_FILE_SHARED,   /* MAP_SHARED of a regular file */
	CR_VMA_VVAR,          /* [vvar] */
	CR_VMA_VVAR_VCLOCK,   /* [vvar_vclock] */
	CR_VMA_VDSO,          /* [vdso] */
	CR_VMA_VSYSCALL,      /* [vsyscall]: fixed by the kernel, not restored */
};

/* VMA flags (cr_vma.flags). */
#define CR_VMA_F_SHARED     (1u << 0)
#define CR_VMA_F_GROWSDOWN  (1u << 1)
#define CR_VMA_F_HEAP       (1u << 2)   /* [heap] */
#define CR_VMA_F_STACK      (1u << 3)   /* [stack] */
#define CR_VMA_F_DONTFORK   (1u << 4)   /* VmFlags dc */
#define CR_VMA_F_DONTDUMP   (1u << 5)   /* VmFlags dd */
#define CR_VMA_F_WIPEONFORK (1u << 6)   /* VmFlags wf */
#define CR_VMA_F_HUGEPAGE   (1u << 7)   /* VmFlags hg */
#define CR_VMA_F_NOHUGEPAGE (1u << 8)   /* VmFlags nh */
#define CR_VMA_F_LOCKED     (1u << 9)   /* VmFlags lo */

struct cr_vma {
	uint64_t start, end;           /* page aligned, start < end */
	uint32_t prot;                 /* PROT_READ|PROT_WRITE|PROT_EXEC */
	uint32_t flags;                /* CR_VMA_F_* */
	uint32_t kind;                 /* enum cr_vma_kind */
	uint32_t shmem_id;             /* CR_VMA_SHMEM: index into image shmem[] */
	uint64_t pgoff;                /* file offset in bytes (FILE, SHMEM) */
	char *path;                    /* FILE, FILE_SHARED: absolute path; else NULL */
	uint64_t file_size;            /* FILE*: st_size at dump, checked at restore */
	int64_t file_mtime_ns;         /* FILE*: st_mtim at dump, checked at restore */
	uint32_t nr_runs;
	struct cr_page_run *runs;      /* ANON and FILE: pages to write, addr order */
	/* Dump-time only, not serialized: identity of a SHMEM/FILE* inode;
	 * smaps' Rss and Swap (no page at all when both are 0). */
	uint64_t dev, ino;
	uint64_t rss_kb, swap_kb;
};

/* A SysV IPC object's identity and permissions (struct ipc_perm). */
struct cr_ipc_perm {
	int32_t id;                    /* shmid/semid/msqid in the tree's IPC namespace */
	uint32_t key;                  /* IPC_PRIVATE = 0 */
	uint32_t uid, gid, cuid, cgid;
	uint32_t mode;                 /* permission bits, <= 0777 */
};

/* A shared memory object (shmem inode) mapped by one or more VMAs, or a
 * SysV shared memory segment of the tree's IPC namespace (mapped or not). */
struct cr_shmem {
	uint64_t size;                 /* bytes, page aligned */
	uint32_t nr_runs;
	struct cr_page_run *runs;      /* addr = offset in the object */
	uint32_t sysv;                 /* CR_SYSV_*: a SysV segment, perm and segsz */
	struct cr_ipc_perm perm;
	uint64_t segsz;                /* SysV: shm_segsz in bytes (size rounds it up) */
	/* Dump-time only, not serialized: a SysV segment's inode. */
	uint64_t dev, ino;
};

#define CR_SYSV_SHM 1                  /* cr_shmem.sysv: a SysV segment */
#define CR_SYSV_SHM_REMOVED 2          /* ... removed (IPC_RMID) while attached */

#define CR_SEM_MAX 32000               /* semaphores in one set (SEMMSL's limit) */
#define CR_SEMVMX 32767

/* A SysV semaphore set. */
struct cr_sem_set {
	struct cr_ipc_perm perm;
	uint32_t nsems;                /* 1..CR_SEM_MAX */
	uint16_t *vals;                /* semval of each, <= CR_SEMVMX */
};

/* One message of a SysV message queue. */
struct cr_msg {
	int64_t mtype;                 /* > 0 */
	uint64_t len;                  /* <= CR_BLOB_MAX */
	uint8_t *data;
};

/* A SysV message queue and its messages, oldest first. */
struct cr_msg_queue {
	struct cr_ipc_perm perm;
	uint64_t qbytes;               /* msg_qbytes */
	uint32_t nr_msgs;
	struct cr_msg *msgs;
};

struct cr_sigaction {
	uint64_t handler;              /* SIG_DFL=0, SIG_IGN=1, or address */
	uint64_t flags;                /* SA_* incl. SA_RESTORER */
	uint64_t restorer;
	uint64_t mask;
};

struct cr_itimer {                   /* one of ITIMER_REAL, _VIRTUAL, _PROF */
	int64_t interval_us;
	int64_t value_us;              /* remaining, 0 = disarmed */
};

struct cr_posix_timer {
	int32_t id;                    /* kernel timer id (kept at restore) */
	int32_t clock;                 /* clockid */
	int32_t notify;                /* SIGEV_SIGNAL / SIGEV_NONE / SIGEV_THREAD_ID */
	int32_t signo;
	int32_t notify_tid;            /* SIGEV_THREAD_ID target */
	uint64_t sigval;
	int64_t interval_ns;
	int64_t value_ns;              /* remaining, 0 = disarmed */
};

struct cr_creds {
	uint32_t uid, euid, suid, fsuid;
	uint32_t gid, egid, sgid, fsgid;
	uint32_t nr_groups;
	uint32_t groups[64];
	uint64_t cap_inh, cap_prm, cap_eff, cap_bnd, cap_amb;
	uint32_t no_new_privs;
	uint32_t securebits;
};

struct cr_rlimit {
	uint64_t cur, max;             /* RLIM_INFINITY = ~0 */
};

/*
 * Files.  An image holds one struct cr_file per open file description of
 * the whole tree (two fds share one iff they share the kernel's struct
 * file: dup, fork, SCM_RIGHTS), and each process a list of struct cr_fd
 * pointing into it.  See src/cr/files.h for the dump/restore contract and
 * docs/image-format.md for the record layout of each kind.
 */
enum cr_file_kind {
	CR_FILE_REG = 1,               /* regular file: path, or content if unlinked */
	CR_FILE_DIR,                   /* directory (getdents restarts at 0) */
	CR_FILE_DEV,                   /* /dev/null|zero|random|urandom (other terminals too, as /dev/null) */
	CR_FILE_PIPE,                  /* one end of a pipe: obj = pipe inode */
	CR_FILE_FIFO,                  /* one end of a named pipe: path, obj = inode */
	CR_FILE_UNIX,                  /* AF_UNIX socket */
	CR_FILE_EPOLL,                 /* ents: registered fds */
	CR_FILE_EVENTFD,
	CR_FILE_TIMERFD,
	CR_FILE_SIGNALFD,
	CR_FILE_INOTIFY,               /* ents: watches */
	CR_FILE_TCP,                   /* reserved for inet sockets */
	CR_FILE_UDP,                   /* reserved for inet sockets */
	CR_FILE_NETLINK,               /* AF_NETLINK socket (ROUTE, KOBJECT_UEVENT) */
	CR_FILE_MQUEUE,                /* POSIX message queue: path = its name */
	CR_FILE_TTY,                   /* one side of a pty pair (devpts): peer = the other */
	CR_FILE_KIND_MAX = CR_FILE_TTY,
};

/* A blob of data carried with a file: pipe content, one queued socket
 * message (or a run of stream bytes), the content of an unlinked file. */
struct cr_file_data {
	uint32_t flags;                /* kind-specific: MQUEUE the message's priority */
	uint64_t len;                  /* <= CR_BLOB_MAX */
	uint8_t *data;
};

/* An entry of a file: an epoll registration or an inotify watch. */
struct cr_file_ent {
	int32_t fd;                    /* EPOLL: target fd number; INOTIFY: wd */
	uint32_t events;               /* EPOLL: events (incl. EPOLLET...); INOTIFY: mask */
	uint64_t data;                 /* EPOLL: epoll_data; INOTIFY: 0 */
	char *path;                    /* INOTIFY: watched path; EPOLL: NULL */
};

struct cr_sockaddr {
	uint32_t len;                  /* 0: none; <= CR_SOCKADDR_MAX */
	uint8_t addr[CR_SOCKADDR_MAX];
};

/* Per-kind fields (only the member of cr_file.kind is meaningful). */
struct cr_file_reg {                 /* CR_FILE_REG */
	uint32_t unlinked;             /* CR_REG_*: 0 a file with a name; removed: */
	uint32_t mode;                 /* st_mode & 07777 */
	uint64_t size;                 /* st_size */
	uint32_t seals;                /* a memfd's F_GET_SEALS; 0 for other files */
	/* A removed file's owner (as a box sees it), in an optional FOWNER
	 * record after the file's: has_owner 0 when an older build wrote it. */
	uint32_t has_owner, uid, gid;
};

#define CR_REG_UNLINKED 1              /* content is data[0], path is where it was */
#define CR_REG_IN_SHMEM 2              /* content is shmem[obj], which the tree maps:
                                          the fd opens that object again */

struct cr_file_pipe {                /* CR_FILE_PIPE, CR_FILE_FIFO */
	uint32_t size;                 /* F_GETPIPE_SZ */
	uint32_t has_data;             /* 1: data[] is the pipe's content (one file per pipe) */
};

struct cr_file_unix {                /* CR_FILE_UNIX */
	uint32_t type;                 /* SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET */
	uint32_t state;                /* CR_UNIX_* */
	uint32_t backlog;              /* listening: max backlog */
	uint32_t passcred;             /* SO_PASSCRED */
	uint64_t rcvbuf, sndbuf;       /* SO_RCVBUF / SO_SNDBUF as getsockopt gives them */
	int64_t rcvtimeo_us, sndtimeo_us;
	uint32_t name_mode;            /* bound to a path: the socket file's mode, uid, gid */
	uint32_t name_uid, name_gid;
	uint32_t shutdown;             /* sk_shutdown bits: 1 receive, 2 send (CR_UNIX_SHUT_*) */
	uint64_t custody;              /* 0, or the dump's custody tag (listeners, as inet) */
	uint32_t name_state;           /* CR_UNIX_NAME_*: where a path name's file is */
};

/* A path name's socket file (cr_file_unix.name_state). */
enum cr_unix_name_state {
	CR_UNIX_NAME_BOUND = 0,        /* at laddr (or no path name) */
	CR_UNIX_NAME_RENAMED,          /* renamed after bind: now at cr_file.path */
	CR_UNIX_NAME_UNLINKED,         /* unlinked after bind */
};

#define CR_UNIX_SHUT_RD 1u
#define CR_UNIX_SHUT_WR 2u

enum cr_unix_state {
	CR_UNIX_UNCONN = 1,            /* not connected (may be bound) */
	CR_UNIX_LISTEN,                /* listening */
	CR_UNIX_CONN,                  /* connected to peer (a file of the image) */
	CR_UNIX_CONN_EXT,              /* dgram connected to raddr, outside the tree */
	CR_UNIX_PEER_GONE,             /* connected, the peer has closed */
};

struct cr_file_netlink {             /* CR_FILE_NETLINK */
	uint32_t protocol;             /* NETLINK_ROUTE, NETLINK_KOBJECT_UEVENT */
	uint32_t type;                 /* SOCK_RAW, SOCK_DGRAM */
	uint32_t portid;               /* at dump (informative: the kernel assigns a new one) */
	uint32_t opts;                 /* CR_NETLINK_O_*: boolean socket options set */
	uint64_t groups[2];            /* multicast groups 1..128: bit (group-1) */
	uint64_t rcvbuf, sndbuf;       /* SO_RCVBUF / SO_SNDBUF as getsockopt gives them */
	uint32_t dst_portid;           /* connect(2)ed destination, 0: none */
	uint32_t dst_group;
};

/* Netlink boolean options (bit n: socket option NETLINK_* number n). */
#define CR_NETLINK_O_PKTINFO      (1u << 3)
#define CR_NETLINK_O_BCAST_ERROR  (1u << 4)
#define CR_NETLINK_O_NO_ENOBUFS   (1u << 5)
#define CR_NETLINK_O_ALL_NSID     (1u << 8)
#define CR_NETLINK_O_CAP_ACK      (1u << 10)
#define CR_NETLINK_O_EXT_ACK      (1u << 11)
#define CR_NETLINK_O_STRICT_CHK   (1u << 12)
#define CR_NETLINK_O_MASK (CR_NETLINK_O_PKTINFO | CR_NETLINK_O_BCAST_ERROR | \
			   CR_NETLINK_O_NO_ENOBUFS | CR_NETLINK_O_ALL_NSID | \
			   CR_NETLINK_O_CAP_ACK | CR_NETLINK_O_EXT_ACK | CR_NETLINK_O_STRICT_CHK)

#define CR_MQ_PRIO_MAX 32768           /* priorities are below (MQ_PRIO_MAX) */

struct cr_file_mqueue {              /* CR_FILE_MQUEUE */
	uint32_t unlinked;             /* 1: mq_unlink()ed while open */
	uint32_t mode;                 /* permission bits */
	uint32_t uid, gid;
	int64_t maxmsg, msgsize;       /* mq_attr */
	uint32_t has_data;             /* 1: data[] are the queue's messages, in the
	                                  order they are received; one file per queue */
};

#define CR_TTY_NCCS 19                 /* the kernel's termios c_cc */
#define CR_TTY_INDEX_MAX 4095          /* highest pty index carried */

struct cr_file_tty {                 /* CR_FILE_TTY (src/cr/file_tty.c) */
	uint32_t master;               /* 1: the master (ptmx) side, 0: a slave */
	uint32_t index;                /* the pty's number in its devpts */
	uint32_t locked;               /* master: TIOCGPTLCK */
	uint32_t packet;               /* master: TIOCGPKT */
	uint32_t exclusive;            /* slave: TIOCGEXCL */
	uint32_t iflag, oflag, cflag, lflag, line;  /* this side's termios */
	uint64_t cc[3];                /* its c_cc[CR_TTY_NCCS], bytes in order */
	uint32_t rows, cols, xpixel, ypixel;        /* the pair's window size */
	uint32_t mode, uid, gid;       /* slave: its devpts node (uid, gid as a box sees them) */
	int32_t sid;                   /* slave: the session it is the controlling
	                                  terminal of (a pid of the tree), 0: none */
	int32_t fg_pgrp;               /* slave with sid: its foreground process group */
};

struct cr_file_eventfd {             /* CR_FILE_EVENTFD */
	uint64_t count;
	uint32_t semaphore;
};

struct cr_file_timerfd {             /* CR_FILE_TIMERFD */
	int32_t clock;
	uint32_t settime_flags;        /* TFD_TIMER_ABSTIME... (informative) */
	int64_t value_ns;              /* remaining, 0: disarmed */
	int64_t interval_ns;
	uint64_t ticks;                /* expirations not read yet */
};

struct cr_file_signalfd {            /* CR_FILE_SIGNALFD */
	uint64_t mask;                 /* bit (sig-1) */
};

/* File status flags an image may carry (cr_file.flags). */
#define CR_FILE_FLAGS_MASK ((uint32_t)(O_ACCMODE | O_APPEND | O_NONBLOCK | O_DSYNC | \
			    O_ASYNC | O_DIRECT | O_LARGEFILE | O_DIRECTORY | O_NOFOLLOW | \
			    O_NOATIME | O_PATH | O_SYNC | O_TMPFILE))

struct cr_file_inet {                /* CR_FILE_TCP, CR_FILE_UDP (src/cr/inet.h) */
	uint32_t family;               /* AF_INET, AF_INET6 */
	uint32_t state;                /* enum cr_inet_state */
	uint32_t backlog;              /* listening: listen(2) backlog */
	uint64_t custody;              /* 0, or the dump's custody tag: the socket
	                                  itself was handed to the holder (key: file index) */
	struct cr_inet_opts opts;
	struct cr_tcp_params tcp;      /* established: data[0] receive, data[1] send queue */
};

struct cr_file {
	uint32_t kind;                 /* enum cr_file_kind */
	uint32_t flags;                /* status flags: O_ACCMODE|O_APPEND|O_NONBLOCK|O_ASYNC|... */
	uint64_t pos;                  /* file offset (REG) */
	int32_t owner_type;            /* F_OWNER_TID/PID/PGRP (F_GETOWN_EX) */
	int32_t owner;                 /* ns pid/tid/pgid, 0: none */
	int32_t sig;                   /* F_GETSIG, 0: SIGIO */
	uint32_t peer;                 /* another file's index (socket peer), or CR_FILE_NONE */
	uint64_t obj;                  /* kernel object shared by several files (pipe inode), 0: none */
	char *path;                    /* REG, DIR, DEV, FIFO: absolute path; UNIX:
	                                  a renamed socket file's current name;
	                                  TCP, UDP: the interface it is bound to
	                                  (SO_BINDTODEVICE), NULL if none; TTY:
	                                  the ptmx a master was opened from, a
	                                  slave's /dev/pts/N (informative) */
	struct cr_sockaddr laddr;      /* sockets: bound address */
	struct cr_sockaddr raddr;      /* sockets: peer address when it matters */
	uint32_t nr_data;
	struct cr_file_data *data;
	uint32_t nr_ents;
	struct cr_file_ent *ents;
	union {
		struct cr_file_reg reg;
		struct cr_file_pipe pipe;
		struct cr_file_unix un;
		struct cr_file_eventfd efd;
		struct cr_file_timerfd tfd;
		struct cr_file_signalfd sfd;
		struct cr_file_inet inet;
		struct cr_file_netlink nl;
		struct cr_file_mqueue mq;
		struct cr_file_tty tty;
	};
	/* Dump-time only, not serialized: identity of the inode. */
	uint64_t dev, ino;
};

struct cr_fd {
	int32_t fd;
	uint32_t file;                 /* index into cr_image.files */
	uint32_t cloexec;
};

/* A file lock a process holds, set through one of its fds (file_lock.c). */
#define CR_LOCK_FLOCK 1                /* flock(2): the open file description's */
#define CR_LOCK_POSIX 2                /* fcntl F_SETLK: the process's */
#define CR_LOCK_OFD 3                  /* fcntl F_OFD_SETLK: the description's */
#define CR_MAX_LOCKS 4096              /* per process */
struct cr_lock {
	int32_t fd;
	uint32_t kind;                 /* CR_LOCK_* */
	uint32_t write;                /* 1: exclusive (write), 0: shared (read) */
	uint64_t start, len;           /* bytes; len 0: to the end of the file
	                                  (flock: 0, 0) */
};

struct cr_mm {
	uint64_t start_code, end_code, start_data, end_data;
	uint64_t start_brk, brk, start_stack;
	uint64_t arg_start, arg_end, env_start, env_end;
	uint32_t nr_auxv;              /* number of u64 words (pairs * 2) */
	uint64_t auxv[CR_AUXV_MAX * 2];
	char *exe_path;
};

struct cr_proc {
	int32_t pid, ppid, pgid, sid;
	uint32_t zombie;               /* 1: a zombie; only exit_code matters */
	int32_t exit_code;             /* wait status of a zombie */
	int32_t exit_signal;           /* signal sent to parent at exit (SIGCHLD) */
	char comm[CR_COMM_LEN];
	uint32_t umask;
	uint32_t personality;
	char *cwd;
	char *root;
	struct cr_creds creds;
	struct cr_rlimit rlimits[CR_NR_RLIMITS];
	struct cr_mm mm;
	struct cr_sigaction sigactions[CR_NSIG];  /* index sig-1 */
	struct cr_itimer itimers[3];
	uint32_t nr_timers;
	struct cr_posix_timer *timers;
	uint32_t nr_shared_pending;
	struct cr_siginfo *shared_pending;  /* process-directed pending signals */
	uint32_t nr_threads;
	struct cr_thread *threads;     /* threads[0] is the group leader */
	uint32_t nr_vmas;
	struct cr_vma *vmas;           /* sorted by start, non-overlapping */
	uint32_t nr_fds;
	struct cr_fd *fds;             /* sorted by fd */
	uint32_t nr_locks;
	struct cr_lock *locks;         /* each on one of fds */
};

struct cr_image {
	uint32_t version;
	uint32_t xsave_size;           /* CPU's XSAVE area size at dump */
	uint64_t xfeatures;            /* XCR0 at dump */
	uint64_t pages_size;           /* bytes in DIR/pages */
	uint64_t pages_hash;           /* XXH3-64 of DIR/pages */
	uint32_t nr_procs;
	struct cr_proc *procs;         /* procs[0] is the namespace init (pid 1),
	                                  parents before children */
	uint32_t nr_shmem;
	struct cr_shmem *shmem;
	uint32_t nr_files;
	struct cr_file *files;         /* open file descriptions, see cr_fd.file */
	uint32_t ipc_ns;               /* 1: the tree had its own IPC namespace, whose
	                                  SysV objects are shmem[].sysv, sems, msgqs */
	uint32_t nr_sems;
	struct cr_sem_set *sems;
	uint32_t nr_msgqs;
	struct cr_msg_queue *msgqs;
	char *box;                     /* name of the box the tree lives in, or
	                                  NULL (src/box/box.h) */
};

/* Start of p's first VMA of the given kind (e.g. CR_VMA_VDSO), 0 if none. */
uint64_t cr_vma_start(const struct cr_proc *p, uint32_t kind);

/* image_inet.c: the library model (inet.h) of an inet file of an image
 * (queues point into f); an address of the model in the image's form
 * (raw sockaddr_in/sockaddr_in6) and back. */
int cr_inet_model(const struct cr_file *f, struct cr_inet *sk);
void cr_inet_addr_out(uint32_t family, const struct cr_inet_addr *a, struct cr_sockaddr *sa);
int cr_inet_addr_in(uint32_t family, const struct cr_sockaddr *sa, struct cr_inet_addr *a);

/* Serialize img into DIR/manifest (write to a temporary, fsync, rename). */
int cr_image_write(const struct cr_image *img, const char *dir);
/* Parse and validate DIR/manifest into *img; on error *img is left empty. */
int cr_image_read(const char *dir, struct cr_image *img);
/* Parse from a buffer (the fuzz entry point); same validation. */
int cr_image_parse(const void *buf, size_t len, struct cr_image *img);
/* Free everything cr_image_read or the dumper allocated inside img. */
void cr_image_free(struct cr_image *img);

#endif
