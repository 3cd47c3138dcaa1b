#!/bin/bash
# A log line never raises a signal: with a bad setting, rebind writes
# one line to stderr; when stderr is a pipe whose reader has gone, that
# write must not kill the program with SIGPIPE.  /bin/true must exit 0,
# as it does without rebind (the control).

. "$srcdir/tests/integration/lib.sh"

# broken.py CMD...: run CMD with stderr a pipe whose read end is closed;
# print its exit status (negative: killed by that signal).
cat >"$TMP/broken.py" <<'PY'
import os, subprocess, sys
r, w = os.pipe()
os.close(r)
print(subprocess.run(sys.argv[1:], stderr=w).returncode)
PY

# The same bad setting with a readable stderr: rebind does log a line
# (else this test would prove nothing).
out=$(env LD_PRELOAD="$SHIM_PRELOAD" REBIND_LINGER=sometimes /bin/true 2>&1)
grep -q '^rebind\[' <<<"$out" ||
	hard_error "no log line for REBIND_LINGER=sometimes: '$out'"

control=$("$PYTHON3" "$TMP/broken.py" /bin/true)
[ "$control" = 0 ] || hard_error "control without rebind: exit $control"

got=$("$PYTHON3" "$TMP/broken.py" env LD_PRELOAD="$SHIM_PRELOAD" \
	REBIND_LINGER=sometimes /bin/true)
[ "$got" = 0 ] ||
	fail "/bin/true with a bad setting and a broken stderr: exit $got" \
		"(-13: killed by SIGPIPE)"
exit 0
