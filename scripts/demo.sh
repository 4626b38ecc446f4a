#!/bin/bash
# demo.sh - `make demo`: start `picocenter serve` on a temporary state dir,
# deploy a small web site (Python's http.server, in a box of its own, its
# port 8000 published on 127.0.0.1) with a 2 s idle time,
# watch it swap out, reach it with curl and print the swap-in time, then
# stop everything and leave nothing behind.
set -u
cd "$(dirname "$0")/.." || exit 1
PC=$PWD/build/picocenter
DIR=$(mktemp -d /tmp/picocenter-demo.XXXXXX) || exit 1
export PICOCENTER_STATE_DIR=$DIR/state
SERVE=

finish() {
	"$PC" app rm web >/dev/null 2>&1
	[ -n "$SERVE" ] && kill "$SERVE" 2>/dev/null && wait "$SERVE" 2>/dev/null
	rm -rf "$DIR"
}
trap finish EXIT
trap 'exit 1' INT TERM
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$DIR/www"
echo "hello from an app that was swapped out" >"$DIR/www/index.html"

step "picocenter serve --state-dir $DIR/state   (its log: $DIR/serve.log)"
"$PC" serve --state-dir "$DIR/state" 2>"$DIR/serve.log" &
SERVE=$!
for _ in $(seq 200); do "$PC" app ls >/dev/null 2>&1 && break; sleep 0.05; done

step "picocenter app create web --port 127.0.0.1:$PORT:8000 --idle 2s -- python3 -m http.server ..."
"$PC" app create web --port "127.0.0.1:$PORT:8000" --idle 2s -- \
	python3 -m http.server --directory "$DIR/www" 8000 || exit 1
curl -s "http://127.0.0.1:$PORT/"

step "waiting for it to be idle for 2 s ..."
for _ in $(seq 100); do
	"$PC" app ls | grep -q '^web .* napping' && break
	sleep 0.2
done
"$PC" app ls

step "curl http://127.0.0.1:$PORT/   (revives it)"
start=$(date +%s%N)
curl -s "http://127.0.0.1:$PORT/"
echo "answered in $((($(date +%s%N) - start) / 1000000)) ms"
"$PC" app inspect web | grep -E '^(state|last_swap_out|last_swap_in)'

step "the daemon's log"
cat "$DIR/serve.log"

step "app rm web; stopping the daemon; removing $DIR"
