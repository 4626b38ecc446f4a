#!/bin/bash
# t-daemonize.sh - servers that daemonize by default, run as users bring
# them under the apps' init (picocenter-init, pid 1 of each tree):
# - nginx with Debian's own /etc/nginx (no `daemon off`): curl;
# - dnsmasq without -k (keep-in-foreground): dig;
# - `apache2ctl start` (the script exits once apache2 has forked): curl;
# - BIND's named without -f or -g (Debian's config): dig.
# Each is answered as soon as `app create` returns (the daemon waited for
# the daemonized server's ports), then swaps out and is answered after a
# nap and after falling asleep (its box recreated, the init bound in
# again).  `app logs` shows what the command wrote before it daemonized.
# A command that exits at once still gets the one-line error (with or
# without the init), `app create --no-init` runs the command itself as
# pid 1, and `app rm` of a daemonized server leaves none of its processes.
d=$(dirname "$0"); . "$d/lib.sh"
d_need nginx dnsmasq apache2ctl named curl dig
s_init daemonize
s_ports 4; PN=${S_PORTS[0]} PD=${S_PORTS[1]} PA=${S_PORTS[2]} PB=${S_PORTS[3]}
NG=ng-$$ DM=dm-$$ AP=ap-$$ NS=ns-$$ BAD=bad-$$ NI=ni-$$   # the host's cgroup names hold box names

# the host pids of the app's tree: its init and every descendant (an
# orphan of the tree goes to the init)
tree_pids() { d_tree "$(s_field "$1" 'a["pid"]')"; }

# APP's pid 1 is the init, with more processes than the command's
init_runs() {
	local pid
	pid=$(s_field "$1" 'a.get("pid", 0)')
	[ "$(s_field "$1" 'a["init"]')" = True ] || s_fail "$1: inspect does not show the init"
	[ "$(cat /proc/"$pid"/comm 2>/dev/null)" = picocenter-init ] ||
		s_fail "$1: its root (pid $pid) is $(cat /proc/"$pid"/comm 2>/dev/null), not the init"
}

# nginx, Debian's configuration untouched: it daemonizes, its master
# drops workers to www-data, writes /run/nginx.pid and /var/log/nginx in
# the box's upper layer
s_box_create "$NG" 1s "127.0.0.1:$PN:80" -- --sleep 1s -- /usr/sbin/nginx
init_runs "$NG"
web() { curl -s -o /dev/null -D - --max-time 10 "http://127.0.0.1:$1/" | tr -d '\r' | grep -i '^server:' | cut -d/ -f1; }
nginx_ok() { d_expect "$1" "Server: nginx" web "$PN"; }
s_cycles "$NG" nginx_ok

# dnsmasq without -k: the box config of the other tests without
# keep-in-foreground; it forks, and its parent exits 0
cmd=$(s_box_conf_dnsmasq)
sed -i '/^keep-in-foreground/d' "$D_DIR/dnsmasq.box.conf"
s_box_create "$DM" 1s "127.0.0.1:$PD:53/udp" -- --sleep 1s -- sh -c "echo dnsmasq-starting; exec $cmd"
init_runs "$DM"
dns_ok() { d_expect "$1" 10.0.0.1 dig +short +time=5 +tries=2 @127.0.0.1 -p "$PD" www.pico.test; }
s_cycles "$DM" dns_ok
s_app logs "$DM" | grep -qx dnsmasq-starting ||
	s_fail "app logs $DM lacks what the command wrote before it daemonized: $(s_app logs "$DM" | tail -3)"

# apache2ctl start: the script starts apache2, which daemonizes
s_box_create "$AP" 1s "127.0.0.1:$PA:80" -- --sleep 1s -- /usr/sbin/apache2ctl start
init_runs "$AP"
apache_ok() { d_expect "$1" "Server: Apache" web "$PA"; }
s_cycles "$AP" apache_ok

# named without -f or -g: it forks, its parent exits once it runs
s_box_create "$NS" 1s "127.0.0.1:$PB:53/udp" "127.0.0.1:$PB:53/tcp" -- --sleep 1s -- /usr/sbin/named -u bind
init_runs "$NS"
named_answer() { dig +short +time=5 +tries=2 @127.0.0.1 -p "$PB" localhost; }
named_answers() { [ "$(named_answer)" = 127.0.0.1 ]; }
d_wait "named to load its zones" named_answers
named_ok() { d_expect "$1" 127.0.0.1 named_answer; }
s_cycles "$NS" named_ok

# a command that exits at once: the same one-line error, no box left
out=$(s_app create "$BAD" --idle 1s -- sh -c 'echo leaving-now; exit 3' 2>&1) &&
	s_fail "app create of a command that exits at once succeeded"
[ "$(echo "$out" | wc -l)" = 1 ] || s_fail "the error is not one line: $out"
echo "$out" | grep -q "the command exited at once: leaving-now" || s_fail "unexpected error: $out"
s_box_leftovers "$BAD" ""
out=$(s_app create "$BAD" --no-init --idle 1s -- sh -c 'echo leaving-now; exit 3' 2>&1) &&
	s_fail "app create --no-init of a command that exits at once succeeded"
echo "$out" | grep -q "the command exited at once: leaving-now (without an init" ||
	s_fail "unexpected error without the init: $out"

# --no-init: the command itself is pid 1
s_app create "$NI" --no-init --idle 10m -- sleep 1000 >/dev/null || s_fail "app create --no-init"
[ "$(cat /proc/"$(s_field "$NI" 'a["pid"]')"/comm)" = sleep ] || s_fail "$NI: its pid 1 is not the command"
[ "$(s_field "$NI" 'a["init"]')" = False ] || s_fail "$NI: inspect shows an init"
s_app rm "$NI" >/dev/null || s_fail "app rm $NI"

# app rm stops a daemonized server, all of its processes
nginx_ok "nginx before rm"
s_wait_state "$NG" running 10    # (answered: it is, with its new pid)
pids=$(tree_pids "$NG")
[ "$(echo "$pids" | wc -w)" -ge 3 ] || s_fail "nginx's tree has fewer than 3 processes: $pids"
s_app rm "$NG" >/dev/null || s_fail "app rm $NG"
for p in $pids; do
	kill -0 "$p" 2>/dev/null && s_fail "process $p ($(cat /proc/"$p"/comm 2>/dev/null)) of $NG left after app rm"
done
s_box_leftovers "$NG" ""
d_log "$NG: $(echo "$pids" | wc -w) processes before app rm, none after"
d_log PASS
