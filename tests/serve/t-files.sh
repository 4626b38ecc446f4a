#!/bin/bash
# t-files.sh - an app that writes files keeps them across swap cycles: a
# small Python server in a box appends one line per request to a file it
# keeps open, and writes a new file per request in its working directory
# (both land in the box's writable layer, never on the host); after 5 idle
# swap-outs and revivals through its published port every line and file
# is there, and the open file is still appended to at its end.
d=$(dirname "$0"); . "$d/lib.sh"
d_need python3 curl
s_init files
PORT=$(d_port)
mkdir -p "$D_DIR/work"
cat >"$D_DIR/app.py" <<'PY'
import http.server, os, sys
journal = open("journal.txt", "a", buffering=1)
count = [0]
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        count[0] += 1
        journal.write("request %d\n" % count[0])
        with open("file.%d" % count[0], "w") as f:
            f.write("content %d\n" % count[0])
        body = ("%d\n" % count[0]).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
http.server.HTTPServer(("0.0.0.0", 8000), H).serve_forever()
PY
A=files-$$
s_box_create "$A" 1s "127.0.0.1:$PORT:8000" -- --workdir "$D_DIR/work" -- python3 "$D_DIR/app.py"
UPPER=$S_DIR/boxes/$A/upper$D_DIR/work
for c in $(seq 5); do
	d_expect "request $c" "$c" curl -s --max-time 20 "http://127.0.0.1:$PORT/"
	s_wait_state "$A" napping 20
done
d_expect "request 6" 6 curl -s --max-time 20 "http://127.0.0.1:$PORT/"
expect=$(for i in $(seq 6); do echo "request $i"; done)
[ "$(cat "$UPPER/journal.txt")" = "$expect" ] || s_fail "journal.txt is: $(cat "$UPPER/journal.txt")"
for i in $(seq 6); do
	[ "$(cat "$UPPER/file.$i")" = "content $i" ] || s_fail "file.$i is wrong or missing"
done
[ -z "$(ls -A "$D_DIR/work")" ] || s_fail "the app wrote on the host: $(ls -A "$D_DIR/work")"
[ "$(s_field "$A" 'a["swaps"]')" -ge 5 ] || s_fail "only $(s_field "$A" 'a["swaps"]') swaps"
s_app rm "$A" >/dev/null || s_fail "rm $A"
[ -e "$S_DIR/boxes/$A" ] && s_fail "app rm left its box"
d_log PASS
