# attack.py - run as the app of a box by t-isolation.sh: every attempt to
# get out of the box; prints "blocked NAME" or "ESCAPED NAME: detail" for
# each, then "DONE N".  It runs again on every SIGUSR1 (after a restore).
#   argv: OTHER_HOST_PID OTHER_ADDR OTHER_PORT OTHER_ABSTRACT HOST_ADDR HOST_PORT BOXES_DIR OTHER_NAME
# or, for t-ipv6.sh, only IPv6 connections:
#   argv: tcp6 NAME=ADDR=PORT...
import ctypes, errno, os, resource, signal, socket, sys

tcp6_targets = sys.argv[2:] if sys.argv[1] == "tcp6" else None
if tcp6_targets is None:
    other_pid, other_addr, other_port, other_abs, host_addr, host_port, boxes, other = sys.argv[1:9]
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
SYS = {"bpf": 321, "keyctl": 250, "ptrace": 101, "unshare": 272, "perf_event_open": 298}


def report(name, escaped, detail=""):
    print(("ESCAPED %s: %s" % (name, detail)) if escaped else "blocked " + name, flush=True)


def tcp(name, addr, port, family=socket.AF_INET):
    s = socket.socket(family)
    s.settimeout(1.0)
    try:
        s.connect((addr, int(port)))
        report(name, True, "connected to %s:%s" % (addr, port))
    except OSError:
        report(name, False)
    finally:
        s.close()


def sysc(name, nr, *args):
    r = libc.syscall(ctypes.c_long(nr), *[ctypes.c_long(a) for a in args])
    e = ctypes.get_errno()
    report(name, not (r == -1 and e == errno.EPERM), "returned %d errno %d" % (r, e))


def attempts():
    n = 0
    # processes of another box: invisible, cannot be signalled
    mine = [p for p in os.listdir("/proc") if p.isdigit()]
    report("see-processes", len(mine) > 8 or other_pid in mine, "pids %s" % mine)
    try:
        os.kill(int(other_pid), 0)
        report("signal-process", True, "kill -0 %s worked" % other_pid)
    except OSError:
        report("signal-process", False)
    # files of another box (its upper layer) and the state dir
    upper = os.path.join(boxes, other, "upper")
    for name, mode in (("read-files", "r"), ("write-files", "w")):
        try:
            open(os.path.join(upper, "secret"), mode).close()
            report(name, True, "opened %s/secret" % upper)
        except OSError:
            report(name, False)
    try:
        listed = os.listdir(boxes)
        report("state-dir", len(listed) > 0, "listed %s" % listed)
    except OSError:
        report("state-dir", False)
    # network: the other box, its abstract socket, a host service on the bridge
    tcp("connect-other-box", other_addr, other_port)
    u = socket.socket(socket.AF_UNIX)
    try:
        u.connect("\0" + other_abs)
        report("abstract-socket", True, "connected to @" + other_abs)
    except OSError:
        report("abstract-socket", False)
    tcp("host-service-on-bridge", host_addr, host_port)
    # privileged operations
    r = libc.mount(b"none", b"/mnt", b"tmpfs", 0, None)
    report("mount", r == 0, "mount returned 0")
    try:
        with open("/proc/sys/kernel/domainname", "w") as f:
            f.write("escaped")
        report("write-proc-sys", True, "wrote /proc/sys/kernel/domainname")
    except OSError:
        report("write-proc-sys", False)
    sysc("bpf", SYS["bpf"], 5, 0, 0)
    sysc("keyctl", SYS["keyctl"], 0, 0, 0)
    sysc("perf_event_open", SYS["perf_event_open"], 0, 0, -1, -1, 0)
    sysc("ptrace", SYS["ptrace"], 16, int(other_pid), 0, 0)
    sysc("unshare-user", SYS["unshare"], 0x10000000)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard + 1, hard + 1))
        report("raise-rlimit", True, "hard limit %d raised" % hard)
    except (OSError, ValueError):
        report("raise-rlimit", False)
    try:
        os.mknod("/tmp/pc-null", 0o20666, os.makedev(1, 3))
        report("mknod", True, "made /tmp/pc-null")
    except OSError:
        report("mknod", False)
    print("DONE", flush=True)


def attempts_tcp6():
    for t in tcp6_targets:
        name, addr, port = t.split("=")
        tcp(name, addr, port, socket.AF_INET6)
    print("DONE %d" % len(tcp6_targets), flush=True)


run = attempts if tcp6_targets is None else attempts_tcp6
signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR1])
run()
while True:
    signal.sigwait([signal.SIGUSR1])
    run()
