#!/bin/bash
# t-tmux.sh - a terminal program in a box: a tmux server (its socket at a
# path in the box, the master of a pty of the box's own devpts) runs bash
# on the slave (its controlling terminal, bash's group in the foreground).
# tmux's own client, run inside the box, types a command into the shell
# and reads the screen back after each of 2 cycles into the kept box (the
# second dumped with --verify: its trial restore opens the box's ptmx while
# the live tree holds the index) and one into a box made again in an
# empty box dir: the shell answers on the
# same terminal (/dev/pts/0 as `tty` says), the earlier output is still on
# the screen, the window keeps its size and `ps` shows the shell's session
# with its terminal and foreground group.
d=$(dirname "$0"); . "$d/lib.sh"
b_need tmux nsenter
b_init tmux
SOCK=/tmp/bf-tmux-$$.sock
b_spawn tm -- sh -c "tmux -S $SOCK new-session -d -s main -x 90 -y 25 'bash --norc --noprofile' &&
	exec sleep infinity" || b_fail "spawn in a box failed"
PID=$B_PID
N=tm-$$
tm() { b_in "$PID" tmux -S "$SOCK" "$@"; }
screen() { tm capture-pane -p -t main; }
b_wait "tmux" tm has-session -t main

# answered C: the screen shows C + 1 answers of ps.
answered() {
	[ "$(screen | grep -Ec ' pts/0 +bash$')" -ge $(($1 + 1)) ]
}

# type C: a command whose answer names cycle C; wait for it on the screen.
type_check() {
	tm send-keys -t main "echo answer-\$((1000 + $1)); tty; stty size; ps -o sid=,tpgid=,tty=,comm= -p \$\$" Enter ||
		b_fail "send-keys after cycle $1"
	b_wait "the shell's answer after cycle $1" answered "$1"
	local s
	s=$(screen)
	for k in $(seq 0 "$1"); do
		grep -q "^answer-$((1000 + k))\$" <<<"$s" || b_fail "answer $k lost from the screen after cycle $1"
	done
	[ "$(grep -c '^/dev/pts/0$' <<<"$s")" = "$(($1 + 1))" ] || b_fail "tty is not /dev/pts/0 after cycle $1: $s"
	[ "$(grep -c '^25 90$' <<<"$s")" = "$(($1 + 1))" ] || b_fail "window size lost after cycle $1: $s"
	[ "$(grep -Ec '^ *[0-9]+ +[0-9]+ pts/0 +bash$' <<<"$s")" = "$(($1 + 1))" ] ||
		b_fail "bash has no controlling terminal after cycle $1: $s"
}

type_check 0
for c in 1 2 3; do
	if [ "$c" = 3 ]; then
		b_cycle_moved tm "$PID" "$B_DIR/img"
	else
		B_DUMP_ARGS=$([ "$c" = 2 ] && echo --verify) b_cycle tm "$PID" "$B_DIR/img"
	fi
	PID=$B_PID
	type_check "$c"
	b_log "cycle $c ok (pid $PID)"
done
b_done "$N"
