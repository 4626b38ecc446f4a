#!/bin/bash
# t-runtimes.sh - language runtimes users bring as servers, each boxed
# under the daemon with --idle 1s --sleep 3s, answered by its own client
# before any swap, after a nap and after sleeping:
# - Node.js (libuv: epoll, a thread pool, io_uring refused by the box's
#   seccomp filter so it falls back): an http server, curl;
# - OpenJDK (HotSpot: ~20 threads, signals, the hsperfdata file mapped
#   shared in /tmp): a com.sun.net.httpserver server compiled with javac,
#   curl; with the default GC and with ZGC (its heap a memfd that is both
#   an open fd and mapped shared several times);
# - Python's asyncio (epoll, a self-pipe socketpair, the signal wakeup
#   fd) with a multiprocessing lock (sem_open: a 32-byte file of /dev/shm,
#   removed, mapped shared): a line TCP server, a python client;
# - Gunicorn, preforked Python workers sharing the master's preloaded
#   memory copy-on-write and writing into it: curl.
d=$(dirname "$0"); . "$d/lib.sh"
d_need node java javac python3 gunicorn curl
s_init runtimes
s_ports 5; PN=${S_PORTS[0]} PJ=${S_PORTS[1]} PP=${S_PORTS[2]} PZ=${S_PORTS[3]} PG=${S_PORTS[4]}
ND=nd-$$ JV=jv-$$ PY=py-$$ ZG=zg-$$ GU=gu-$$   # box names are the host's cgroup names too

# count_ok DESC PREFIX CMD...: CMD answers "PREFIX n=N", N counting on
# from the last answer (the server's state survives every swap); N is the
# caller's
count_ok() {
	local desc=$1 want got
	shift
	N=$((N + 1))
	want="$1 n=$N"
	shift
	got=$("$@" 2>&1)
	[ "$got" = "$want" ] || s_fail "$desc: got '$got', expected '$want'"
}
get() { curl -sS --max-time 10 "http://127.0.0.1:$1/"; }

# Node.js: http, each answer read from a file (libuv's thread pool)
cat >"$D_DIR/srv.js" <<'JS'
const http = require('http'), fs = require('fs');
let n = 0;
http.createServer((q, r) => {
	fs.readFile(__filename, (e) => r.end(e ? 'error ' + e.code : 'node n=' + (++n)));
}).listen(80);
JS
s_box_create "$ND" 1s "127.0.0.1:$PN:80" -- --sleep 3s -- node "$D_DIR/srv.js"
node_ok() { count_ok "$1" node get "$PN"; }

# OpenJDK: com.sun.net.httpserver on HotSpot
cat >"$D_DIR/Server.java" <<'JAVA'
import com.sun.net.httpserver.HttpServer;
import java.net.InetSocketAddress;
import java.util.concurrent.atomic.AtomicInteger;
public class Server {
	public static void main(String[] a) throws Exception {
		AtomicInteger n = new AtomicInteger();
		HttpServer s = HttpServer.create(new InetSocketAddress(80), 0);
		s.createContext("/", x -> {
			byte[] b = ("jvm n=" + n.incrementAndGet()).getBytes();
			x.sendResponseHeaders(200, b.length);
			x.getResponseBody().write(b);
			x.close();
		});
		s.start();
	}
}
JAVA
javac -d "$D_DIR" "$D_DIR/Server.java" || s_fail "javac Server.java"
s_box_create "$JV" 1s "127.0.0.1:$PJ:80" -- --sleep 3s -- java -cp "$D_DIR" Server
jvm_ok() { count_ok "$1" jvm get "$PJ"; }
# the same with ZGC, whose heap is a memfd of gigabytes (sparse) mapped
# at several addresses and grown through its fd
s_box_create "$ZG" 1s "127.0.0.1:$PZ:80" -- --sleep 3s -- java -XX:+UseZGC -cp "$D_DIR" Server
zgc_ok() { count_ok "$1" jvm get "$PZ"; }

# Python asyncio: a line server answering each line with a count, the
# count taken in the loop's default executor (a thread pool) under a
# multiprocessing lock; its client is asyncio too
cat >"$D_DIR/srv.py" <<'PY'
import asyncio, itertools, multiprocessing
n = itertools.count(1)
lock = multiprocessing.Lock()   # a POSIX semaphore, its /dev/shm file removed
def count():
	with lock:
		return next(n)
async def serve(r, w):
	while line := await r.readline():
		k = await asyncio.get_running_loop().run_in_executor(None, count)
		w.write(b"%s n=%d\n" % (line.strip(), k))
		await w.drain()
	w.close()
async def main():
	s = await asyncio.start_server(serve, None, 80)
	async with s:
		await s.serve_forever()
asyncio.run(main())
PY
cat >"$D_DIR/cli.py" <<'PY'
import asyncio, sys
async def main():
	r, w = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", int(sys.argv[1])), 10)
	w.write(b"asyncio\n")
	print((await asyncio.wait_for(r.readline(), 10)).decode().strip())
	w.close()
asyncio.run(main())
PY
s_box_create "$PY" 1s "127.0.0.1:$PP:80" -- --sleep 3s -- /usr/bin/python3 "$D_DIR/srv.py"
py_ok() { count_ok "$1" asyncio python3 "$D_DIR/cli.py" "$PP"; }

# Gunicorn, two sync workers forked from a master that preloaded the app
# (--preload: its list is shared copy-on-write with the workers, which
# write into it at each request); each worker's heartbeat is a removed
# mkstemp file (O_NOFOLLOW) it fchmods; a worker answers "ok" when the
# list holds what its own requests added and its count is the one it
# left in a file (memory written after a revival and lost by the next
# swap-out shows), and no worker may be rebooted
cat >"$D_DIR/wsgiapp.py" <<'PY'
import os
data = list(range(300000))
base, n = sum(data), 0
def app(env, start):
	global n
	f = "/tmp/gunicorn-count.%d" % os.getpid()   # the count kept outside memory too
	kept = int(open(f).read()) if os.path.exists(f) else 0
	n += 1
	for i in range(0, len(data), 97):
		data[i] += 1
	good = kept == n - 1 and sum(data) == base + n * len(range(0, len(data), 97))
	open(f, "w").write(str(n))
	body = b"gunicorn ok" if good else b"gunicorn lost writes"
	start("200 OK", [("Content-Length", str(len(body)))])
	return [body]
PY
s_box_create "$GU" 1s "127.0.0.1:$PG:8000" -- --sleep 3s --workdir "$D_DIR" -- \
	gunicorn --preload -w 2 -b 0.0.0.0:8000 wsgiapp:app
gu_ok() {
	local i
	for i in 1 2 3 4; do
		d_expect "$1, request $i" "gunicorn ok" get "$PG"
	done
}

# all at once, each through its cycles in a job of its own (N is
# each job's own)
jobs=()
for c in "$ND node_ok" "$JV jvm_ok" "$ZG zgc_ok" "$PY py_ok" "$GU gu_ok"; do
	N=0
	s_cycles $c &
	jobs+=($!)
done
for j in "${jobs[@]}"; do wait "$j" || s_fail "a server's cycles failed (above)"; done
booted=$(s_app logs "$GU" | grep -c "Booting worker")
[ "$booted" = 2 ] || s_fail "gunicorn booted $booted workers, not 2: $(s_app logs "$GU" | grep -v Booting | tail -3)"
d_log PASS
