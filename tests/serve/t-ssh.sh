#!/bin/bash
# t-ssh.sh - OpenSSH's sshd, boxed under the daemon (privilege separation:
# a listener, a per-connection monitor and an unprivileged child, a pty for
# the session), driven by ssh:
# - a command over a new connection after each swap-out;
# - an interactive session (a shell on a pty) open through a swap-out: its
#   connection is held while the app naps, and the next line typed
#   revives the app and gets its answer on the same session.
d=$(dirname "$0"); . "$d/lib.sh"
d_need ssh ssh-keygen /usr/sbin/sshd
s_init ssh
s_ports 1; PS=${S_PORTS[0]}
SSH=ssh-$$
ssh-keygen -q -t ed25519 -N '' -f "$D_DIR/key" || d_fail "ssh-keygen"
cp "$D_DIR/key.pub" "$D_DIR/authorized_keys" && chmod 644 "$D_DIR/authorized_keys"
s_box_create "$SSH" 2s "127.0.0.1:$PS:22" -- --sleep 10m -- sh -c \
	"mkdir -p /run/sshd && exec /usr/sbin/sshd -D -e -o StrictModes=no -o AuthorizedKeysFile=$D_DIR/authorized_keys"
SSH_OPTS=(-i "$D_DIR/key" -p "$PS" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null
	  -o LogLevel=ERROR -o ConnectTimeout=10 -o BatchMode=yes)
run() { timeout 20 ssh "${SSH_OPTS[@]}" root@127.0.0.1 "$@" 2>&1; }
d_wait "sshd to accept a login" run true
d_expect "a command before any swap" "$SSH 0" run 'echo $(hostname) $(id -u)'
for c in 1 2; do
	s_wait_state "$SSH" napping 30
	d_expect "a command after swap-out $c" "$SSH 0" run 'echo $(hostname) $(id -u)'
done

# an interactive session through a swap-out
mkfifo "$D_DIR/in"
timeout 120 ssh -tt "${SSH_OPTS[@]}" root@127.0.0.1 <"$D_DIR/in" >"$D_DIR/session" 2>&1 &
D_BG_PIDS+=($!)
exec 7>"$D_DIR/in"
# (bash's bracketed-paste escapes may start the answer's line)
said() { tr -d '\r' <"$D_DIR/session" | grep -q -E "(^|l)$1\$"; }
echo 'echo first-$((40 + 2))' >&7
d_wait "the session's first answer" said first-42
swaps=$(s_field "$SSH" 'a["swaps"]')
s_wait_state "$SSH" napping 30
[ "$(s_field "$SSH" 'a["swaps"]')" -gt "$swaps" ] || s_fail "the app did not swap out with the session open"
echo 'echo second-$((50 + 5)); tty' >&7
d_wait "the session's answer after the swap-out" said second-55
said '/dev/pts/[0-9]*' || s_fail "the session lost its terminal: $(tr -d '\r' <"$D_DIR/session" | tail -3)"
echo exit >&7
exec 7>&-
d_log PASS
