#!/bin/bash
# t-spawn-opts.sh - cr spawn's --env, --user and --workdir, with and without
# a box: the variable is set, the process runs as the uid:gid with no
# supplementary groups, in the directory.  In a box the environment starts
# clean (a variable of the caller does not leak in); without one it is
# inherited as before.  A bad --user or --env is a one-line error.
d=$(dirname "$0"); . "$d/lib.sh"
b_init spawn-opts
export PC_LEAK=leaked-$$
SCRIPT='echo "env=$FOO leak=${PC_LEAK:-none} ids=$(id -u):$(id -g):$(id -G) pwd=$(pwd)"; sleep 600'
b_spawn opts --env FOO=bar-$$ --user 33:34 --workdir /tmp -- sh -c "$SCRIPT" || b_fail "spawn in a box"
pid=$("$PICOCENTER" cr spawn --log "$B_DIR/plain.log" --env FOO=bar-$$ --user 33:34 --workdir /tmp \
	-- sh -c "$SCRIPT") || b_fail "spawn without a box"
B_PIDS+=("$pid")
b_wait "the boxed app's line" grep -q env= "$B_DIR/opts-$$.log"
b_wait "the plain app's line" grep -q env= "$B_DIR/plain.log"
want="env=bar-$$ leak=none ids=33:34:34 pwd=/tmp"
[ "$(grep env= "$B_DIR/opts-$$.log")" = "$want" ] || b_fail "in a box: $(cat "$B_DIR/opts-$$.log")"
want="env=bar-$$ leak=leaked-$$ ids=33:34:34 pwd=/tmp"
[ "$(grep env= "$B_DIR/plain.log")" = "$want" ] || b_fail "without a box: $(cat "$B_DIR/plain.log")"
for bad in "--user x" "--user 1:y" "--env NOEQUALS" "--env =v"; do
	err=$("$PICOCENTER" cr spawn $bad -- true 2>&1) && b_fail "$bad accepted"
	[ "$(printf '%s\n' "$err" | wc -l)" = 1 ] || b_fail "$bad: not one line: $err"
done
b_log PASS
