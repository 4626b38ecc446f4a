#!/bin/bash
# t-bad-input.sh - the engine refuses what it cannot do, cleanly.
#
# Dump: a pid that is not a namespace init, a pid that is gone, a tree with
# an io_uring fd, with a ptraced process, with a device file open, a DIR that
# is not empty -> exit non-zero with a message on stderr, and the tree (if
# any) still running and answering its self-check.
# Restore: truncated and corrupted manifest and pages, a manifest whose
# fields are wrong but whose checksum is right (process count, XSAVE size,
# XSAVE features), no pages file, an empty dir -> exit non-zero (not killed
# by a signal, no core) with a message, and no process of the image left.
# Finally the untouched image restores and answers (the control).
. "$(dirname "$0")/lib.sh"

BAD=0
bad() { cr_log "BAD: $*"; BAD=$((BAD + 1)); }

# must_fail WHAT [-m ERE] CMD...: CMD must exit 1..127 and print something
# on stderr (matching ERE, case-insensitive: the message names the cause).
must_fail() {
	local what=$1 rc re=
	shift
	[ "$1" = -m ] && { re=$2; shift 2; }
	(cd "$CR_W" && "$@") >"$CR_W/out" 2>"$CR_W/err"
	rc=$?
	if [ $rc = 0 ]; then
		bad "$what: exit 0 (stdout: $(head -c 200 "$CR_W/out"))"
		return 1
	elif [ $rc -ge 128 ]; then
		bad "$what: killed by signal $((rc - 128))"
	elif [ ! -s "$CR_W/err" ]; then
		bad "$what: exit $rc without a message"
	elif [ -n "$re" ] && ! grep -qiE -- "$re" "$CR_W/err"; then
		bad "$what: refused, but the message does not name the cause (/$re/): $(head -n 2 "$CR_W/err")"
	else
		cr_log "$what: refused (exit $rc): $(head -n 2 "$CR_W/err" | tr '\n' ' ')"
	fi
	ls "$CR_W"/core* >/dev/null 2>&1 && bad "$what: left a core file"
	return 0
}

# The tree is still the same, running and answering.
still_fine() {
	cr_alive "$CR_PID" || { bad "$1: tree $CR_PID no longer running"; return; }
	local n=${#CR_SEEN[@]}
	touch "$CR_CHK/go.$n"
	CR_SEEN[$n]=1
	cr_wait_line "OK $n" 1 || bad "$1: tree does not answer its check any more"
}

# dump_refused WHAT ERE MODE [ARG]: a hold tree in MODE must not be dumped.
dump_refused() {
	local what=$1 re=$2
	shift 2
	cr_start "bad-$1" hold "$@"
	case $? in 0) ;; 77) cr_log "$what: skipped"; return ;; esac
	cr_check 0
	must_fail "dump of $what" -m "$re" "$PICOCENTER" cr dump --pid "$CR_PID" --dir "$CR_W/img" &&
		still_fine "dump of $what"
	kill -KILL "$CR_PID"
}

# --- dump refusals -----------------------------------------------------
CR_NAME=bad-input
CR_W=$(mktemp -d "$TEST_TMP/cr-bad.XXXXXX") && CR_DIRS+=("$CR_W")
trap cr_cleanup EXIT
sleep 300 &
spid=$!
CR_ALL_PIDS+=("$spid")
must_fail "dump of a plain process (not a namespace init)" -m 'init|namespace' \
	"$PICOCENTER" cr dump --pid "$spid" --dir "$CR_W/img-sleep"
cr_alive "$spid" || bad "the plain process died"
kill "$spid"
true &
gone=$!
wait "$gone"
must_fail "dump of a pid that is gone" -m 'no such|gone|exist' "$PICOCENTER" cr dump --pid "$gone" --dir "$CR_W/img-gone"

# hold's extra fd is fd 3.
dump_refused "a tree with an io_uring fd" 'io_uring|fd 3' iouring
dump_refused "a tree with a ptraced process" 'trac' ptrace
for dev in /dev/loop-control /dev/fuse /dev/net/tun; do
	[ -c "$dev" ] && { dump_refused "a tree holding $dev" "${dev##*/}|fd 3|device" dev "$dev"; break; }
done

cr_start bad-notempty hold plain
cr_check 0
mkdir "$CR_W/img" && echo keep >"$CR_W/img/keep"
must_fail "dump into a non-empty dir" -m 'empty|exist' "$PICOCENTER" cr dump --pid "$CR_PID" --dir "$CR_W/img" &&
	still_fine "dump into a non-empty dir"
[ "$(ls "$CR_W/img")" = keep ] && [ "$(cat "$CR_W/img/keep")" = keep ] ||
	bad "dump into a non-empty dir changed the dir: $(ls "$CR_W/img" | tr '\n' ' ')"

# --- restore refusals --------------------------------------------------
good=$CR_W/good
cr_dump "$good"
[ -s "$good/manifest" ] || cr_fail "no $good/manifest (docs/image-format.md)"

