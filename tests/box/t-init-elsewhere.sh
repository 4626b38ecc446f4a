#!/bin/bash
# t-init-elsewhere.sh - a boxed tree under picocenter-init, dumped, then
# restored from its image on "another machine" (an empty box dir) whose
# build has another init: the image carries the init its tree runs
# (box-init), which the restore puts back beside that build's copy, so
# the tree comes back and answers.  A box-init whose content is not the
# one its name says is refused, leaving no box behind.
d=$(dirname "$0"); . "$d/lib.sh"
b_need python3 curl
b_init initelse
HP=$(b_port)
mkdir -p "$B_DIR/www" && echo "served by the box" >"$B_DIR/www/index.html" && chmod -R a+rX "$B_DIR"
b_spawn web --init --port "$HP:8000" -- python3 -m http.server 8000 --directory "$B_DIR/www" ||
	b_fail "spawn in a box with an init"
PID=$B_PID
N=web-$$
get() { curl -sS --fail --max-time 5 "http://127.0.0.1:$HP/index.html"; }
b_wait "the server" get
"$PICOCENTER" cr dump --pid "$PID" --dir "$B_DIR/img" --box-dir "$B_BOXES" || b_fail "dump"
[ -s "$B_DIR/img/box-init" ] || b_fail "the image has no box-init"
"$PICOCENTER" box rm --box-dir "$B_BOXES" "$N" || b_fail "box rm"

# another build's init: the same program, one byte longer (another name)
cp "$(dirname "$PICOCENTER")/picocenter-init" "$B_DIR/other-init" && printf '\0' >>"$B_DIR/other-init" ||
	b_fail "make another init"
export PICOCENTER_INIT=$B_DIR/other-init

# a damaged box-init first: refused, nothing left
cp -r "$B_DIR/img" "$B_DIR/bad" && printf 'X' | dd of="$B_DIR/bad/box-init" bs=1 seek=100 conv=notrunc status=none
B_BOXES=$B_DIR/boxes-bad
out=$("$PICOCENTER" cr restore --dir "$B_DIR/bad" --box-dir "$B_BOXES" 2>&1) &&
	b_fail "a damaged box-init was restored"
echo "$out" | grep -q "its content is" || b_fail "the refusal does not say why: $out"
"$PICOCENTER" box ls --box-dir "$B_BOXES" | grep -q "$N" && b_fail "the refused restore left its box"
b_leftovers "$N"

B_BOXES=$B_DIR/boxes-2
PID=$("$PICOCENTER" cr restore --dir "$B_DIR/img" --box-dir "$B_BOXES") ||
	b_fail "restore into an empty box dir with another init"
B_PIDS+=("$PID")
[ "$(get)" = "served by the box" ] || b_fail "no answer after the restore"
[ "$(ls "$B_BOXES/.init" | wc -l)" = 2 ] || b_fail "the box dir's inits: $(ls "$B_BOXES/.init")"
b_log PASS
