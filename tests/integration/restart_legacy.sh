#!/bin/bash
# The bundled legacy-server (never sets SO_REUSEADDR, closes first) is
# restarted on its port while TIME_WAIT entries hold it: IPv4, IPv6 (::1)
# and the --nonblock variant (SOCK_NONBLOCK|SOCK_CLOEXEC, accept4).
# For each: without the shim the restart must fail with EADDRINUSE (else
# the host cannot show the problem: 99); under LD_PRELOAD and under the
# wrapper two restarts in a row must succeed.

. "${srcdir:-.}/tests/integration/lib.sh" || exit 99

. "${srcdir:-.}/tests/integration/restart_lib.sh" || exit 99

HOST=127.0.0.1
SERVER=("$LEGACY_SERVER" -a "$HOST")
case_run "IPv4"

SERVER=("$LEGACY_SERVER" -a "$HOST" --nonblock)
case_run "IPv4 --nonblock"

if have_ipv6; then
	HOST=::1
	SERVER=("$LEGACY_SERVER" -a "$HOST")
	case_run "IPv6"
else
	note "NOT TESTED: IPv6 (::1 cannot be bound on this host); IPv4 passed"
fi
exit 0