# Leftovers: live processes named like the image's program, with this
# tree's CHECK_DIR in their argv (other runs of this test may be going on).
count_hold() {
	pgrep -x hold | while read -r p; do
		cr_alive "$p" && tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -qF "$CR_CHK " && echo "$p"
	done | wc -l
}
base=$(count_hold)

# put_hex FILE OFFSET HEX: overwrite bytes in place.
put_hex() { echo "$3" | xxd -r -p | dd of="$1" bs=1 seek="$2" conv=notrunc status=none; }
# reseal FILE: recompute the header's SHA-256 of bytes 56..end (image-format.md).
reseal() { put_hex "$1" 24 "$(tail -c +57 "$1" | sha256sum | cut -c1-64)"; }
flip() { put_hex "$1" "$2" "$(printf '%02x' $(($(od -An -tu1 -j"$2" -N1 "$1") ^ 0xff)))"; }
# The first record is IMAGE at offset 56: type, length, then xsave_size
# (u32 at 64), xfeatures (u64 at 68), pages_size, pages_hash, nr_procs (u32 at 92).
le32() { printf '%08x' "$1" | sed -E 's/(..)(..)(..)(..)/\4\3\2\1/'; }
rd32() { od -An -tu4 -j "$2" -N4 "$1" | tr -d ' '; }

restore_refused() {
	local what=$1 dir=$CR_W/bad.$RANDOM
	shift
	cp -a "$good" "$dir"
	"$@" "$dir"
	if ! must_fail "restore of $what" "$PICOCENTER" cr restore --dir "$dir"; then
		# It restored something: keep it from leaking.
		local p
		p=$(cat "$CR_W/out")
		[[ $p =~ ^[0-9]+$ ]] && { kill -KILL "$p"; CR_ALL_PIDS+=("$p"); }
	fi
	cmp -s "$dir/manifest" "$good/manifest" && [ "$1" != all_gone ] &&
		[ "${1#p_}" = "$1" ] && bad "$what: the test did not change the manifest"
	sleep 0.1
	local left
	left=$(count_hold)
	[ "$left" -gt "$base" ] && bad "restore of $what left $((left - base)) process(es) behind"
}

msize() { stat -c %s "$1/manifest"; }
m_half() { truncate -s $(($(msize "$1") / 2)) "$1/manifest"; }
m_less1() { truncate -s $(($(msize "$1") - 1)) "$1/manifest"; }
m_more() { echo -n x >>"$1/manifest"; }
p_half() { truncate -s $(($(stat -c %s "$1/pages") / 2)) "$1/pages"; }
p_none() { rm -f "$1/pages"; }
m_flip_magic() { flip "$1/manifest" 1; }
m_flip_len() { flip "$1/manifest" 17; }
m_flip_sum() { flip "$1/manifest" 30; }
m_flip_mid() { flip "$1/manifest" $(($(msize "$1") / 2)); }
m_flip_end() { flip "$1/manifest" $(($(msize "$1") - 3)); }
p_flip() { flip "$1/pages" $(($(stat -c %s "$1/pages") / 2)); }
all_gone() { rm -f "$1"/*; }
sealed_nprocs() { put_hex "$1/manifest" 92 ffffffff && reseal "$1/manifest"; }
sealed_xsave() {
	put_hex "$1/manifest" 64 "$(le32 $(($(rd32 "$1/manifest" 64) + 64)))" && reseal "$1/manifest"
}
sealed_xfeat() {
	# Set bit 62 of xfeatures (byte 75, bit 6): a feature this CPU lacks.
	put_hex "$1/manifest" 75 "$(printf '%02x' $(($(od -An -tu1 -j75 -N1 "$1/manifest") | 0x40)))" &&
		reseal "$1/manifest"
}

restore_refused "a manifest cut in half" m_half
restore_refused "a manifest missing its last byte" m_less1
restore_refused "a manifest with a byte appended" m_more
restore_refused "a manifest with a flipped magic byte" m_flip_magic
restore_refused "a manifest with a flipped length byte" m_flip_len
restore_refused "a manifest with a flipped checksum byte" m_flip_sum
restore_refused "a manifest with a flipped byte in the middle" m_flip_mid
restore_refused "a manifest with a flipped byte near the end" m_flip_end
restore_refused "an empty image dir" all_gone
restore_refused "a manifest claiming 2^32-1 processes (checksum fixed)" sealed_nprocs
restore_refused "an image whose XSAVE size differs from this CPU's (checksum fixed)" sealed_xsave
restore_refused "an image whose XSAVE features this CPU lacks (checksum fixed)" sealed_xfeat
if [ -s "$good/pages" ]; then
	restore_refused "a pages file cut in half" p_half
	restore_refused "a pages file with a flipped byte" p_flip
	restore_refused "a missing pages file" p_none
else
	bad "the image has no pages file ($good): pages corruption not tested"
fi

# --- the control: the untouched image restores -----------------------------
cr_restore "$good"
still_fine "restore of the untouched image"

[ $BAD = 0 ] || cr_fail "$BAD bad-input case(s) not handled"
cr_finish
