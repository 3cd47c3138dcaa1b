#!/bin/bash
# A program built with _TIME_BITS=64 (32-bit Debian armhf/armel since
# trixie; gcc -m32 -D_TIME_BITS=64 on x86) calls __setsockopt64 and
# __fcntl_time64 where other programs call setsockopt and fcntl.  Its
# own SO_LINGER {1,5} must survive REBIND_LINGER=abort, and a copy it
# makes with F_DUPFD must keep its connection under safe-abort.  On a
# 64-bit build the names stay the same and this checks the plain hooks.
#
# RUN32, when set, runs the probe (e.g. "qemu-i386" on a kernel without
# 32-bit support); variables for the probe then go through it as -E.

. "$srcdir/tests/integration/lib.sh"

: "${PROBES:?set by make check}"
PROBE="$PROBES/time64_probe"
[ -x "$PROBE" ] || hard_error "$PROBE is not built"

if nm -D "$PROBE" 2>/dev/null | grep -q ' __setsockopt64'; then
	note "the probe calls the time64 names"
else
	note "the probe calls the plain names (no time64 redirection here)"
fi

# run NAME MODE [VAR=VALUE...]
run() {
	local name=$1 mode=$2 st v
	local -a pre=()
	shift 2
	if [ -n "${RUN32:-}" ]; then
		for v in "$@"; do
			pre+=(-E "$v")
		done
		timeout 20 $RUN32 "${pre[@]}" "$PROBE" "$mode"
	else
		env "$@" timeout 10 "$PROBE" "$mode"
	fi >"$TMP/$name.out" 2>"$TMP/$name.err"
	st=$?
	[ $st -eq 0 ] || hard_error "$name: probe exited $st:
$(cat "$TMP/$name.out" "$TMP/$name.err")"
}

# expect NAME WANT: NAME printed WANT (a failure of rebind).
expect() {
	[ "$(cat "$TMP/$1.out")" = "$2" ] || fail "$1: want '$2', got:
$(cat "$TMP/$1.out" "$TMP/$1.err")"
}

run plain_linger linger
[ "$(cat "$TMP/plain_linger.out")" = "listener linger=1,5" ] ||
	hard_error "without rebind: $(cat "$TMP/plain_linger.out")"
run abort_linger linger LD_PRELOAD="$SHIM_PRELOAD" REBIND_LINGER=abort
expect abort_linger "listener linger=1,5"

want_dup='send through the copy: 1 ok
client got 1 then 0'
run plain_dup dupfd
[ "$(cat "$TMP/plain_dup.out")" = "$want_dup" ] ||
	hard_error "without rebind: $(cat "$TMP/plain_dup.out")"
run safe_dup dupfd LD_PRELOAD="$SHIM_PRELOAD" REBIND_LINGER=safe-abort
expect safe_dup "$want_dup"
exit 0
