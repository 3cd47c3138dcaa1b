#!/bin/bash
# Threads: threads_probe runs 4 threads that create, bind, listen,
# connect, accept (accept/accept4), duplicate (dup, dup2 and dup3 onto open
# descriptors, F_DUPFD[_CLOEXEC]) and close (close, close_range) sockets
# concurrently for 3 s under safe-abort, checking every call's result,
# every byte both ways, the options on every socket, a clean EOF after
# every last close, resets only where nothing was duplicated, and that no
# descriptor leaks.  A second run adds a thread that forks all along; its
# children closefrom(3) then _exit, as helpers about to exec do: no
# connection the parent still uses may be shut down by them.  The probe's
# watchdog and timeout(1) bound a deadlock.  Then 300 times, one thread
# sets SO_REUSEADDR on a connection while another dup()s it: closing the
# original must leave the copy's connection open (no update of rebind's
# table may be lost).
#
# The same probe runs under ThreadSanitizer in CI (see threads_probe.c).

. "$srcdir/tests/integration/lib.sh"

: "${PROBES:?set by make check}"
PROBE="$PROBES/threads_probe"
[ -x "$PROBE" ] || hard_error "$PROBE is not built"

# run WHAT SECONDS FORK [VAR=VALUE...]: 4 threads.
run() {
	local what=$1 secs=$2 fork=$3 mode=none
	shift 3
	case "$*" in *REBIND_LINGER=safe-abort*) mode=safe-abort ;; esac
	run_probe "$what" threads env "$@" "$PROBE" $mode "$secs" 4 "$fork"
}

# Control: without the shim nothing is set and nothing is reset.
run control 1 0 || hard_error "the control run without the shim failed"

status=0
run threads 3 0 LD_PRELOAD="$SHIM_PRELOAD" REBIND_LINGER=safe-abort ||
	status=1
run threads+fork 3 1 LD_PRELOAD="$SHIM_PRELOAD" REBIND_LINGER=safe-abort ||
	status=1
run_probe "setsockopt-dup control" setsockopt-dup \
	${SANITIZER_RUNTIME:+env LD_PRELOAD="$SANITIZER_RUNTIME"} \
	"$PROBE" setsockopt-dup 300 ||
	hard_error "the setsockopt-dup control without the shim failed"
run_probe setsockopt-dup setsockopt-dup env LD_PRELOAD="$SHIM_PRELOAD" \
	REBIND_LINGER=safe-abort "$PROBE" setsockopt-dup 300 || status=1
exit $status
