#!/bin/bash
# close() from a signal handler.  signal_probe's main thread loops on
# socket()+close() and on accepting connections (tracked under
# safe-abort); a handler for SIGALRM (setitimer, every 50 us) and then for
# SIGUSR1 (pthread_kill from another thread, as fast as it can) closes
# those connections, often while the main thread is inside close() or
# socket().  2 s in all: the run must end (no deadlock: the probe's
# watchdog and timeout(1)), nothing may crash, every close must succeed,
# every client must read its greeting and a clean EOF, most connections
# must end with safe-abort's reset (the handler's close took that path),
# and no descriptor may leak.

. "$srcdir/tests/integration/lib.sh"

: "${PROBES:?set by make check}"
PROBE="$PROBES/signal_probe"
[ -x "$PROBE" ] || hard_error "$PROBE is not built"

run_probe signal signal env LD_PRELOAD="$SHIM_PRELOAD" \
	REBIND_LINGER=safe-abort "$PROBE" 2 safe-abort ||
	fail "signal_probe under safe-abort"
exit 0
