#!/bin/bash
# How the config file's name reaches the library.
#  - A relative --config=FILE (or REBIND_CONFIG=FILE) given to the
#    wrapper still names the same file after the command's `cd /`: the
#    listener of `rebind --config=rel.conf -- sh -c 'cd / && exec
#    python3 ...'` gets SO_REUSEADDR and rebind says nothing.
#  - REBIND_CONFIG= (empty): the library's one line names the variable
#    ("rebind[PID]: REBIND_CONFIG is empty ... (rebind is disabled)"),
#    and so does the wrapper, which exits 125.
#  - A config path of 300 bytes with an error: the library's one line
#    still has the line number, the reason and "(rebind is disabled)",
#    with the path shortened to "..." and its tail; rebind check prints
#    the same.

. "${srcdir:-.}/tests/integration/lib.sh" || exit 99

# Prints a new listener's SO_REUSEADDR: 1 under the shim.
PROBE="$srcdir/tests/integration/reuseaddr.py"

mkdir "$TMP/work"
printf 'reuseaddr = on\n' >"$TMP/work/rel.conf"

# Control: the program run straight sees 0.
got=$(cd / && timeout 10 "$PYTHON3" "$PROBE") ||
	hard_error "the probe does not run"
[ "$got" = 0 ] || hard_error "a plain listener has SO_REUSEADDR=$got: this test cannot tell"

# relative WHAT ARGS...: run the probe after `cd /` under rebind ARGS,
# from $TMP/work; rebind must apply rel.conf there.
relative() {
	local what=$1 got
	shift
	got=$(cd "$TMP/work" && timeout 10 "$@" -- sh -c \
		'cd / && exec "$0" "$1"' "$PYTHON3" "$PROBE" 2>"$TMP/rel.err")
	[ "$got" = 1 ] && [ ! -s "$TMP/rel.err" ] ||
		fail "$what: SO_REUSEADDR=$got (want 1), stderr: $(cat "$TMP/rel.err")"
}
relative "rebind --config=rel.conf" "$REBIND_BIN" --config=rel.conf
relative "REBIND_CONFIG=rel.conf rebind" env REBIND_CONFIG=rel.conf "$REBIND_BIN"

# REBIND_CONFIG= (empty).
out=$(REBIND_CONFIG= LD_PRELOAD="$SHIM_PRELOAD" timeout 10 \
	"$PYTHON3" -c "$LISTEN_ONCE_PY" 2>"$TMP/empty.err")
[ "$out" = ran ] || fail "empty REBIND_CONFIG: the program did not run: $(cat "$TMP/empty.err")"
grep -q '^rebind\[[0-9]*\]: REBIND_CONFIG is empty.* (rebind is disabled)$' "$TMP/empty.err" ||
	fail "empty REBIND_CONFIG: the library's line does not name the variable: $(cat "$TMP/empty.err")"
REBIND_CONFIG= timeout 10 "$REBIND_BIN" -- true 2>"$TMP/empty.err"
st=$?
[ "$st" = 125 ] || fail "empty REBIND_CONFIG: the wrapper exited $st, want 125"
grep -q '^rebind: REBIND_CONFIG is empty' "$TMP/empty.err" ||
	fail "empty REBIND_CONFIG: the wrapper does not name the variable: $(cat "$TMP/empty.err")"

# A long path.
dir="$TMP/$(printf 'd%.0s' {1..120})/$(printf 'e%.0s' {1..120})"
mkdir -p "$dir" || skip "cannot make a directory with a 120-byte name"
long="$dir/this-is-the-file.conf"
printf 'linger = abort\ncolour = blue\n' >"$long"
[ ${#long} -ge 250 ] || hard_error "the long path is only ${#long} bytes"
REBIND_CONFIG=$long LD_PRELOAD="$SHIM_PRELOAD" timeout 10 \
	"$PYTHON3" -c "$LISTEN_ONCE_PY" >/dev/null 2>"$TMP/long.err"
grep -q "^rebind\[[0-9]*\]: \.\.\..*e/this-is-the-file\.conf:2: unknown key 'colour' (rebind is disabled)$" "$TMP/long.err" ||
	fail "long path: the library's line lacks the tail, line, reason or verdict: $(cat "$TMP/long.err")"
awk 'length > 255 { exit 1 }' "$TMP/long.err" ||
	fail "long path: a line from the library is longer than 255 bytes"
timeout 10 "$REBIND_BIN" check "$long" >"$TMP/long.out" 2>&1
grep -q "^\.\.\..*e/this-is-the-file\.conf:2: unknown key 'colour'$" "$TMP/long.out" ||
	fail "long path: check's line differs: $(cat "$TMP/long.out")"
exit 0
