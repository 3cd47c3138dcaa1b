#!/bin/bash
# REBIND_CONFIG naming a FIFO that a writer waits on: the library (in a
# program under LD_PRELOAD), the wrapper, rebind check and rebind
# explain each refuse it as "not a regular file" without opening it, so
# the writer stays blocked in open(2) (an open for reading would release
# it, and it would then die of SIGPIPE).  The library says so in one line
# ending "(rebind is disabled)" and the program runs; the wrapper exits
# 125 without running the command, check and explain exit 2.

. "${srcdir:-.}/tests/integration/lib.sh" || exit 99

FIFO="$TMP/rebind.conf"
mkfifo "$FIFO" || skip "mkfifo failed"

timeout 30 sh -c 'echo "linger = abort" >"$1"' sh "$FIFO" &
WRITER_JOB=$!
PIDS="$PIDS $WRITER_JOB"
WRITER=$(child_of "$WRITER_JOB") || hard_error "cannot find the writer's pid"

# waiting: the writer sleeps in the FIFO's open, waiting for a reader.
waiting() {
	[ "$(cat "/proc/$WRITER/wchan" 2>/dev/null)" = wait_for_partner ]
}

i=0
until waiting; do
	[ $i -lt 250 ] || hard_error "the writer never waits in open (wchan: $(cat "/proc/$WRITER/wchan" 2>&1)): this host cannot show it"
	sleep 0.02
	i=$((i + 1))
done

# still_waiting WHAT: the writer is still blocked, in 25 looks over at
# least 0.5 s (a released writer leaves open(2) at once).
still_waiting() {
	local i=0
	while [ $i -lt 25 ]; do
		waiting || fail "$1: the writer on the FIFO was released"
		sleep 0.02
		i=$((i + 1))
	done
}

# The library, in a program that runs anyway (and listens: the library
# reads its config, and reports it, when a socket first needs it).
out=$(REBIND_CONFIG=$FIFO LD_PRELOAD="$SHIM_PRELOAD" timeout 10 \
	"$PYTHON3" -c "$LISTEN_ONCE_PY" 2>"$TMP/lib.err")
st=$?
still_waiting "library"
[ "$st" = 0 ] && [ "$out" = ran ] || fail "library: the program did not run (exit $st): $(cat "$TMP/lib.err")"
grep -q "^rebind\[[0-9]*\]: $FIFO: not a regular file (rebind is disabled)$" "$TMP/lib.err" ||
	fail "library: want one line 'FILE: not a regular file (rebind is disabled)', got: $(cat "$TMP/lib.err")"

# The wrapper.
rm -f "$TMP/ran"
REBIND_CONFIG=$FIFO timeout 10 "$REBIND_BIN" -- touch "$TMP/ran" 2>"$TMP/w.err"
st=$?
still_waiting "rebind -- touch"
[ "$st" = 125 ] || fail "wrapper: exit $st, want 125: $(cat "$TMP/w.err")"
[ ! -e "$TMP/ran" ] || fail "wrapper: ran the command"
grep -qxF "rebind: $FIFO: not a regular file" "$TMP/w.err" ||
	fail "wrapper: does not say 'not a regular file': $(cat "$TMP/w.err")"

# check and explain.
timeout 10 "$REBIND_BIN" check "$FIFO" >"$TMP/c.out" 2>&1
st=$?
still_waiting "rebind check"
[ "$st" = 2 ] || fail "check: exit $st, want 2: $(cat "$TMP/c.out")"
grep -qF "$FIFO: not a regular file" "$TMP/c.out" ||
	fail "check: does not say 'not a regular file': $(cat "$TMP/c.out")"

REBIND_CONFIG=$FIFO timeout 10 "$REBIND_BIN" explain --program x >"$TMP/e.out" 2>&1
st=$?
still_waiting "rebind explain"
[ "$st" = 2 ] || fail "explain: exit $st, want 2: $(cat "$TMP/e.out")"

# Release the writer: it wrote to a reader after all.
got=$(timeout 10 cat "$FIFO")
[ "$got" = "linger = abort" ] || fail "the writer did not write to its reader: '$got'"
exit 0
