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
# watchdog and timeout(1) bound a deadlock.
#
# The same probe runs under ThreadSanitizer in CI (see threads_probe.c).

. "$srcdir/tests/integration/lib.sh"

: "${PROBES:?set by make check}"
PROBE="$PROBES/threads_probe"
[ -x "$PROBE" ] || hard_error "$PROBE is not built"

# run WHAT SECONDS FORK [VAR=VALUE...]: 4 threads.
run() {
	local what=$1 secs=$2 fork=$3 mode=none st
	shift 3
	case "$*" in *REBIND_LINGER=safe-abort*) mode=safe-abort ;; esac
	timeout 30 env "$@" "$PROBE" $mode "$secs" 4 "$fork" \
		>"$TMP/$what.out" 2>"$TMP/$what.err"
	st=$?
	note "$what: $(grep '^ok threads' "$TMP/$what.out")"
	if [ $st -eq 124 ]; then
		echo "$what: no end within 30 s (deadlock?)" >&2
		return 1
	fi
	if [ $st -ne 0 ] || grep -q '^FAIL' "$TMP/$what.out" ||
		! grep -q '^ok threads' "$TMP/$what.out"; then
		echo "$what: exit $st:" \
			"$(cat "$TMP/$what.out" "$TMP/$what.err")" >&2
		return 1
	fi
	if grep -q '^rebind\[' "$TMP/$what.err"; then
		echo "$what: rebind printed at the default log level:" \
			"$(cat "$TMP/$what.err")" >&2
		return 1
	fi
}

# Control: without the shim nothing is set and nothing is reset.
run control 1 0 || hard_error "the control run without the shim failed"

status=0
run threads 3 0 LD_PRELOAD="$SHIM_PRELOAD" REBIND_LINGER=safe-abort ||
	status=1
run threads+fork 3 1 LD_PRELOAD="$SHIM_PRELOAD" REBIND_LINGER=safe-abort ||
	status=1
exit $status
