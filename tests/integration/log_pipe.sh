#!/bin/bash
# A log line never raises a signal: with a bad setting, rebind writes
# one line to stderr; when stderr is a pipe whose reader has gone, that
# write must not kill the program with SIGPIPE.  A perl program that
# listens once (the library reports a bad setting when a socket first
# needs it; perl, unlike python, keeps SIGPIPE's default action) must
# exit 0, as it does without rebind (the control).

. "$srcdir/tests/integration/lib.sh"

# broken.py CMD...: run CMD with stderr a pipe whose read end is closed;
# print its exit status (negative: killed by that signal).
cat >"$TMP/broken.py" <<'PY'
import os, subprocess, sys
r, w = os.pipe()
os.close(r)
print(subprocess.run(sys.argv[1:], stderr=w).returncode)
PY

LISTENER=(perl -MIO::Socket::INET -e 'IO::Socket::INET->new(Listen => 1,
	LocalAddr => "127.0.0.1", LocalPort => 0) or die "listen: $!"; exit 0')

# The same bad setting with a readable stderr: rebind does log a line
# (else this test would prove nothing).
out=$(env LD_PRELOAD="$SHIM_PRELOAD" REBIND_LINGER=sometimes "${LISTENER[@]}" 2>&1)
grep -q '^rebind\[' <<<"$out" ||
	hard_error "no log line for REBIND_LINGER=sometimes: '$out'"

control=$("$PYTHON3" "$TMP/broken.py" "${LISTENER[@]}")
[ "$control" = 0 ] || hard_error "control without rebind: exit $control"

got=$("$PYTHON3" "$TMP/broken.py" env LD_PRELOAD="$SHIM_PRELOAD" \
	REBIND_LINGER=sometimes "${LISTENER[@]}")
[ "$got" = 0 ] ||
	fail "a listener with a bad setting and a broken stderr: exit $got" \
		"(-13: killed by SIGPIPE)"
exit 0
