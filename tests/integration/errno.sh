#!/bin/bash
# errno and descriptors are exactly what they would be without rebind.
#
# errno_probe prints, for each intercepted call in a list of cases (close,
# bind, listen, accept, setsockopt, dup*, fcntl F_DUPFD, close_range,
# closefrom, socket, sendmsg, posix_spawn, connections closed in every
# state and through copies, descriptor games with a file and a pipe),
# its return value and errno, and what a client of those connections
# read.  The output under the library
# must be the same as without it, whatever the linger policy.

. "$srcdir/tests/integration/lib.sh"

: "${PROBES:?set by make check}"
ERRNO_PROBE="$PROBES/errno_probe"
[ -x "$ERRNO_PROBE" ] || hard_error "$ERRNO_PROBE is not built"

# probe NAME [VAR=VALUE...]: run the probe, stdout in $TMP/NAME.out,
# stderr in $TMP/NAME.err.  The probe exits 99 when its own setup fails.
probe() {
	local name=$1 st
	shift
	env "$@" timeout 10 "$ERRNO_PROBE" >"$TMP/$name.out" \
		2>"$TMP/$name.err"
	st=$?
	[ $st -eq 0 ] || hard_error "$name: errno_probe exited $st:
$(cat "$TMP/$name.out" "$TMP/$name.err")"
}

# same NAME: NAME's output equals the run without the library.
same() {
	diff -u "$TMP/plain.out" "$TMP/$1.out" >"$TMP/$1.diff" ||
		fail "$1: output differs from the run without rebind:
$(cat "$TMP/$1.diff")"
}

# quiet NAME: at the default log level a correct setup prints nothing.
quiet() {
	[ -s "$TMP/$1.err" ] && fail "$1: unexpected stderr:
$(cat "$TMP/$1.err")"
	return 0
}

# Is the library really loaded?  Its default policy sets SO_REUSEADDR on
# a listening socket; without it the kernel default (0) stays.
plain_reuse=$(timeout 10 "$ERRNO_PROBE" --shim-check)
shim_reuse=$(LD_PRELOAD="$SHIM_PRELOAD" timeout 10 "$ERRNO_PROBE" --shim-check)
[ "$plain_reuse" = "listener reuseaddr=0" ] ||
	hard_error "without rebind: '$plain_reuse'"
[ "$shim_reuse" = "listener reuseaddr=1" ] ||
	hard_error "the library did not act in the probe: '$shim_reuse'"

# A bind that rebind retries with SO_REUSEADDR (the port is held by a
# TIME_WAIT entry only) succeeds under it, where it fails without it;
# after that success errno must be what it was before the call, not the
# EADDRINUSE of the first attempt.
plain_retry=$(timeout 10 "$ERRNO_PROBE" --retry)
shim_retry=$(LD_PRELOAD="$SHIM_PRELOAD" timeout 10 "$ERRNO_PROBE" --retry)
[ "$plain_retry" = "bind(port in TIME_WAIT) ret=-1 errno=EADDRINUSE" ] ||
	hard_error "without rebind: '$plain_retry'"
[ "$shim_retry" = "bind(port in TIME_WAIT) ret=0 errno=EDOM" ] ||
	fail "retried bind under rebind: want 'ret=0 errno=EDOM'" \
		"(errno unchanged), got '$shim_retry'"

probe plain
# The run without the library is the reference; these lines are the
# cases the issue names, so the comparison is worth something.
for want in \
	'close(-1) ret=-1 errno=EBADF' \
	'close(pipe fd) ret=0 errno=EDOM' \
	'bind(port of a listener) ret=-1 errno=EADDRINUSE' \
	'bind(port 0) ret=0 errno=EDOM' \
	'listen(pipe fd) ret=-1 errno=ENOTSOCK' \
	'accept4(pipe fd) ret=-1 errno=ENOTSOCK' \
	'setsockopt(bad level) ret=-1 errno=ENOPROTOOPT' \
	'dup(closed fd) ret=-1 errno=EBADF' \
	'dup(good) ret=fd errno=EDOM' \
	'close_range(5, 3, 0) ret=-1 errno=EINVAL' \
	'socket(AF_INET, 12345, 0) ret=-1 errno=EINVAL' \
	'close(accepted, copied by dup) ret=0 errno=EDOM' \
	'dup: client got 1 then 0' \
	'file after dup2 and close: mode=100600 data=rebind-file'; do
	grep -qxF "$want" "$TMP/plain.out" ||
		hard_error "without rebind the probe did not print '$want':
$(cat "$TMP/plain.out")"
done

probe default LD_PRELOAD="$SHIM_PRELOAD"
same default
quiet default

probe safe LD_PRELOAD="$SHIM_PRELOAD" REBIND_LINGER=safe-abort
same safe
quiet safe

# Logging must keep errno too.  The debug log also shows that the
# probe's closes took safe-abort's reset path, so that path was measured.
probe debug LD_PRELOAD="$SHIM_PRELOAD" REBIND_LINGER=safe-abort REBIND_LOG=debug
same debug
grep -q 'RST' "$TMP/debug.err" ||
	hard_error "no close took safe-abort's reset path:
$(cat "$TMP/debug.err")"

# abort resets by design, so the client side of a connection sees a
# reset where it saw EOF; every return value and errno of the program's
# own calls must still be the same.
probe abort LD_PRELOAD="$SHIM_PRELOAD" REBIND_LINGER=abort
grep -v 'client got' "$TMP/plain.out" >"$TMP/plain.calls"
grep -v 'client got' "$TMP/abort.out" >"$TMP/abort.calls"
diff -u "$TMP/plain.calls" "$TMP/abort.calls" >"$TMP/abort.diff" ||
	fail "abort: output differs from the run without rebind:
$(cat "$TMP/abort.diff")"
quiet abort

exit 0
